package io.sectorcrypt.volume.luks2;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/** PROVISIONAL (replaced by the keyslot work): LUKS2 pbkdf2 digest of a volume key. */
public record Luks2Digest(String hash, int iterations, byte[] salt, byte[] digest) {
    public static final int ITERATIONS = 1000;

    public static Luks2Digest create(MemorySegment volumeKey, CryptoPolicy policy) {
        byte[] salt = new byte[32];
        policy.randomBytes(salt);
        return new Luks2Digest("sha256", ITERATIONS, salt, pbkdf2(volumeKey, salt, ITERATIONS, 32));
    }

    public boolean matches(MemorySegment volumeKey) {
        return MessageDigest.isEqual(digest, pbkdf2(volumeKey, salt, iterations, digest.length));
    }

    private static byte[] pbkdf2(MemorySegment key, byte[] salt, int iterations, int length) {
        byte[] k = key.toArray(ValueLayout.JAVA_BYTE);
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(k, "HmacSHA256"));
            mac.update(salt);
            byte[] u = mac.doFinal(new byte[] {0, 0, 0, 1});
            byte[] t = u.clone();
            for (int i = 1; i < iterations; i++) {
                u = mac.doFinal(u);
                for (int j = 0; j < t.length; j++) {
                    t[j] ^= u[j];
                }
            }
            return Arrays.copyOf(t, length);
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        } finally {
            Arrays.fill(k, (byte) 0);
        }
    }
}
