package io.sectorcrypt.keys;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.crypto.PassphraseKdf;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;
import java.util.function.Function;

/**
 * The embedded vault: a directory that holds its keys encrypted at rest.
 *
 * <pre>
 *  vault.meta      vault id, how the master key is protected, the wrapped master key
 *  keys.db         the {@link KeyCatalog}, sealed with AES-256-GCM; each version's key
 *                  material inside it sealed again, on its own
 *  audit.log(.head) the {@link AuditLog}
 *  vault.lock      the lock every operation takes, across threads and processes
 * </pre>
 *
 * <p>A random 256-bit master key protects everything. It is stored wrapped with AES-KWP
 * (RFC 5649) under a key-encryption key that comes from the operator's passphrase through a
 * {@link PassphraseKdf} (scrypt by default; PBKDF2 in FIPS mode) or from a 32-byte key file.
 * From the master key come, by the SP 800-108 counter-mode KDF with HMAC-SHA-256, the key
 * sealing {@code keys.db}, the key sealing each version's material, and the audit log's MAC
 * key. The sealed catalog covers metadata as well as material, so a state or access-policy
 * change made on disk by hand fails to open.
 *
 * <p>Opening {@code keys.db} is the cost of every operation, so the vault keeps the catalog it
 * last opened together with the exact sealed bytes it came from: an operation that finds the
 * same bytes on disk (compared in full, under the lock) uses it without decrypting, and any
 * change, by this process or another, shows as different bytes and is opened and checked
 * again. What the kept catalog holds of key material is sealed ({@code keys.db} format 2:
 * AES-256-GCM per version, bound to the vault, key name, version and type), so an unwrap
 * decrypts only the one version it uses. A format 1 {@code keys.db} (material in the clear
 * inside the sealed file) is rewritten as format 2 the first time it is opened.
 *
 * <p>Every change rewrites {@code keys.db} through {@link AtomicFiles} (temp, fsync,
 * rename, fsync directory) under {@code vault.lock}, so any number of processes may use one
 * vault and a crash leaves the state before or after the change. Wrong credentials are
 * reported as such; the master key stays off-heap while the vault is open and is zeroed on
 * {@link #close()}. RSA private keys are JCA objects on the heap for the length of one
 * unwrap (the JCA gives no other way).
 */
public final class LocalKeyVault extends CatalogKeyVault {
    static final String META = "vault.meta";
    static final String CATALOG = "keys.db";
    static final String AUDIT = "audit.log";
    static final String LOCK = "vault.lock";
    private static final int META_MAGIC = 0x5343564D; // "SCVM"
    private static final int META_FORMAT = 1;
    private static final int KEY_FILE = 0;
    private static final int MASTER_KEY_BYTES = 32;

    /** How the operator unlocks the vault. */
    public sealed interface Credentials {
        /** A passphrase; the vault copies nothing of it beyond the derivation. */
        record Passphrase(char[] passphrase) implements Credentials {
            @Override
            public String toString() {
                return "Passphrase[hidden]";
            }
        }

        /** A file of exactly 32 random bytes (see {@link LocalKeyVault#createKeyFile}). */
        record KeyFile(Path path) implements Credentials {
        }
    }

    /** Settings for {@link #open}. */
    public record Options(CryptoPolicy policy, Clock clock, String operator, String newVaultId, int scryptCost) {
        public static Options defaults() {
            return new Options(CryptoPolicy.configured(), Clock.systemUTC(), defaultOperator(), null,
                    PassphraseKdf.DEFAULT_SCRYPT_COST);
        }

        public Options withPolicy(CryptoPolicy p) {
            return new Options(p, clock, operator, newVaultId, scryptCost);
        }

        public Options withClock(Clock c) {
            return new Options(policy, c, operator, newVaultId, scryptCost);
        }

        public Options withOperator(String o) {
            return new Options(policy, clock, o, newVaultId, scryptCost);
        }

        /** The id a vault gets if this open creates it; ignored for an existing vault. */
        public Options withNewVaultId(String id) {
            return new Options(policy, clock, operator, id, scryptCost);
        }

