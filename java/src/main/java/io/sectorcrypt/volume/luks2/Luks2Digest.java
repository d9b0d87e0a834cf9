package io.sectorcrypt.volume.luks2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.crypto.CryptoPolicy;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.Objects;

/**
 * A LUKS2 {@code pbkdf2} digest of a volume key (LUKS2 on-disk format, section 3.4): the
 * value {@code PBKDF2-HMAC-hash(password = the binary volume key, salt, iterations)}, by
 * which a key opened from a keyslot is known to be the right one (section 4.3).
 *
 * <p>New digests use SHA-256, a 32-byte salt and a 32-byte digest, as cryptsetup writes them,
 * and {@value #ITERATIONS} iterations. cryptsetup benchmarks the count (aiming at 125 ms,
 * never below 1000); we fix it at that floor on purpose: stretching slows guessing of a
 * low-entropy secret, but the input here is a random volume key of 256 or 512 bits, which no
 * count of iterations makes more or less guessable; a higher count would only slow every
 * unlock. Digests read from a header may use sha1 (converted from LUKS1, 20-byte digest),
 * sha256 or sha512, with iterations up to the reader's {@link KdfLimits}.
 *
 * <p>Neither salt nor digest is secret (both sit in the header in clear); the volume key never
 * leaves the caller's segment except as a transient, zeroed HMAC key.
 */
public final class Luks2Digest {
    /** PBKDF2 iterations of new digests: cryptsetup's floor (see the class comment for why). */
    public static final int ITERATIONS = 1000;
    /** Salt bytes of new digests, as cryptsetup ({@code LUKS_SALTSIZE}). */
    public static final int SALT_BYTES = 32;
    /** The longest digest read: a SHA-512 output. */
    private static final int MAX_DIGEST_BYTES = 64;
    /** The shortest digest read: LUKS1's 20 bytes ({@code LUKS_DIGESTSIZE}), kept by conversion. */
    private static final int MIN_DIGEST_BYTES = 20;
    /** Volume keys this class digests: 1 .. 512 bytes. */
    private static final int MAX_KEY_BYTES = 512;

    private final Luks2Hash hash;
    private final long iterations;
    private final byte[] salt;
    private final byte[] digest;

    private Luks2Digest(Luks2Hash hash, long iterations, byte[] salt, byte[] digest) {
        this.hash = hash;
        this.iterations = iterations;
        this.salt = salt;
        this.digest = digest;
    }

    /**
     * Digests a volume key: PBKDF2-HMAC-SHA256, {@value #ITERATIONS} iterations, a fresh salt
     * from the policy's DRBG, HMAC from the policy's provider (BCFIPS under FIPS).
     *
     * @param volumeKey 1 .. 512 bytes, on or off the heap; read, not kept
     * @throws IllegalArgumentException if the key is empty or longer than 512 bytes
     */
    public static Luks2Digest create(MemorySegment volumeKey, CryptoPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        checkKey(volumeKey);
        byte[] salt = new byte[SALT_BYTES];
        policy.randomBytes(salt);
        byte[] out = new byte[Luks2Hash.SHA256.length];
        compute(policy, Luks2Hash.SHA256, volumeKey, salt, ITERATIONS, out);
        return new Luks2Digest(Luks2Hash.SHA256, ITERATIONS, salt, out);
    }

    /** Reads a digest object with {@link KdfLimits#DEFAULT}. */
    public static Luks2Digest fromJson(JsonNode digestObject) {
        return fromJson(digestObject, KdfLimits.DEFAULT);
    }

