package io.sectorcrypt.crypto;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;

/**
 * How a 256-bit key is derived from a passphrase, with every parameter needed to derive it
 * again (they are stored beside what the key protects):
 * <ul>
 * <li>{@link Algorithm#SCRYPT} (RFC 7914): memory-hard, 128 · r · N bytes of memory per
 * derivation (128 MiB at the default N = 2^17, r = 8); the DEFAULT policy's choice.
 * <li>{@link Algorithm#PBKDF2_HMAC_SHA512} (SP 800-132): the FIPS policy's choice, since scrypt
 * is not an approved function; not memory-hard, so its iteration count is high.
 * </ul>
 */
public record PassphraseKdf(Algorithm algorithm, byte[] salt, int cost, int blockSize, int parallelism) {
    /** The functions, with their stable codes for stored parameters. */
    public enum Algorithm {
        SCRYPT(1), PBKDF2_HMAC_SHA512(2);

        private final int code;

        Algorithm(int code) {
            this.code = code;
        }

        public int code() {
            return code;
        }

        public static Algorithm ofCode(int code) {
            for (Algorithm a : values()) {
                if (a.code == code) {
                    return a;
                }
            }
            throw new IllegalArgumentException("unknown passphrase KDF code " + code);
        }
    }

    /** scrypt N = 2^17, r = 8, p = 1: 128 MiB and about half a second on one core. */
    public static final int DEFAULT_SCRYPT_COST = 1 << 17;
    /** The smallest scrypt N accepted (16 MiB), so tests can be quick but never trivial. */
    public static final int MIN_SCRYPT_COST = 1 << 14;
    /** PBKDF2-HMAC-SHA-512 iterations: OWASP's 2023 figure for this PRF. */
    public static final int DEFAULT_PBKDF2_ITERATIONS = 210_000;
    /** SP 800-132 5.1: at least 128 bits of salt; we take 256. */
    public static final int SALT_BYTES = 32;
    /** BCFIPS refuses PBKDF2 passwords under 112 bits (SP 800-132 via SP 800-131A). */
    public static final int MIN_FIPS_PASSPHRASE_CHARS = 14;

    public PassphraseKdf {
        Objects.requireNonNull(algorithm, "algorithm");
        salt = salt.clone();
        if (salt.length < 16) {
            throw new IllegalArgumentException("a passphrase KDF salt must be at least 16 bytes (SP 800-132 5.1)");
        }
        if (algorithm == Algorithm.SCRYPT) {
            if (cost < MIN_SCRYPT_COST || Integer.bitCount(cost) != 1) {
                throw new IllegalArgumentException("scrypt N must be a power of two of at least " + MIN_SCRYPT_COST
                        + ", not " + cost);
            }
            if (blockSize < 1 || blockSize > 32 || parallelism < 1 || parallelism > 16) {
                throw new IllegalArgumentException("scrypt r must be 1..32 and p 1..16");
            }
        } else if (cost < 100_000) {
            throw new IllegalArgumentException("PBKDF2 needs at least 100000 iterations, not " + cost);
        }
    }

    /** The policy's KDF with a fresh salt from its DRBG. */
    public static PassphraseKdf forPolicy(CryptoPolicy policy, int scryptCost) {
        byte[] salt = new byte[SALT_BYTES];
        policy.randomBytes(salt);
        return policy.isFips() ? new PassphraseKdf(Algorithm.PBKDF2_HMAC_SHA512, salt, DEFAULT_PBKDF2_ITERATIONS, 0, 0)
                : new PassphraseKdf(Algorithm.SCRYPT, salt, scryptCost, 8, 1);
    }

    @Override
    public byte[] salt() {
        return salt.clone();
    }

    /** Derives 32 bytes; the caller zeroes them. */
    byte[] derive(char[] passphrase, CryptoPolicy policy) {
        Objects.requireNonNull(passphrase, "passphrase");
        if (passphrase.length == 0) {
            throw new IllegalArgumentException("the passphrase is empty");
        }
        byte[] out = new byte[32];
        if (algorithm == Algorithm.SCRYPT) {
            if (policy.isFips()) {
                throw new IllegalStateException("this key was protected with scrypt, which FIPS mode does not approve;"
                        + " open it with the DEFAULT crypto policy");
            }
            byte[] password = utf8(passphrase);
            try {
                BcScrypt.derive(password, salt, cost, blockSize, parallelism, out);
            } catch (NoClassDefFoundError e) {
                throw new IllegalStateException("passphrase protection uses scrypt from Bouncy Castle: add"
                        + " org.bouncycastle:bc-fips:2.1.3 to the class path, or use a key file", e);
            } finally {
                Arrays.fill(password, (byte) 0);
            }
            return out;
        }
        if (policy.isFips() && passphrase.length < MIN_FIPS_PASSPHRASE_CHARS) {
            throw new IllegalArgumentException("FIPS mode needs a passphrase of at least " + MIN_FIPS_PASSPHRASE_CHARS
                    + " characters (112 bits, SP 800-132 and SP 800-131A)");
        }
        PBEKeySpec spec = new PBEKeySpec(passphrase, salt, cost, 256);
        try {
            SecretKeyFactory factory = policy.isFips()
                    ? SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512", CryptoPolicy.fipsProvider())
                    : SecretKeyFactory.getInstance("PBKDF2WithHmacSHA512");
            byte[] derived = factory.generateSecret(spec).getEncoded();
            System.arraycopy(derived, 0, out, 0, 32);
            Arrays.fill(derived, (byte) 0);
            return out;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(policy + ": PBKDF2 is unavailable: " + e.getMessage(), e);
        } finally {
            spec.clearPassword();
        }
    }

    private static byte[] utf8(char[] chars) {
        ByteBuffer encoded = StandardCharsets.UTF_8.encode(CharBuffer.wrap(chars));
        byte[] bytes = new byte[encoded.remaining()];
        encoded.get(bytes);
        if (encoded.hasArray()) {
            Arrays.fill(encoded.array(), (byte) 0);
        }
        return bytes;
    }

    @Override
    public String toString() {
        return "PassphraseKdf[" + algorithm + ", cost " + cost + "]";
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PassphraseKdf k && k.algorithm == algorithm && Arrays.equals(k.salt, salt)
                && k.cost == cost && k.blockSize == blockSize && k.parallelism == parallelism;
    }

    @Override
    public int hashCode() {
        return Objects.hash(algorithm, Arrays.hashCode(salt), cost, blockSize, parallelism);
    }
}
