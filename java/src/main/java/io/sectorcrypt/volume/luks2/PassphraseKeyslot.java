package io.sectorcrypt.volume.luks2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.argon2.Argon2;
import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;
import java.util.Objects;

/**
 * A standard LUKS2 keyslot of type {@code luks2} (LUKS2 on-disk format, section 3.2.1) that
 * protects the volume key with a passphrase, so that an operator can open the disk with stock
 * cryptsetup ({@code cryptsetup open}, {@code luksDump --dump-volume-key}).
 *
 * <p>Made as cryptsetup makes one (section 4.2): a fresh 32-byte salt; the passphrase (as
 * UTF-8 bytes) through the KDF to a 64-byte area key (Argon2id by default, PBKDF2-HMAC-SHA256
 * under a FIPS policy, {@link KdfParameters}); the volume key split by the AF splitter into
 * {@value AfSplitter#LUKS_STRIPES} stripes over SHA-256 ({@link AfSplitter}); the split
 * material, zero-padded to whole 512-byte sectors, encrypted with {@code aes-xts-plain64}
 * under the area key, 512-byte sectors, IV 0 at the start of the area (cryptsetup's keyslot
 * storage, which counts from the area, not the device). The area is the material rounded up
 * to 4096 bytes: 258 048 bytes for a 64-byte key.
 *
 * <p>Opening reverses it (section 4.3): the KDF, the decryption, the AF merge. A wrong
 * passphrase yields a wrong key, not an error: only the volume key digest
 * ({@link Luks2Digest}) tells; {@link #unlock} does both steps. Reading is strict and
 * bounded: every field of the keyslot is checked ({@link #validate}) before any expensive
 * work, KDF costs against {@link KdfLimits}, and one {@link Luks2FormatException} names
 * the first field refused.
 *
 * <p>Key material: the volume key comes and goes in {@link MemorySegment}s; the passphrase's
 * UTF-8 bytes, the area key and the scratch arrays of the AF splitter are heap arrays zeroed
 * before each method returns; the area key, once handed to the XTS engine, lives off-heap in
 * an {@link XtsKey} closed (zeroed) at once. Nothing secret appears in messages or
 * {@link #toString()}.
 */
public final class PassphraseKeyslot {
    /** The keyslot area cipher, in dm-crypt notation. */
    public static final String AREA_ENCRYPTION = "aes-xts-plain64";
    /** The area key of new keyslots: XTS-AES-256, as cryptsetup's default. */
    public static final int AREA_KEY_BYTES = 64;
    /** The AF hash of new keyslots. */
    public static final String AF_HASH = "sha256";
    /** KDF salt bytes of new keyslots ({@code LUKS_SALTSIZE}). */
    public static final int SALT_BYTES = 32;
    /** Keyslot areas start and end on 4096-byte boundaries (cryptsetup's allocation unit). */
    public static final int AREA_ALIGNMENT = 4096;
    /** The sector size of the area encryption; its IVs count these from the area start. */
    private static final int AREA_SECTOR = 512;
    /** cryptsetup's ceiling on the whole keyslots area ({@code LUKS2_MAX_KEYSLOTS_SIZE}): 128 MiB. */
    private static final long MAX_AREA_BYTES = 128L * 1024 * 1024;
    /** Salts read: Argon2 needs 8 bytes (RFC 9106 3.1); cryptsetup writes 32. */
    private static final int MIN_SALT_BYTES = 8;
    private static final int MAX_SALT_BYTES = 64;
    /** The shortest HMAC key BCFIPS takes in approved mode: 112 bits, so 14 bytes of passphrase. */
    public static final int MIN_FIPS_PASSPHRASE_BYTES = 14;

    private final ObjectNode json;
    private final byte[] area;

    private PassphraseKeyslot(ObjectNode json, byte[] area) {
        this.json = json;
        this.area = area;
    }

    /**
     * The offset and size (bytes from the device start) of a validated keyslot's area.
     *
     * @param offset where the area starts, a multiple of 4096
     * @param size   its size, a multiple of 4096, at least the split key rounded up to 4096
     */
    public record Area(long offset, long size) {
    }

