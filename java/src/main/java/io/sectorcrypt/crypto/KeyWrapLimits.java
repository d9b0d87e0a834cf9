package io.sectorcrypt.crypto;

/**
 * The lengths a key wrap accepts and produces, written once: {@link CryptoPolicy} checks them
 * before it calls any provider, in both policies, and vaults that wrap elsewhere (a PKCS#11
 * token) check the same rules with the same messages. Every check throws
 * {@link IllegalArgumentException} naming the rule and the length it got; none names a byte.
 *
 * <ul>
 *   <li>AES-KWP (RFC 5649 section 4.1, SP 800-38F KWP): the key to wrap is 1 to 2^32-1 bytes;
 *       the wrapped output is a multiple of 8 bytes and at least 16 (the 8-byte alternative
 *       IV and at least one padded block); the key-encryption key is an AES key, 16, 24 or
 *       32 bytes.</li>
 *   <li>RSA-OAEP (RFC 8017 section 7.1): for a modulus of k bytes and a hash of hLen bytes the
 *       key to wrap is 1 to k - 2 hLen - 2 bytes (an empty key is nothing to wrap); the
 *       wrapped output is exactly k bytes.</li>
 * </ul>
 */
public final class KeyWrapLimits {
    /** RFC 5649: the shortest key AES-KWP wraps. */
    public static final long KWP_MIN_KEY_BYTES = 1;
    /** RFC 5649: the longest key AES-KWP wraps (its length field is 32 bits). */
    public static final long KWP_MAX_KEY_BYTES = 0xFFFF_FFFFL;
    /** RFC 5649: the shortest AES-KWP output, one 8-byte semiblock of IV and one of padded key. */
    public static final int KWP_MIN_WRAPPED_BYTES = 16;
    /** RFC 5649 / RFC 3394: AES-KWP output comes in 8-byte semiblocks. */
    public static final int KWP_SEMIBLOCK_BYTES = 8;
    /** SHA-256's output, RSA-OAEP-256's hLen. */
    public static final int SHA256_BYTES = 32;
    /** SHA-1's output, RSA-OAEP's (SHA-1) hLen. */
    public static final int SHA1_BYTES = 20;

    private KeyWrapLimits() {
    }

    /** Refuses a key-encryption key that is not an AES key (16, 24 or 32 bytes). */
    public static void checkKwpKek(long kekLength) {
        if (kekLength != 16 && kekLength != 24 && kekLength != 32) {
            throw new IllegalArgumentException("an AES-KWP key-encryption key is 16, 24 or 32 bytes (AES), not "
                    + kekLength + " bytes");
        }
    }

    /** Refuses a key that AES-KWP cannot wrap: RFC 5649 takes 1 to 2^32-1 bytes. */
    public static void checkKwpKey(long keyLength) {
        if (keyLength < KWP_MIN_KEY_BYTES || keyLength > KWP_MAX_KEY_BYTES) {
            throw new IllegalArgumentException("AES-KWP (RFC 5649) wraps a key of 1 to 4294967295 bytes, not "
                    + keyLength + " bytes");
        }
    }

    /** Refuses bytes that cannot be AES-KWP output: a multiple of 8 bytes, at least 16. */
    public static void checkKwpWrapped(long wrappedLength) {
        if (wrappedLength < KWP_MIN_WRAPPED_BYTES || wrappedLength % KWP_SEMIBLOCK_BYTES != 0) {
            throw new IllegalArgumentException("AES-KWP (RFC 5649) output is a multiple of 8 bytes and at least 16,"
                    + " not " + wrappedLength + " bytes");
        }
    }

    /**
     * Refuses an unwrapped key that AES-KWP output of {@code wrappedLength} bytes cannot hold:
     * RFC 5649 pads a key of L bytes to the next multiple of 8 (at least 8) and adds 8, so 16
     * bytes hold 1 to 8 bytes of key, and W &gt; 16 bytes hold W - 15 to W - 8. For an unwrap
     * done outside the JCA (a token), to check what it returned against what was wrapped.
     */
    public static void checkKwpUnwrapped(long keyLength, long wrappedLength) {
        checkKwpWrapped(wrappedLength);
        long most = wrappedLength - KWP_SEMIBLOCK_BYTES;
        long least = wrappedLength == KWP_MIN_WRAPPED_BYTES ? 1 : most - KWP_SEMIBLOCK_BYTES + 1;
        if (keyLength < least || keyLength > most) {
            throw new IllegalArgumentException("AES-KWP (RFC 5649) output of " + wrappedLength + " bytes holds a key of "
                    + least + " to " + most + " bytes, not " + keyLength + " bytes");
        }
    }

    /** The longest key RSA-OAEP wraps under a modulus of {@code modulusBits} with a hash of {@code hashBytes}. */
    public static long oaepMaxKeyBytes(int modulusBits, int hashBytes) {
        return modulusBytes(modulusBits) - 2L * hashBytes - 2;
    }

    /**
     * Refuses a key that RSA-OAEP cannot wrap under this modulus and hash.
     *
     * @param algorithm the name in the message, e.g. "RSA-OAEP-256"
     */
    public static void checkOaepKey(String algorithm, int modulusBits, int hashBytes, long keyLength) {
        long max = oaepMaxKeyBytes(modulusBits, hashBytes);
        if (keyLength < 1 || keyLength > max) {
            throw new IllegalArgumentException(algorithm + " (RFC 8017 7.1) under a " + modulusBits + "-bit RSA key"
                    + " wraps a key of 1 to " + max + " bytes, not " + keyLength + " bytes");
        }
    }

    /** Refuses bytes that cannot be RSA-OAEP output under this modulus: exactly its length. */
    public static void checkOaepWrapped(String algorithm, int modulusBits, long wrappedLength) {
        long k = modulusBytes(modulusBits);
        if (wrappedLength != k) {
            throw new IllegalArgumentException(algorithm + " (RFC 8017 7.1) output under a " + modulusBits + "-bit RSA"
                    + " key is " + k + " bytes (the modulus length), not " + wrappedLength + " bytes");
        }
    }

    private static long modulusBytes(int modulusBits) {
        return (modulusBits + 7L) / 8;
    }
}