        /** scrypt N for a vault this open creates (at least {@link PassphraseKdf#MIN_SCRYPT_COST}). */
        public Options withScryptCost(int n) {
            return new Options(policy, clock, operator, newVaultId, n);
        }

        private static String defaultOperator() {
            String user = System.getProperty("user.name", "operator").replaceAll("[^A-Za-z0-9._@:-]", "_");
            return user.isEmpty() || !Character.isLetterOrDigit(user.charAt(0)) ? "operator" : user;
        }
    }

    private final Path dir;
    private final Arena arena = Arena.ofShared();
    private final MemorySegment catalogKey;
    private final MemorySegment materialKey;
    private final byte[] catalogAad;
    private final byte[] formatOneAad;
    private volatile boolean closed;
    /** The catalog last opened or stored, and the sealed bytes it is; used under the lock only. */
    private Opened opened;

    private record Opened(byte[] sealed, KeyCatalog catalog) {
    }

    private LocalKeyVault(Path dir, String id, Options options, byte[] catalogKeyBytes, byte[] materialKeyBytes,
            byte[] auditKey) {
        super(id, options.policy(), options.clock(), options.operator());
        this.dir = dir;
        this.catalogKey = arena.allocate(MASTER_KEY_BYTES);
        catalogKey.copyFrom(MemorySegment.ofArray(catalogKeyBytes));
        this.materialKey = arena.allocate(MASTER_KEY_BYTES);
        materialKey.copyFrom(MemorySegment.ofArray(materialKeyBytes));
        // The format is in the associated data: a format 1 file cannot be taken for format 2.
        this.catalogAad = ("sectorcrypt keys.db v2 " + id).getBytes(StandardCharsets.UTF_8);
        this.formatOneAad = ("sectorcrypt keys.db v1 " + id).getBytes(StandardCharsets.UTF_8);
        useAuditLog(AuditLog.open(dir.resolve(AUDIT), auditKey, options.policy(), options.clock()));
    }

    /** The files a vault consists of besides {@code vault.meta}: any of them means a vault lives here. */
    private static final String[] PARTS = {CATALOG, AUDIT, AUDIT + ".head"};

    /**
     * The fewest characters a new vault's passphrase may have. The passphrase alone protects
     * the keys against guessing offline from a copy of {@code vault.meta}, however costly the
     * KDF; 14 is also the floor FIPS mode sets for PBKDF2 (SP 800-132 via SP 800-131A), so
     * one rule holds under both policies.
     */
    public static final int MIN_PASSPHRASE_CHARS = PassphraseKdf.MIN_FIPS_PASSPHRASE_CHARS;

    /**
     * Opens the vault in {@code dir}, creating it (and the directory, mode 0700) if there is
     * none yet. Throws {@link KeyVaultException} (ACCESS_DENIED) for wrong credentials, and
     * (STORAGE) if {@code vault.meta} is missing beside the other files of a vault: it never
     * creates a new vault next to an old one.
     */
    public static LocalKeyVault open(Path dir, Credentials credentials, Options options) {
        return open(dir, credentials, options, true, true);
    }

    /**
     * Opens the existing vault in {@code dir}; writes nothing and throws {@link
     * KeyVaultException} (NOT_FOUND) if there is none, (STORAGE) if part of it is missing.
     */
    public static LocalKeyVault openExisting(Path dir, Credentials credentials, Options options) {
        return open(dir, credentials, options, true, false);
    }

    /**
     * Checks, without credentials and writing nothing, that {@code dir} holds a whole vault
     * for {@link #openExisting}: so a caller can say so before asking for a passphrase.
     */
    public static void checkExists(Path dir) {
        checkLayout(dir.toAbsolutePath().normalize(), true, false);
    }

    /**
     * Creates a vault in {@code dir}, which must be new or empty (ALREADY_EXISTS if it holds a
     * vault, INVALID_REQUEST if it holds anything else), and opens it.
     */
    public static LocalKeyVault create(Path dir, Credentials credentials, Options options) {
        return open(dir, credentials, options, false, true);
    }