    /**
     * Makes a keyslot for {@code volumeKey} under {@code passphrase}.
     *
     * @param volumeKey  32 or 64 bytes, on or off the heap; read, not kept
     * @param passphrase at least one character; read, not kept or cleared (the caller clears it)
     * @param kdf        the KDF and its costs: Argon2 types are refused under a FIPS policy
     * @param areaOffset where the header places the area, bytes from the device start, a
     *                   multiple of 4096 (the header writer allocates it; see {@link #areaSize(int)})
     * @param policy     supplies the DRBG (salt, AF stripes) and, for PBKDF2, the HMAC
     * @throws IllegalArgumentException if an argument is out of range, or under a FIPS policy the
     *                                  passphrase is shorter than {@value #MIN_FIPS_PASSPHRASE_BYTES} bytes
     * @throws IllegalStateException    if Argon2 is asked for under a FIPS policy
     */
    public static PassphraseKeyslot create(MemorySegment volumeKey, char[] passphrase, KdfParameters kdf,
            long areaOffset, CryptoPolicy policy) {
        Objects.requireNonNull(volumeKey, "volumeKey");
        Objects.requireNonNull(kdf, "kdf");
        Objects.requireNonNull(policy, "policy");
        int keyBytes = (int) Math.min(Integer.MAX_VALUE, volumeKey.byteSize());
        if (keyBytes != 32 && keyBytes != 64) {
            throw new IllegalArgumentException("a volume key is 32 or 64 bytes, not " + volumeKey.byteSize());
        }
        if (areaOffset < 0 || areaOffset % AREA_ALIGNMENT != 0) {
            throw new IllegalArgumentException("a keyslot area offset is a non-negative multiple of "
                    + AREA_ALIGNMENT + ", not " + areaOffset);
        }
        checkPolicy(kdf.type(), policy);
        long areaSize = areaSize(keyBytes);
        byte[] salt = new byte[SALT_BYTES];
        policy.randomBytes(salt);
        byte[] area = new byte[(int) areaSize];
        byte[] password = utf8(passphrase);
        byte[] areaKey = new byte[AREA_KEY_BYTES];
        try (Arena arena = Arena.ofConfined()) {
            derive(kdf.type(), Luks2Hash.SHA256, kdf.time(), kdf.memoryKiB(), kdf.parallel(), kdf.iterations(),
                    password, salt, areaKey, policy);
            MemorySegment material = AfSplitter.split(volumeKey, AfSplitter.LUKS_STRIPES, AF_HASH, policy.drbg(),
                    arena);
            long sectors = sectorBytes(material.byteSize());
            MemorySegment plain = arena.allocate(sectors, 64);
            try {
                plain.copyFrom(material);
                material.fill((byte) 0);
                try (XtsKey key = xtsKey(areaKey)) {
                    SectorCipher.of(key).encrypt(plain, MemorySegment.ofArray(area).asSlice(0, sectors), 0,
                            AREA_SECTOR);
                }
            } finally {
                plain.fill((byte) 0);
            }
        } finally {
            Arrays.fill(password, (byte) 0);
            Arrays.fill(areaKey, (byte) 0);
        }
        return new PassphraseKeyslot(toJson(keyBytes, kdf, salt, areaOffset, areaSize), area);
    }

    /**
     * The area a keyslot of a {@code keyBytes}-byte key takes: the split key
     * ({@code keyBytes × 4000}) rounded up to 4096 bytes, as cryptsetup allocates it.
     */
    public static long areaSize(int keyBytes) {
        long material = AfSplitter.materialBytes(keyBytes, AfSplitter.LUKS_STRIPES);
        return (material + AREA_ALIGNMENT - 1) / AREA_ALIGNMENT * AREA_ALIGNMENT;
    }

