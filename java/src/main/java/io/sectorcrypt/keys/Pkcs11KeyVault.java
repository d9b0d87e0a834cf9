package io.sectorcrypt.keys;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.crypto.KeyWrapLimits;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;

/**
 * A vault in a hardware security module, reached through PKCS#11 (bound with the FFM API,
 * see {@link Pkcs11}). Keys are generated in the token, sensitive and not extractable, and
 * every wrap and unwrap happens inside it:
 * <ul>
 * <li>customer keys: RSA key pairs; DEKs are wrapped with C_Encrypt under the public key and
 * unwrapped with C_Decrypt under the private key, both CKM_RSA_PKCS_OAEP. SHA-256 (with
 * MGF1-SHA-256) when the token accepts it, else SHA-1 (SoftHSM 2.6 does SHA-1 only); the
 * {@link WrappedKey} records which ({@link WrapAlgorithm#RSA_OAEP_256} or
 * {@link WrapAlgorithm#RSA_OAEP}).
 * <li>platform keys: AES-256 keys; a DEK becomes a short-lived session object that
 * C_WrapKey wraps with CKM_AES_KEY_WRAP_PAD (RFC 5649); C_UnwrapKey makes a session object
 * again whose value is read out and the object destroyed.
 * </ul>
 * The vault never returns bytes other than those wrapped. Lengths are checked against
 * {@link KeyWrapLimits} before the token is called, and what C_UnwrapKey returns is checked
 * against the wrapped length. SoftHSM 2.6 zero-pads a key to a multiple of 8 bytes before
 * its "key wrap with padding" and unwraps it padded (the one-byte key 37 comes back as
 * 3700000000000000), which is not RFC 5649: the vault asks the token once, with throwaway
 * session keys, whether it gives back a 1- and a 9-byte key unchanged, and if not refuses
 * at wrap time every key whose length is not a multiple of 8.
 * Unwrapped DEKs go from the token straight into off-heap memory.
 *
 * <p>The catalog (versions, states, expiry, deletion, access policy) lives in the token too,
 * as a private CKO_DATA object per generation: a change writes generation n+1 before it
 * destroys n, so a crash leaves one whole catalog. One process should manage a token's
 * vault at a time: PKCS#11 offers no lock across processes.
 */
public final class Pkcs11KeyVault extends CatalogKeyVault {
    /** Environment variables the tests and the CLI read; ci/setup-softhsm.sh prints them. */
    public static final String ENV_MODULE = "SECTORCRYPT_PKCS11_MODULE";
    public static final String ENV_TOKEN = "SECTORCRYPT_PKCS11_TOKEN";
    public static final String ENV_PIN = "SECTORCRYPT_PKCS11_PIN";
    private static final String APPLICATION = "sectorcrypt-catalog:";
    private static final int ID_RANDOM_BYTES = 8;
    /** Key lengths, not multiples of 8, that the token must give back unchanged to be trusted with any length. */
    private static final int[] KWP_PROBE_LENGTHS = {1, 9};

    /** Where the token is. {@link #pin()} is copied off-heap for the login and not kept. */
    public record Config(Path module, String tokenLabel, char[] pin, String vaultId) {
        public Config {
            Objects.requireNonNull(module, "module");
            Objects.requireNonNull(tokenLabel, "tokenLabel");
            Objects.requireNonNull(pin, "pin");
            Names.vaultId(vaultId);
        }

        /** From {@value #ENV_MODULE}, {@value #ENV_TOKEN} and {@value #ENV_PIN}, if all are set. */
        public static Optional<Config> fromEnvironment(String vaultId) {
            String module = System.getenv(ENV_MODULE);
            String token = System.getenv(ENV_TOKEN);
            String pin = System.getenv(ENV_PIN);
            if (module == null || token == null || pin == null || module.isBlank() || token.isBlank()) {
                return Optional.empty();
            }
            return Optional.of(new Config(Path.of(module), token, pin.toCharArray(), vaultId));
        }

        @Override
        public String toString() {
            return "Config[" + module + ", token " + tokenLabel + ", vault " + vaultId + "]";
        }
    }