    /**
     * Refuses a passphrase too short for a new vault (INVALID_REQUEST), saying why: the one
     * place this rule lives, for callers that want to check before asking for it again.
     */
    public static void checkNewPassphrase(char[] passphrase) {
        // Characters as a person counts them (code points, not UTF-16 units), and blanks do not count.
        int characters = Character.codePointCount(passphrase, 0, passphrase.length);
        boolean blank = true;
        for (char c : passphrase) {
            blank &= Character.isWhitespace(c);
        }
        if (characters < MIN_PASSPHRASE_CHARS || blank) {
            throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "a new vault's passphrase needs at"
                    + " least " + MIN_PASSPHRASE_CHARS + " characters, not only blanks (this one "
                    + (blank ? "is blank" : "has " + characters) + "): it alone guards the keys against guessing offline"
                    + " from a copy of the vault (" + MIN_PASSPHRASE_CHARS + " is also the floor FIPS mode sets)");
        }
    }

    private static LocalKeyVault open(Path dir, Credentials credentials, Options options, boolean mayOpen,
            boolean mayCreate) {
        Objects.requireNonNull(credentials, "credentials");
        Path d = dir.toAbsolutePath().normalize();
        boolean creating = checkLayout(d, mayOpen, mayCreate);
        if (creating && credentials instanceof Credentials.Passphrase p) {
            checkNewPassphrase(p.passphrase());
        }
        try {
            if (creating && !Files.isDirectory(d)) {
                Files.createDirectories(d, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            }
        } catch (IOException e) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "cannot create vault directory " + d + ": "
                    + e.getMessage(), e);
        }
        byte[][] keys = FileLocks.withLock(d.resolve(LOCK), () -> {
            Path meta = d.resolve(META);
            // Again under the lock: another process may have created or removed files meanwhile.
            if (checkLayout(d, mayOpen, mayCreate) != creating) {
                throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "vault " + d + " changed while it was"
                        + " being opened; try again");
            }
            Meta m = creating ? Meta.create(meta, credentials, options) : Meta.read(meta);
            byte[] master = m.unwrapMaster(credentials, options.policy(), d);
            try {
                return new byte[][] {deriveSubkey(options.policy(), master, "keys.db"),
                        deriveSubkey(options.policy(), master, "audit.log"),
                        deriveSubkey(options.policy(), master, "keys.db material")};
            } finally {
                Arrays.fill(master, (byte) 0);
            }
        });
        String id = FileLocks.withLock(d.resolve(LOCK), () -> Meta.read(d.resolve(META)).vaultId);
        try {
            LocalKeyVault vault = new LocalKeyVault(d, id, options, keys[0], keys[2], keys[1]);
            try {
                // No operation may run whose audit record could not be written.
                vault.auditLog().refuseIfDamaged();
            } catch (RuntimeException e) {
                vault.close();
                throw e;
            }
            if (creating) {
                // keys.db exists from the start, so a vault that later lacks it is known to be damaged.
                FileLocks.withLock(d.resolve(LOCK), () -> {
                    vault.store(new KeyCatalog());
                    return null;
                });
            }
            return vault;
        } finally {
            for (byte[] key : keys) {
                Arrays.fill(key, (byte) 0);
            }
        }
    }

    /**
     * Whether {@code d} is to get a new vault (true) or holds one to open (false); refuses, with
     * what to do, a directory that is neither what the caller allows nor a whole vault.
     */
    private static boolean checkLayout(Path d, boolean mayOpen, boolean mayCreate) {
        if (Files.exists(d) && !Files.isDirectory(d)) {
            throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "vault " + d + " is not a directory");
        }
        if (Files.exists(d.resolve(META))) {
            if (!mayOpen) {
                throw new KeyVaultException(KeyVaultException.Reason.ALREADY_EXISTS, "a vault already exists in " + d
                        + "; nothing was changed");
            }
            return false;
        }
        String present = Arrays.stream(PARTS).filter(part -> Files.exists(d.resolve(part)))
                .collect(java.util.stream.Collectors.joining(", "));
        if (!present.isEmpty()) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "vault " + d + " has lost its " + META
                    + " (it still holds " + present + "): restore " + d.resolve(META) + " from a backup; without it"
                    + " the keys cannot be opened, and nothing was written");
        }
        if (!mayCreate) {
            throw new KeyVaultException(KeyVaultException.Reason.NOT_FOUND, "there is no vault in " + d);
        }
        if (!mayOpen && Files.isDirectory(d)) {
            try (var entries = Files.list(d)) {
                if (entries.anyMatch(f -> !f.getFileName().toString().equals(LOCK))) {
                    throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, d + " is not empty: a new"
                            + " vault goes into a new or empty directory");
                }
            } catch (IOException e) {
                throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "cannot read directory " + d + ": "
                        + e.getMessage(), e);
            }
        }
        return true;
    }

    /** Writes a new key file of 32 random bytes, readable by its owner only. */
    public static void createKeyFile(Path path, CryptoPolicy policy) {
        byte[] key = new byte[MASTER_KEY_BYTES];
        policy.randomBytes(key);
        try {
            if (Files.exists(path)) {
                throw new KeyVaultException(KeyVaultException.Reason.ALREADY_EXISTS, "key file " + path
                        + " already exists; it is not overwritten");
            }
            Path parent = path.toAbsolutePath().getParent();
            if (!Files.isDirectory(parent)) {
                Files.createDirectories(parent, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rwx------")));
            }
            AtomicFiles.replace(path, key);
        } catch (IOException e) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "cannot write key file " + path + ": "
                    + e.getMessage(), e);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** The vault's directory. */
    public Path directory() {
        return dir;
    }

    @Override
    public WrapAlgorithm wrapAlgorithm(KeyType type) {
        return type.isCustomerKey() ? WrapAlgorithm.RSA_OAEP_256 : WrapAlgorithm.AES_KWP;
    }

    /**
     * Runs on the kept catalog when {@code keys.db} is unchanged, so a read's body must not
     * modify it. A write drops it from being kept before its body runs: should the body or
     * the store fail, the next operation opens {@code keys.db} again.
     */
    @Override
    protected <T> T transact(boolean write, Function<KeyCatalog, T> body) {
        if (closed) {
            throw new IllegalStateException("vault '" + id + "' is closed");
        }
        return FileLocks.withLock(dir.resolve(LOCK), () -> {
            KeyCatalog catalog = load();
            if (!write) {
                return body.apply(catalog);
            }
            opened = null; // from here until stored, the kept catalog may be ahead of the file
            T result = body.apply(catalog);
            store(catalog);
            return result;
        });
    }

    /** The catalog as {@code keys.db} holds it now: the kept one if the bytes are the same. */
    private KeyCatalog load() throws IOException {
        byte[] sealed;
        try {
            sealed = Files.readAllBytes(dir.resolve(CATALOG));
        } catch (NoSuchFileException e) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "vault " + dir + " has lost its " + CATALOG
                    + " (its keys): restore " + dir.resolve(CATALOG) + " from a backup; nothing was written");
        }
        Opened kept = opened;
        if (kept != null && Arrays.equals(kept.sealed(), sealed)) {
            return kept.catalog(); // these exact bytes passed the GCM check when they were opened or sealed
        }
        opened = null;
        byte[] key = catalogKey.toArray(ValueLayout.JAVA_BYTE);
        byte[] plain = null;
        try {
            try {
                plain = policy.openAesGcm(key, catalogAad, sealed);
            } catch (GeneralSecurityException notFormatTwo) {
                plain = policy.openAesGcm(key, formatOneAad, sealed);
                KeyCatalog catalog = KeyCatalog.decode(plain);
                sealEveryMaterial(catalog);
                store(catalog);
                return catalog;
            }
            KeyCatalog catalog = KeyCatalog.decode(plain);
            opened = new Opened(sealed, catalog);
            return catalog;
        } catch (GeneralSecurityException | IOException e) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, dir.resolve(CATALOG)
                    + " fails its integrity check: it was altered or damaged outside the vault; restore it from a"
                    + " backup");
        } finally {
            Arrays.fill(key, (byte) 0);
            if (plain != null) {
                Arrays.fill(plain, (byte) 0);
            }
        }
    }

    /** Format 1 to 2: seals each version's clear material on its own and zeroes the clear copy. */
    private void sealEveryMaterial(KeyCatalog catalog) {
        for (KeyCatalog.Entry entry : catalog.keys.values()) {
            for (KeyCatalog.Version v : entry.versions) {
                byte[] clear = v.material;
                v.material = sealMaterial(entry.name, v.number, entry.type, clear);
                Arrays.fill(clear, (byte) 0);
            }
        }
    }

    /** Stores {@code catalog} and keeps it with the bytes written. */
    private void store(KeyCatalog catalog) throws IOException {
        opened = null;
        byte[] key = catalogKey.toArray(ValueLayout.JAVA_BYTE);
        byte[] plain = catalog.encode();
        try {
            byte[] sealed = policy.sealAesGcm(key, catalogAad, plain);
            AtomicFiles.replace(dir.resolve(CATALOG), sealed);
            opened = new Opened(sealed, catalog);
        } finally {
            Arrays.fill(key, (byte) 0);
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * Rewrites {@code keys.db} as format 1 (material in the clear inside the sealed file), as
     * vaults before format 2 stored it: only for the tests of the upgrade.
     */
    void rewriteAsFormatOneForTest() {
        FileLocks.withLock(dir.resolve(LOCK), () -> {
            KeyCatalog catalog = load();
            opened = null;
            for (KeyCatalog.Entry entry : catalog.keys.values()) {
                for (KeyCatalog.Version v : entry.versions) {
                    v.material = openMaterial(entry.name, v.number, entry.type, v.material);
                }
            }
            byte[] key = catalogKey.toArray(ValueLayout.JAVA_BYTE);
            try {
                AtomicFiles.replace(dir.resolve(CATALOG), policy.sealAesGcm(key, formatOneAad, catalog.encode()));
            } finally {
                Arrays.fill(key, (byte) 0);
            }
            return null;
        });
    }

    /**
     * AES-256-GCM of one version's material, bound by the associated data to this vault, the
     * key's name, the version and the type: a sealed material moved to another slot fails.
     */
    private byte[] sealMaterial(String name, int version, KeyType type, byte[] material) {
        byte[] key = materialKey.toArray(ValueLayout.JAVA_BYTE);
        try {
            return policy.sealAesGcm(key, materialAad(name, version, type), material);
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    /** The clear material of one version, which the caller zeroes. */
    private byte[] openMaterial(String name, int version, KeyType type, byte[] sealed) {
        byte[] key = materialKey.toArray(ValueLayout.JAVA_BYTE);
        try {
            return policy.openAesGcm(key, materialAad(name, version, type), sealed);
        } catch (GeneralSecurityException e) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, dir.resolve(CATALOG) + " holds key material"
                    + " for key '" + name + "' version " + version + " that fails its integrity check: restore it"
                    + " from a backup");
        } finally {
            Arrays.fill(key, (byte) 0);
        }
    }

    private byte[] materialAad(String name, int version, KeyType type) {
        return ("sectorcrypt key material v2 " + id + " " + name + " " + version + " " + type.code())
                .getBytes(StandardCharsets.UTF_8);
    }

    @Override
    protected byte[] createMaterial(String name, int version, KeyType type) {
        byte[] clear;
        if (!type.isCustomerKey()) {
            clear = policy.generateAes256Key();
        } else {
            KeyPair pair = policy.generateRsaKeyPair(type.bits());
            byte[] privateKey = pair.getPrivate().getEncoded();
            byte[] publicKey = pair.getPublic().getEncoded();
            ByteBuffer material = ByteBuffer.allocate(8 + privateKey.length + publicKey.length);
            material.putInt(privateKey.length).put(privateKey).putInt(publicKey.length).put(publicKey);
            Arrays.fill(privateKey, (byte) 0);
            clear = material.array();
        }
        try {
            return sealMaterial(name, version, type, clear);
        } finally {
            Arrays.fill(clear, (byte) 0);
        }
    }

    @Override
    protected void destroyMaterial(String name, KeyType type, byte[] material) {
        // The material lives only inside keys.db, which the purge rewrites without it.
    }

    @Override
    protected Wrapped wrapWith(String name, int version, KeyType type, byte[] sealed, MemorySegment keyBytes) {
        byte[] material = openMaterial(name, version, type, sealed);
        try {
            if (!type.isCustomerKey()) {
                return new Wrapped(WrapAlgorithm.AES_KWP, policy.wrapAesKwp(material, keyBytes));
            }
            return new Wrapped(WrapAlgorithm.RSA_OAEP_256,
                    policy.wrapRsaOaep256(policy.rsaPublicKey(part(material, 1)), keyBytes));
        } catch (GeneralSecurityException e) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "the stored public key is unreadable", e);
        } finally {
            Arrays.fill(material, (byte) 0);
        }
    }

    @Override
    protected MemorySegment unwrapWith(String name, int version, KeyType type, byte[] sealed,
            WrapAlgorithm algorithm, byte[] wrapped, Arena into) throws GeneralSecurityException {
        if (algorithm == WrapAlgorithm.RSA_OAEP) {
            throw new GeneralSecurityException("this vault wraps with RSA-OAEP-256 only");
        }
        byte[] material = openMaterial(name, version, type, sealed);
        try {
            if (!type.isCustomerKey()) {
                return policy.unwrapAesKwp(material, wrapped, into);
            }
            byte[] pkcs8 = part(material, 0);
            try {
                return policy.unwrapRsaOaep256(policy.rsaPrivateKey(pkcs8), wrapped, into);
            } finally {
                Arrays.fill(pkcs8, (byte) 0);
            }
        } finally {
            Arrays.fill(material, (byte) 0);
        }
    }

    /** Part 0 (PKCS#8 private key) or 1 (X.509 public key) of an RSA version's material. */
    private static byte[] part(byte[] material, int index) {
        ByteBuffer in = ByteBuffer.wrap(material);
        byte[] first = new byte[in.getInt()];
        in.get(first);
        if (index == 0) {
            return first;
        }
        byte[] second = new byte[in.getInt()];
        in.get(second);
        return second;
    }

    /** SP 800-108r1 4.1 counter-mode KDF, one HMAC-SHA-256 block: [1] || label || 0x00 || [256]. */
    private static byte[] deriveSubkey(CryptoPolicy policy, byte[] master, String label) {
        byte[] l = ("sectorcrypt " + label).getBytes(StandardCharsets.US_ASCII);
        return policy.hmacSha256(master, new byte[] {0, 0, 0, 1}, l, new byte[] {0}, new byte[] {0, 0, 1, 0});
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        catalogKey.fill((byte) 0);
        materialKey.fill((byte) 0);
        arena.close();
        auditLog().close();
    }

    /** vault.meta: the vault id and the wrapped master key, with how to unwrap it. */
    private record Meta(String vaultId, int kdfCode, PassphraseKdf kdf, byte[] wrappedMaster) {
        static Meta read(Path file) throws IOException {
            byte[] bytes = Files.readAllBytes(file);
            try (DataInputStream in = new DataInputStream(new java.io.ByteArrayInputStream(bytes))) {
                if (in.readInt() != META_MAGIC || in.readByte() != META_FORMAT) {
                    throw new IOException(file + " is not a SectorCrypt vault file (format " + META_FORMAT + "):"
                            + " restore it from a backup");
                }
                String id = in.readUTF();
                int kdfCode = in.readByte();
                PassphraseKdf kdf = null;
                if (kdfCode != KEY_FILE) {
                    byte[] salt = new byte[in.readByte()];
                    in.readFully(salt);
                    kdf = new PassphraseKdf(PassphraseKdf.Algorithm.ofCode(kdfCode), salt, in.readInt(), in.readByte(),
                            in.readByte());
                }
                byte[] wrapped = new byte[in.readShort()];
                in.readFully(wrapped);
                return new Meta(id, kdfCode, kdf, wrapped);
            } catch (IllegalArgumentException | java.io.EOFException | NegativeArraySizeException e) {
                throw new IOException(file + " is damaged (" + e.getMessage() + "): restore it from a backup", e);
            }
        }

        static Meta create(Path file, Credentials credentials, Options options) throws IOException {
            CryptoPolicy policy = options.policy();
            String id = options.newVaultId() != null ? Names.vaultId(options.newVaultId())
                    : "local-" + HexFormat.of().formatHex(random(policy, 4));
            PassphraseKdf kdf = credentials instanceof Credentials.Passphrase
                    ? PassphraseKdf.forPolicy(policy, options.scryptCost()) : null;
            byte[] kek = keyEncryptionKey(credentials, kdf, policy);
            byte[] master = random(policy, MASTER_KEY_BYTES);
            Meta meta;
            try {
                meta = new Meta(id, kdf == null ? KEY_FILE : kdf.algorithm().code(), kdf, policy.wrapAesKwp(kek, master));
            } finally {
                Arrays.fill(kek, (byte) 0);
                Arrays.fill(master, (byte) 0);
            }
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (DataOutputStream out = new DataOutputStream(bytes)) {
                out.writeInt(META_MAGIC);
                out.writeByte(META_FORMAT);
                out.writeUTF(id);
                out.writeByte(meta.kdfCode);
                if (kdf != null) {
                    byte[] salt = kdf.salt();
                    out.writeByte(salt.length);
                    out.write(salt);
                    out.writeInt(kdf.cost());
                    out.writeByte(kdf.blockSize());
                    out.writeByte(kdf.parallelism());
                }
                out.writeShort(meta.wrappedMaster.length);
                out.write(meta.wrappedMaster);
            }
            AtomicFiles.replace(file, bytes.toByteArray());
            return meta;
        }

        byte[] unwrapMaster(Credentials credentials, CryptoPolicy policy, Path dir) {
            if ((kdf == null) != (credentials instanceof Credentials.KeyFile)) {
                throw new KeyVaultException(KeyVaultException.Reason.ACCESS_DENIED, "vault " + dir + " is protected by "
                        + (kdf == null ? "a key file" : "a passphrase") + "; give that instead");
            }
            byte[] kek = keyEncryptionKey(credentials, kdf, policy);
            try {
                return policy.unwrapAesKwp(kek, wrappedMaster);
            } catch (GeneralSecurityException e) {
                throw new KeyVaultException(KeyVaultException.Reason.ACCESS_DENIED, "wrong "
                        + (kdf == null ? "key file" : "passphrase") + " for vault " + dir);
            } catch (IllegalArgumentException e) {
                // A wrapped master key of a length AES-KWP cannot produce: the file, not the credentials.
                throw new KeyVaultException(KeyVaultException.Reason.STORAGE, dir.resolve(META) + " is damaged: "
                        + e.getMessage(), e);
            } finally {
                Arrays.fill(kek, (byte) 0);
            }
        }

        private static byte[] keyEncryptionKey(Credentials credentials, PassphraseKdf kdf, CryptoPolicy policy) {
            if (credentials instanceof Credentials.Passphrase p) {
                return policy.deriveFromPassphrase(p.passphrase(), kdf);
            }
            Path path = ((Credentials.KeyFile) credentials).path();
            try {
                byte[] key = Files.readAllBytes(path);
                if (key.length != MASTER_KEY_BYTES) {
                    Arrays.fill(key, (byte) 0);
                    throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "key file " + path + " must hold"
                            + " exactly " + MASTER_KEY_BYTES + " bytes, not " + key.length);
                }
                return key;
            } catch (IOException e) {
                throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "cannot read key file " + path
                        + ": " + e.getMessage(), e);
            }
        }

        private static byte[] random(CryptoPolicy policy, int n) {
            byte[] bytes = new byte[n];
            policy.randomBytes(bytes);
            return bytes;
        }
    }
}