    /**
     * The keyslot object (a copy) as the header's {@code keyslots} map holds it:
     * {@code {"type":"luks2","key_size":..,"af":{..},"area":{"type":"raw","offset":"..",
     * "size":"..","encryption":"aes-xts-plain64","key_size":64},"kdf":{..}}}.
     */
    public ObjectNode json() {
        return json.deepCopy();
    }

    /** The area bytes to write at the area offset (a copy): encrypted split key, then zeros. */
    public byte[] area() {
        return area.clone();
    }

    /** {@link #validate(JsonNode, KdfLimits)} with {@link KdfLimits#DEFAULT}. */
    public static Area validate(JsonNode keyslot) {
        return validate(keyslot, KdfLimits.DEFAULT);
    }

    /**
     * Checks every field this class reads of a keyslot object, cheaply (no KDF runs), and
     * returns where its area lies, so that a header reader can fetch exactly those bytes.
     *
     * @throws Luks2FormatException naming the first field refused
     */
    public static Area validate(JsonNode keyslot, KdfLimits limits) {
        Parsed p = parse(keyslot, limits);
        return new Area(p.areaOffset, p.areaSize);
    }

    /**
     * Opens a keyslot with {@link KdfLimits#DEFAULT}: see {@link #open(JsonNode, MemorySegment,
     * char[], CryptoPolicy, KdfLimits, Arena)}.
     */
    public static MemorySegment open(JsonNode keyslot, MemorySegment area, char[] passphrase, CryptoPolicy policy,
            Arena arena) {
        return open(keyslot, area, passphrase, policy, KdfLimits.DEFAULT, arena);
    }

    /**
     * Opens a keyslot: the candidate volume key, right if and only if the passphrase is (check
     * it against the digest bound to this keyslot, or use {@link #unlock}).
     *
     * @param keyslot    the keyslot object from the header's {@code keyslots} map
     * @param area       the area's bytes from its offset: at least the split key rounded up
     *                   to 512 bytes, at most the area size (the whole area is usual)
     * @param passphrase at least one character; not cleared (the caller clears it)
     * @param limits     the most work the KDF may ask for
     * @param arena      where the key is allocated
     * @return the candidate key, {@code key_size} bytes, in {@code arena}
     * @throws Luks2FormatException     if the keyslot is malformed, beyond {@code limits}, or
     *                                  {@code area} has the wrong length
     * @throws IllegalArgumentException if the passphrase is empty or not valid UTF-16, or under a
     *                                  FIPS policy shorter than {@value #MIN_FIPS_PASSPHRASE_BYTES} bytes
     * @throws IllegalStateException    if the keyslot's KDF is Argon2 and the policy FIPS, or
     *                                  Argon2's memory exceeds what this JVM's heap can hold
     */
    public static MemorySegment open(JsonNode keyslot, MemorySegment area, char[] passphrase, CryptoPolicy policy,
            KdfLimits limits, Arena arena) {
        Objects.requireNonNull(area, "area");
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(limits, "limits");
        Objects.requireNonNull(arena, "arena");
        Parsed p = parse(keyslot, limits);
        long material = AfSplitter.materialBytes(p.keyBytes, p.stripes);
        long sectors = sectorBytes(material);
        if (area.byteSize() < sectors || area.byteSize() > p.areaSize) {
            throw new Luks2FormatException("keyslot area: " + area.byteSize() + " bytes given; this keyslot needs "
                    + sectors + " .. " + p.areaSize);
        }
        checkPolicy(p.kdf, policy);
        byte[] password = utf8(passphrase);
        byte[] areaKey = new byte[p.areaKeyBytes];
        try (Arena scratch = Arena.ofConfined()) {
            derive(p.kdf, p.kdfHash, p.time, p.memoryKiB, p.parallel, p.iterations, password, p.salt, areaKey, policy);
            MemorySegment plain = scratch.allocate(sectors, 64);
            try {
                try (XtsKey key = xtsKey(areaKey)) {
                    SectorCipher.of(key).decrypt(area.asSlice(0, sectors), plain, 0, AREA_SECTOR);
                }
                return AfSplitter.merge(plain, p.keyBytes, p.stripes, p.afHash.luksName, arena);
            } finally {
                plain.fill((byte) 0);
            }
        } finally {
            Arrays.fill(password, (byte) 0);
            Arrays.fill(areaKey, (byte) 0);
        }
    }