    /**
     * Reads a digest object's type, hash, iterations, salt and digest, strictly (its
     * {@code keyslots} and {@code segments} bindings are the header reader's to check).
     *
     * @throws Luks2FormatException if the object is not a pbkdf2 digest this reader accepts:
     *         a field missing or mistyped, an unknown hash, iterations outside
     *         1000 .. {@code limits.maxPbkdf2Iterations()}, a salt outside 1 .. 64 bytes, a
     *         digest outside 20 bytes .. the hash's length
     */
    public static Luks2Digest fromJson(JsonNode digestObject, KdfLimits limits) {
        Objects.requireNonNull(limits, "limits");
        String where = "digest";
        if (digestObject == null || !digestObject.isObject()) {
            throw new Luks2FormatException(where + " must be a JSON object");
        }
        Luks2Json.expect(digestObject, "type", where, "pbkdf2");
        Luks2Hash hash = Luks2Hash.of(Luks2Json.string(digestObject, "hash", where), where + ".hash");
        long iterations = Luks2Json.integer(digestObject, "iterations", where, KdfParameters.MIN_PBKDF2_ITERATIONS,
                limits.maxPbkdf2Iterations());
        byte[] salt = Luks2Json.base64(digestObject, "salt", where, 1, 64);
        byte[] digest = Luks2Json.base64(digestObject, "digest", where, MIN_DIGEST_BYTES, hash.length);
        return new Luks2Digest(hash, iterations, salt, digest);
    }

    /**
     * The digest object as the header holds it (section 3.4), fields in cryptsetup's order:
     * {@code type, keyslots, segments, hash, iterations, salt, digest}.
     *
     * @param keyslots the keyslot ids bound to this digest (decimal strings)
     * @param segments the segment ids bound to this digest (decimal strings)
     */
    public ObjectNode toJson(List<String> keyslots, List<String> segments) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode o = f.objectNode();
        o.put("type", "pbkdf2");
        ArrayNode ks = o.putArray("keyslots");
        keyslots.forEach(ks::add);
        ArrayNode sg = o.putArray("segments");
        segments.forEach(sg::add);
        o.put("hash", hash.luksName);
        o.put("iterations", iterations);
        o.put("salt", Base64.getEncoder().encodeToString(salt));
        o.put("digest", Base64.getEncoder().encodeToString(digest));
        return o;
    }

    /** {@link #matches(MemorySegment, CryptoPolicy)} under {@link CryptoPolicy#configured()}. */
    public boolean matches(MemorySegment volumeKey) {
        return matches(volumeKey, CryptoPolicy.configured());
    }

    /**
     * Whether {@code volumeKey} is the key this digest was made of: PBKDF2 again, compared
     * in constant time ({@link MessageDigest#isEqual}), so timing reveals no matching prefix.
     *
     * @throws IllegalArgumentException if the key is empty or longer than 512 bytes
     */
    public boolean matches(MemorySegment volumeKey, CryptoPolicy policy) {
        Objects.requireNonNull(policy, "policy");
        checkKey(volumeKey);
        byte[] candidate = new byte[digest.length];
        try {
            compute(policy, hash, volumeKey, salt, iterations, candidate);
            return MessageDigest.isEqual(candidate, digest);
        } finally {
            Arrays.fill(candidate, (byte) 0);
        }
    }

    /** {@code sha1}, {@code sha256} or {@code sha512}. */
    public String hash() {
        return hash.luksName;
    }

    public long iterations() {
        return iterations;
    }

    /** A copy of the salt. */
    public byte[] salt() {
        return salt.clone();
    }

    /** A copy of the digest value. */
    public byte[] digest() {
        return digest.clone();
    }

    @Override
    public String toString() {
        return "Luks2Digest[pbkdf2-" + hash.luksName + ", " + iterations + " iterations]";
    }

    private static void checkKey(MemorySegment volumeKey) {
        Objects.requireNonNull(volumeKey, "volumeKey");
        if (volumeKey.byteSize() < 1 || volumeKey.byteSize() > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("a volume key is 1.." + MAX_KEY_BYTES + " bytes, not "
                    + volumeKey.byteSize());
        }
    }

    private static void compute(CryptoPolicy policy, Luks2Hash hash, MemorySegment volumeKey, byte[] salt,
            long iterations, byte[] out) {
        // The one heap copy of the key: the HMAC key, zeroed below (Pbkdf2 wipes its own copy).
        byte[] password = volumeKey.toArray(ValueLayout.JAVA_BYTE);
        try {
            Pbkdf2.derive(policy, hash, password, salt, iterations, out);
        } finally {
            Arrays.fill(password, (byte) 0);
        }
    }
}