    private final Pkcs11 p11;
    private final long session;
    private final ReentrantLock token = new ReentrantLock();
    private volatile WrapAlgorithm rsaAlgorithm;
    private volatile Boolean kwpKeepsAnyLength;
    private final String tokenLabel;
    private volatile boolean closed;

    private Pkcs11KeyVault(Config config, Pkcs11 p11, long session, CryptoPolicy policy, Clock clock, AuditLog audit,
            String operator) {
        super(config.vaultId(), policy, clock, operator);
        this.tokenLabel = config.tokenLabel();
        this.p11 = p11;
        this.session = session;
        useAuditLog(audit);
    }

    /** Loads the module, finds the token by label, logs in. */
    public static Pkcs11KeyVault open(Config config, CryptoPolicy policy, Clock clock, AuditLog audit, String operator) {
        Pkcs11 p11 = Pkcs11.load(config.module());
        long slot = p11.findSlot(config.tokenLabel());
        long session = p11.openSession(slot);
        try (Arena arena = Arena.ofConfined()) {
            ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(config.pin()));
            MemorySegment pin = arena.allocate(encoded.remaining());
            pin.copyFrom(MemorySegment.ofBuffer(encoded));
            if (encoded.hasArray()) {
                Arrays.fill(encoded.array(), (byte) 0);
            }
            try {
                p11.login(session, pin);
            } finally {
                pin.fill((byte) 0);
            }
        } catch (Pkcs11.Failure e) {
            p11.closeSession(session);
            throw new KeyVaultException(e.rv == Pkcs11.CKR_PIN_INCORRECT ? KeyVaultException.Reason.ACCESS_DENIED
                    : KeyVaultException.Reason.STORAGE, "cannot log in to token '" + config.tokenLabel() + "': "
                            + e.getMessage(), e);
        }
        return new Pkcs11KeyVault(config, p11, session, policy, clock, audit, operator);
    }

    /**
     * RSA-OAEP-256 if the token accepts OAEP with SHA-256, else RSA-OAEP (SHA-1); asked once,
     * with a throwaway session key pair.
     */
    @Override
    public WrapAlgorithm wrapAlgorithm(KeyType type) {
        if (!type.isCustomerKey()) {
            return WrapAlgorithm.AES_KWP;
        }
        WrapAlgorithm known = rsaAlgorithm;
        if (known != null) {
            return known;
        }
        return withToken(() -> {
            if (rsaAlgorithm == null) {
                try (Arena arena = Arena.ofConfined()) {
                    long[] pair = p11.generateKeyPair(session, rsaPublicTemplate(arena, 2048, null, false),
                            rsaPrivateTemplate(arena, null, false));
                    try {
                        p11.encrypt(session, Pkcs11.oaep(arena, true), pair[0], arena.allocate(32), 256);
                        rsaAlgorithm = WrapAlgorithm.RSA_OAEP_256;
                    } catch (Pkcs11.Failure e) {
                        if (e.rv != Pkcs11.CKR_MECHANISM_PARAM_INVALID && e.rv != Pkcs11.CKR_ARGUMENTS_BAD
                                && e.rv != Pkcs11.CKR_MECHANISM_INVALID) {
                            throw e;
                        }
                        rsaAlgorithm = WrapAlgorithm.RSA_OAEP;
                    } finally {
                        p11.destroyObject(session, pair[0]);
                        p11.destroyObject(session, pair[1]);
                    }
                }
            }
            return rsaAlgorithm;
        });
    }

    // -- catalog -----------------------------------------------------------------------

    @Override
    protected <T> T transact(boolean write, Function<KeyCatalog, T> body) {
        return withToken(() -> {
            try (Arena arena = Arena.ofConfined()) {
                List<Long> objects = p11.findObjects(session, new Pkcs11.Template(arena)
                        .ulong(Pkcs11.CKA_CLASS, Pkcs11.CKO_DATA)
                        .bytes(Pkcs11.CKA_APPLICATION, (APPLICATION + id).getBytes(StandardCharsets.UTF_8)));
                long newest = -1;
                long generation = 0;
                for (long object : objects) {
                    long g = Long.parseLong(new String(p11.attribute(session, object, Pkcs11.CKA_LABEL, arena)
                            .toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8).replaceFirst("^.*#", ""));
                    if (g > generation) {
                        generation = g;
                        newest = object;
                    }
                }
                KeyCatalog catalog = newest < 0 ? new KeyCatalog() : KeyCatalog.decode(
                        p11.attribute(session, newest, Pkcs11.CKA_VALUE, arena).toArray(ValueLayout.JAVA_BYTE));
                T result = body.apply(catalog);
                if (write) {
                    // New generation first, then the old ones go: a crash leaves a whole catalog.
                    p11.createObject(session, new Pkcs11.Template(arena)
                            .ulong(Pkcs11.CKA_CLASS, Pkcs11.CKO_DATA)
                            .bool(Pkcs11.CKA_TOKEN, true)
                            .bool(Pkcs11.CKA_PRIVATE, true)
                            .bytes(Pkcs11.CKA_APPLICATION, (APPLICATION + id).getBytes(StandardCharsets.UTF_8))
                            .bytes(Pkcs11.CKA_LABEL, (APPLICATION + id + "#" + (generation + 1))
                                    .getBytes(StandardCharsets.UTF_8))
                            .bytes(Pkcs11.CKA_VALUE, catalog.encode()));
                    for (long object : objects) {
                        p11.destroyObject(session, object);
                    }
                }
                return result;
            } catch (IOException | NumberFormatException e) {
                throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "the catalog of vault '" + id
                        + "' in the token is damaged: " + e.getMessage(), e);
            }
        });
    }

    // -- material ----------------------------------------------------------------------

    @Override
    protected byte[] createMaterial(String name, int version, KeyType type) {
        byte[] random = new byte[ID_RANDOM_BYTES];
        policy.randomBytes(random);
        // Unique per generation, so a key made before a crash that lost its catalog entry never clashes.
        byte[] objectId = (id + "/" + name + "/" + version + "/" + HexFormat.of().formatHex(random))
                .getBytes(StandardCharsets.UTF_8);
        byte[] label = (id + "/" + name + "/" + version).getBytes(StandardCharsets.UTF_8);
        withToken(() -> {
            try (Arena arena = Arena.ofConfined()) {
                if (type.isCustomerKey()) {
                    p11.generateKeyPair(session, rsaPublicTemplate(arena, type.bits(), objectId, true)
                            .bytes(Pkcs11.CKA_LABEL, label), rsaPrivateTemplate(arena, objectId, true)
                                    .bytes(Pkcs11.CKA_LABEL, label));
                } else {
                    p11.generateKey(session, new Pkcs11.Template(arena)
                            .ulong(Pkcs11.CKA_CLASS, Pkcs11.CKO_SECRET_KEY)
                            .ulong(Pkcs11.CKA_KEY_TYPE, Pkcs11.CKK_AES)
                            .ulong(Pkcs11.CKA_VALUE_LEN, 32)
                            .bool(Pkcs11.CKA_TOKEN, true)
                            .bool(Pkcs11.CKA_PRIVATE, true)
                            .bool(Pkcs11.CKA_SENSITIVE, true)
                            .bool(Pkcs11.CKA_EXTRACTABLE, false)
                            .bool(Pkcs11.CKA_WRAP, true)
                            .bool(Pkcs11.CKA_UNWRAP, true)
                            .bool(Pkcs11.CKA_ENCRYPT, false)
                            .bool(Pkcs11.CKA_DECRYPT, false)
                            .bytes(Pkcs11.CKA_ID, objectId)
                            .bytes(Pkcs11.CKA_LABEL, label), Pkcs11.CKM_AES_KEY_GEN);
                }
            }
            return null;
        });
        return objectId;
    }

    @Override
    protected void destroyMaterial(String name, KeyType type, byte[] material) {
        withToken(() -> {
            try (Arena arena = Arena.ofConfined()) {
                for (long object : p11.findObjects(session, new Pkcs11.Template(arena)
                        .bytes(Pkcs11.CKA_ID, material))) {
                    p11.destroyObject(session, object);
                }
            }
            return null;
        });
    }

    @Override
    protected Wrapped wrapWith(String name, int version, KeyType type, byte[] material, MemorySegment keyBytes) {
        WrapAlgorithm algorithm = wrapAlgorithm(type);
        long length = keyBytes.byteSize();
        if (type.isCustomerKey()) {
            KeyWrapLimits.checkOaepKey(algorithm.label(), type.bits(), oaepHashBytes(algorithm), length);
        } else {
            KeyWrapLimits.checkKwpKey(length);
        }
        return withToken(() -> {
            try (Arena arena = Arena.ofConfined()) {
                if (!type.isCustomerKey() && length % KeyWrapLimits.KWP_SEMIBLOCK_BYTES != 0 && !kwpKeepsAnyLength()) {
                    throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "token '" + tokenLabel
                            + "' of vault '" + id + "' cannot wrap a key of " + length + " bytes faithfully: its AES key"
                            + " wrap with padding gives keys whose length is not a multiple of 8 back zero-padded"
                            + " (SoftHSM 2.6 does, unlike RFC 5649); wrap keys of a multiple of 8 bytes with it");
                }
                if (type.isCustomerKey()) {
                    long publicKey = object(arena, Pkcs11.CKO_PUBLIC_KEY, material);
                    return new Wrapped(algorithm, p11.encrypt(session, Pkcs11.oaep(arena,
                            algorithm == WrapAlgorithm.RSA_OAEP_256), publicKey, keyBytes, type.bits() / 8));
                }
                return new Wrapped(algorithm, wrapKwp(arena, object(arena, Pkcs11.CKO_SECRET_KEY, material), keyBytes));
            } catch (Pkcs11.Failure e) {
                throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "the token failed to wrap with a version of"
                        + " a key in vault '" + id + "': " + e.getMessage(), e);
            }
        });
    }

    @Override
    protected MemorySegment unwrapWith(String name, int version, KeyType type, byte[] material,
            WrapAlgorithm algorithm, byte[] wrapped, Arena into) throws GeneralSecurityException {
        if (type.isCustomerKey()) {
            KeyWrapLimits.checkOaepWrapped(algorithm.label(), type.bits(), wrapped.length);
        } else {
            KeyWrapLimits.checkKwpWrapped(wrapped.length);
        }
        try {
            return withToken(() -> {
                try (Arena arena = Arena.ofConfined()) {
                    if (type.isCustomerKey()) {
                        long privateKey = object(arena, Pkcs11.CKO_PRIVATE_KEY, material);
                        return p11.decrypt(session, Pkcs11.oaep(arena, algorithm == WrapAlgorithm.RSA_OAEP_256),
                                privateKey, wrapped, type.bits() / 8, into);
                    }
                    return unwrapKwp(arena, object(arena, Pkcs11.CKO_SECRET_KEY, material), wrapped, into);
                }
            });
        } catch (Pkcs11.Failure e) {
            // Which check failed inside the token is not passed on (see CatalogKeyVault.unwrap).
            throw new GeneralSecurityException("the token refused to unwrap");
        }
    }

    private static int oaepHashBytes(WrapAlgorithm algorithm) {
        return algorithm == WrapAlgorithm.RSA_OAEP_256 ? KeyWrapLimits.SHA256_BYTES : KeyWrapLimits.SHA1_BYTES;
    }

    /** CKM_AES_KEY_WRAP_PAD of {@code keyBytes}, made a session object for the moment of the wrap. */
    private byte[] wrapKwp(Arena arena, long kek, MemorySegment keyBytes) {
        long dek = p11.createObject(session, sessionSecret(arena).segment(Pkcs11.CKA_VALUE, keyBytes));
        try {
            return p11.wrapKey(session, Pkcs11.mechanism(arena, Pkcs11.CKM_AES_KEY_WRAP_PAD), kek, dek,
                    (int) keyBytes.byteSize() + 16);
        } finally {
            p11.destroyObject(session, dek);
        }
    }

    /**
     * CKM_AES_KEY_WRAP_PAD unwrap into {@code into}; refuses (zeroed) a key of a length the
     * wrapped bytes cannot hold (RFC 5649).
     */
    private MemorySegment unwrapKwp(Arena arena, long kek, byte[] wrapped, Arena into) {
        long dek = p11.unwrapKey(session, Pkcs11.mechanism(arena, Pkcs11.CKM_AES_KEY_WRAP_PAD), kek, wrapped,
                sessionSecret(arena));
        MemorySegment key;
        try {
            key = p11.attribute(session, dek, Pkcs11.CKA_VALUE, into);
        } finally {
            p11.destroyObject(session, dek);
        }
        try {
            KeyWrapLimits.checkKwpUnwrapped(key.byteSize(), wrapped.length);
        } catch (IllegalArgumentException e) {
            key.fill((byte) 0);
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "token '" + tokenLabel + "' of vault '" + id
                    + "' unwrapped a key that is not the one wrapped: " + e.getMessage());
        }
        return key;
    }

    /**
     * Whether the token's CKM_AES_KEY_WRAP_PAD gives back exactly the key it wrapped when
     * its length is not a multiple of 8; asked once, with a session KEK and probe values
     * that are no one's key.
     */
    boolean kwpKeepsAnyLength() {
        Boolean known = kwpKeepsAnyLength;
        if (known != null) {
            return known;
        }
        return withToken(() -> {
            if (kwpKeepsAnyLength == null) {
                try (Arena arena = Arena.ofConfined()) {
                    long kek = p11.generateKey(session, new Pkcs11.Template(arena)
                            .ulong(Pkcs11.CKA_CLASS, Pkcs11.CKO_SECRET_KEY)
                            .ulong(Pkcs11.CKA_KEY_TYPE, Pkcs11.CKK_AES)
                            .ulong(Pkcs11.CKA_VALUE_LEN, 32)
                            .bool(Pkcs11.CKA_TOKEN, false)
                            .bool(Pkcs11.CKA_SENSITIVE, true)
                            .bool(Pkcs11.CKA_EXTRACTABLE, false)
                            .bool(Pkcs11.CKA_WRAP, true)
                            .bool(Pkcs11.CKA_UNWRAP, true), Pkcs11.CKM_AES_KEY_GEN);
                    try {
                        boolean keeps = true;
                        for (int length : KWP_PROBE_LENGTHS) {
                            keeps &= roundTrips(arena, kek, length);
                        }
                        kwpKeepsAnyLength = keeps;
                    } finally {
                        p11.destroyObject(session, kek);
                    }
                }
            }
            return kwpKeepsAnyLength;
        });
    }

    private boolean roundTrips(Arena arena, long kek, int length) {
        MemorySegment probe = arena.allocate(length).fill((byte) 0x5a);
        try (Arena out = Arena.ofConfined()) {
            MemorySegment back = unwrapKwp(arena, kek, wrapKwp(arena, kek, probe), out);
            return back.byteSize() == length && back.mismatch(probe) == -1;
        } catch (Pkcs11.Failure | KeyVaultException e) {
            return false; // a token that refuses the length, or returns another, cannot round-trip it
        }
    }

    /** A session-only, extractable generic secret: the DEK's brief shape inside the token. */
    private static Pkcs11.Template sessionSecret(Arena arena) {
        return new Pkcs11.Template(arena)
                .ulong(Pkcs11.CKA_CLASS, Pkcs11.CKO_SECRET_KEY)
                .ulong(Pkcs11.CKA_KEY_TYPE, Pkcs11.CKK_GENERIC_SECRET)
                .bool(Pkcs11.CKA_TOKEN, false)
                .bool(Pkcs11.CKA_SENSITIVE, false)
                .bool(Pkcs11.CKA_EXTRACTABLE, true);
    }

    private static Pkcs11.Template rsaPublicTemplate(Arena arena, int bits, byte[] objectId, boolean onToken) {
        Pkcs11.Template t = new Pkcs11.Template(arena)
                .bool(Pkcs11.CKA_TOKEN, onToken)
                .bool(Pkcs11.CKA_ENCRYPT, true)
                .bool(Pkcs11.CKA_WRAP, true)
                .ulong(Pkcs11.CKA_MODULUS_BITS, bits)
                .bytes(Pkcs11.CKA_PUBLIC_EXPONENT, new byte[] {1, 0, 1});
        return objectId == null ? t : t.bytes(Pkcs11.CKA_ID, objectId);
    }

    private static Pkcs11.Template rsaPrivateTemplate(Arena arena, byte[] objectId, boolean onToken) {
        Pkcs11.Template t = new Pkcs11.Template(arena)
                .bool(Pkcs11.CKA_TOKEN, onToken)
                .bool(Pkcs11.CKA_PRIVATE, true)
                .bool(Pkcs11.CKA_SENSITIVE, true)
                .bool(Pkcs11.CKA_EXTRACTABLE, false)
                .bool(Pkcs11.CKA_DECRYPT, true)
                .bool(Pkcs11.CKA_UNWRAP, true);
        return objectId == null ? t : t.bytes(Pkcs11.CKA_ID, objectId);
    }

    private long object(Arena arena, long objectClass, byte[] objectId) {
        List<Long> found = p11.findObjects(session, new Pkcs11.Template(arena)
                .ulong(Pkcs11.CKA_CLASS, objectClass).bytes(Pkcs11.CKA_ID, objectId));
        if (found.size() != 1) {
            throw new KeyVaultException(KeyVaultException.Reason.STORAGE, "vault '" + id + "': the token holds "
                    + found.size() + " objects for a key version that needs exactly one");
        }
        return found.get(0);
    }

    /** Token attributes of a key version's objects, for tests that check keys stay inside. */
    Map<String, Boolean> privateKeyFlags(String name, int version) {
        byte[] objectId = transact(false, c -> c.keys.get(name).version(version).material.clone());
        return withToken(() -> {
            try (Arena arena = Arena.ofConfined()) {
                KeyType type = show(name).type();
                long object = object(arena, type.isCustomerKey() ? Pkcs11.CKO_PRIVATE_KEY : Pkcs11.CKO_SECRET_KEY,
                        objectId);
                return Map.of("sensitive", p11.attribute(session, object, Pkcs11.CKA_SENSITIVE, arena)
                        .get(ValueLayout.JAVA_BYTE, 0) != 0, "extractable", p11.attribute(session, object,
                                Pkcs11.CKA_EXTRACTABLE, arena).get(ValueLayout.JAVA_BYTE, 0) != 0);
            }
        });
    }

    /** How many token objects carry a version's id (0 after a purge). */
    int objectCount(byte[] objectId) {
        return withToken(() -> {
            try (Arena arena = Arena.ofConfined()) {
                return p11.findObjects(session, new Pkcs11.Template(arena).bytes(Pkcs11.CKA_ID, objectId)).size();
            }
        });
    }

    /** Destroys this vault's catalog objects (tests clean the shared token up with it). */
    void destroyCatalog() {
        withToken(() -> {
            try (Arena arena = Arena.ofConfined()) {
                for (long object : p11.findObjects(session, new Pkcs11.Template(arena)
                        .ulong(Pkcs11.CKA_CLASS, Pkcs11.CKO_DATA)
                        .bytes(Pkcs11.CKA_APPLICATION, (APPLICATION + id).getBytes(StandardCharsets.UTF_8)))) {
                    p11.destroyObject(session, object);
                }
            }
            return null;
        });
    }

    byte[] objectId(String name, int version) {
        return transact(false, c -> c.keys.get(name).version(version).material.clone());
    }

    private <T> T withToken(java.util.function.Supplier<T> body) {
        token.lock();
        try {
            if (closed) {
                throw new IllegalStateException("vault '" + id + "' is closed");
            }
            return body.get();
        } finally {
            token.unlock();
        }
    }

    /** Closes the session; the module stays loaded for other vaults of this JVM. */
    @Override
    public void close() {
        token.lock();
        try {
            if (!closed) {
                closed = true;
                p11.closeSession(session);
            }
        } finally {
            token.unlock();
        }
    }
}