    /**
     * Opens a keyslot and checks the key against its digest (LUKS2 on-disk format 4.3), with
     * {@link KdfLimits#DEFAULT}.
     *
     * @return the volume key, in {@code arena}
     * @throws WrongPassphraseException if the key opened does not match {@code digest}
     * @throws Luks2FormatException     as {@link #open(JsonNode, MemorySegment, char[], CryptoPolicy, KdfLimits, Arena)}
     */
    public static MemorySegment unlock(JsonNode keyslot, MemorySegment area, char[] passphrase, Luks2Digest digest,
            CryptoPolicy policy, Arena arena) throws WrongPassphraseException {
        Objects.requireNonNull(digest, "digest");
        try (Arena scratch = Arena.ofConfined()) {
            MemorySegment candidate = open(keyslot, area, passphrase, policy, KdfLimits.DEFAULT, scratch);
            try {
                if (!digest.matches(candidate, policy)) {
                    throw new WrongPassphraseException("the passphrase does not open this keyslot");
                }
                MemorySegment key = arena.allocate(candidate.byteSize(), 64);
                key.copyFrom(candidate);
                return key;
            } finally {
                candidate.fill((byte) 0);
            }
        }
    }

    @Override
    public String toString() {
        return "PassphraseKeyslot[" + json.path("kdf").path("type").asText() + ", area "
                + json.path("area").path("offset").asText() + "+" + area.length + "]";
    }

    // ---- parsing -------------------------------------------------------------------------

    /** A keyslot's fields, all checked. */
    private record Parsed(int keyBytes, int stripes, Luks2Hash afHash, long areaOffset, long areaSize,
            int areaKeyBytes, KdfParameters.Type kdf, Luks2Hash kdfHash, int time, int memoryKiB, int parallel,
            long iterations, byte[] salt) {
    }

    /** One validator for the whole keyslot, cheapest checks first (type, sizes, then the KDF's costs). */
    private static Parsed parse(JsonNode keyslot, KdfLimits limits) {
        Objects.requireNonNull(limits, "limits");
        String where = "keyslot";
        if (keyslot == null || !keyslot.isObject()) {
            throw new Luks2FormatException("a keyslot must be a JSON object");
        }
        // Section 3.2.1: only the luks2 type holds a key behind a passphrase.
        Luks2Json.expect(keyslot, "type", where, "luks2");
        int keyBytes = keySize(keyslot, "key_size", where);
        if (keyslot.has("priority")) {
            // Section 3.2: 0 ignore, 1 normal, 2 high.
            Luks2Json.integer(keyslot, "priority", where, 0, 2);
        }

        // Section 3.2.4: the luks1 AF type, 4000 stripes only.
        String afWhere = where + ".af";
        JsonNode af = Luks2Json.object(keyslot, "af", where);
        Luks2Json.expect(af, "type", afWhere, "luks1");
        int stripes = (int) Luks2Json.integer(af, "stripes", afWhere, AfSplitter.LUKS_STRIPES,
                AfSplitter.LUKS_STRIPES);
        Luks2Hash afHash = Luks2Hash.of(Luks2Json.string(af, "hash", afWhere), afWhere + ".hash");

        // Section 3.2.3: a raw area; we decrypt aes-xts-plain64 only (cryptsetup's default).
        String areaWhere = where + ".area";
        JsonNode area = Luks2Json.object(keyslot, "area", where);
        Luks2Json.expect(area, "type", areaWhere, "raw");
        Luks2Json.expect(area, "encryption", areaWhere, AREA_ENCRYPTION);
        int areaKeyBytes = keySize(area, "key_size", areaWhere);
        long offset = Luks2Json.uint64(area, "offset", areaWhere);
        long size = Luks2Json.uint64(area, "size", areaWhere);
        if (offset % AREA_ALIGNMENT != 0 || size % AREA_ALIGNMENT != 0) {
            throw new Luks2FormatException(areaWhere + ": offset and size must be multiples of " + AREA_ALIGNMENT);
        }
        long needed = areaSize(keyBytes);
        if (size < needed || size > MAX_AREA_BYTES) {
            throw new Luks2FormatException(areaWhere + ".size is " + size + "; a " + keyBytes + "-byte key in "
                    + stripes + " stripes needs " + needed + " .. " + MAX_AREA_BYTES);
        }
        if (offset > Long.MAX_VALUE - size) {
            throw new Luks2FormatException(areaWhere + ": offset + size overflows");
        }

        // Section 3.2.5, with cryptsetup's limits and the reader's.
        String kdfWhere = where + ".kdf";
        JsonNode kdfNode = Luks2Json.object(keyslot, "kdf", where);
        KdfParameters.Type kdf = KdfParameters.Type.ofJson(Luks2Json.string(kdfNode, "type", kdfWhere), kdfWhere);
        Luks2Hash kdfHash = null;
        int time = 0;
        int memoryKiB = 0;
        int parallel = 0;
        long iterations = 0;
        if (kdf.isArgon2()) {
            time = (int) Luks2Json.integer(kdfNode, "time", kdfWhere, KdfParameters.MIN_ARGON2_TIME,
                    Integer.MAX_VALUE);
            memoryKiB = (int) Luks2Json.integer(kdfNode, "memory", kdfWhere, KdfParameters.MIN_ARGON2_MEMORY_KIB,
                    Math.min(KdfParameters.MAX_ARGON2_MEMORY_KIB, limits.maxArgon2MemoryKiB()));
            parallel = (int) Luks2Json.integer(kdfNode, "cpus", kdfWhere, 1, limits.maxArgon2Parallel());
            if ((long) time * memoryKiB > limits.maxArgon2Work()) {
                throw new Luks2FormatException(kdfWhere + ": time " + time + " × memory " + memoryKiB
                        + " KiB exceeds the work limit " + limits.maxArgon2Work() + " (KdfLimits.maxArgon2Work)");
            }
        } else {
            kdfHash = Luks2Hash.of(Luks2Json.string(kdfNode, "hash", kdfWhere), kdfWhere + ".hash");
            iterations = Luks2Json.integer(kdfNode, "iterations", kdfWhere, KdfParameters.MIN_PBKDF2_ITERATIONS,
                    limits.maxPbkdf2Iterations());
        }
        byte[] salt = Luks2Json.base64(kdfNode, "salt", kdfWhere, MIN_SALT_BYTES, MAX_SALT_BYTES);
        return new Parsed(keyBytes, stripes, afHash, offset, size, areaKeyBytes, kdf, kdfHash, time, memoryKiB,
                parallel, iterations, salt);
    }

    /** A key size: 32 or 64 bytes (XTS-AES-128 or -256, IEEE 1619 5.1). */
    private static int keySize(JsonNode parent, String field, String where) {
        int n = (int) Luks2Json.integer(parent, field, where, 32, 64);
        if (n != 32 && n != 64) {
            throw new Luks2FormatException(where + "." + field + " is " + n + "; 32 or 64 bytes are supported");
        }
        return n;
    }

    // ---- the work ----------------------------------------------------------------------

    private static void checkPolicy(KdfParameters.Type kdf, CryptoPolicy policy) {
        if (kdf.isArgon2() && policy.isFips()) {
            throw new IllegalStateException("this keyslot uses " + kdf.jsonName() + ", which FIPS mode does not"
                    + " approve (SP 800-132 names PBKDF2 only); use a pbkdf2 keyslot, or the DEFAULT crypto policy");
        }
    }

    /** The passphrase KDF into {@code out} (the area key). */
    private static void derive(KdfParameters.Type kdf, Luks2Hash hash, int time, int memoryKiB, int parallel,
            long iterations, byte[] password, byte[] salt, byte[] out, CryptoPolicy policy) {
        if (kdf == KdfParameters.Type.PBKDF2) {
            // BCFIPS refuses HMAC keys under 112 bits in approved mode (SP 800-131A Rev. 2, SP 800-132
            // via SP 800-107): say so before it throws its own exception from inside the PRF.
            if (policy.isFips() && password.length < MIN_FIPS_PASSPHRASE_BYTES) {
                throw new IllegalArgumentException("FIPS mode needs a keyslot passphrase of at least "
                        + MIN_FIPS_PASSPHRASE_BYTES + " bytes (112 bits, SP 800-131A); open a keyslot with a shorter"
                        + " one under the DEFAULT crypto policy");
            }
            Pbkdf2.derive(policy, hash, password, salt, iterations, out);
            return;
        }
        checkHeap(memoryKiB);
        Argon2.Type type = kdf == KdfParameters.Type.ARGON2ID ? Argon2.Type.ARGON2ID : Argon2.Type.ARGON2I;
        Argon2.derive(type, password, salt, time, memoryKiB, parallel, out);
    }

    /**
     * Bouncy Castle's Argon2 holds its memory on the Java heap (1 KiB blocks plus about 3 %):
     * refuse up front, with the fix, rather than fail with an OutOfMemoryError half way.
     */
    private static void checkHeap(int memoryKiB) {
        Runtime rt = Runtime.getRuntime();
        long needed = memoryKiB * 1024L / 100 * 104;
        long available = rt.maxMemory() - (rt.totalMemory() - rt.freeMemory());
        if (needed > available) {
            throw new IllegalStateException("Argon2 with " + memoryKiB / 1024 + " MiB needs about " + needed / (1 << 20)
                    + " MiB of free Java heap; " + available / (1 << 20) + " MiB are available: raise -Xmx");
        }
    }

    private static XtsKey xtsKey(byte[] areaKey) {
        return XtsKey.of(MemorySegment.ofArray(areaKey));
    }

    /** {@code bytes} rounded up to whole 512-byte sectors. */
    private static long sectorBytes(long bytes) {
        return (bytes + AREA_SECTOR - 1) / AREA_SECTOR * AREA_SECTOR;
    }

    /** The passphrase's UTF-8 bytes, as cryptsetup reads them from a UTF-8 terminal or key file. */
    private static byte[] utf8(char[] passphrase) {
        Objects.requireNonNull(passphrase, "passphrase");
        if (passphrase.length == 0) {
            throw new IllegalArgumentException("the passphrase is empty");
        }
        ByteBuffer encoded;
        try {
            encoded = StandardCharsets.UTF_8.newEncoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .encode(CharBuffer.wrap(passphrase));
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("the passphrase is not valid text (an unpaired surrogate)");
        }
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        if (encoded.hasArray()) {
            Arrays.fill(encoded.array(), (byte) 0);
        }
        return bytes;
    }

    private static ObjectNode toJson(int keyBytes, KdfParameters kdf, byte[] salt, long areaOffset, long areaSize) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode slot = f.objectNode();
        slot.put("type", "luks2");
        slot.put("key_size", keyBytes);
        ObjectNode af = slot.putObject("af");
        af.put("type", "luks1");
        af.put("stripes", AfSplitter.LUKS_STRIPES);
        af.put("hash", AF_HASH);
        ObjectNode area = slot.putObject("area");
        area.put("type", "raw");
        area.put("offset", Long.toString(areaOffset));
        area.put("size", Long.toString(areaSize));
        area.put("encryption", AREA_ENCRYPTION);
        area.put("key_size", AREA_KEY_BYTES);
        ObjectNode k = slot.putObject("kdf");
        k.put("type", kdf.type().jsonName());
        if (kdf.type().isArgon2()) {
            k.put("time", kdf.time());
            k.put("memory", kdf.memoryKiB());
            k.put("cpus", kdf.parallel());
        } else {
            k.put("hash", "sha256");
            k.put("iterations", kdf.iterations());
        }
        k.put("salt", Base64.getEncoder().encodeToString(salt));
        return slot;
    }
}
