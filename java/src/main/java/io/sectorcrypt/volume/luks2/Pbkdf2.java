package io.sectorcrypt.volume.luks2;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.crypto.DestroyableKey;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.ShortBufferException;

/**
 * PBKDF2 (RFC 8018 section 5.2) with HMAC over a {@link Luks2Hash}, for a password of any
 * bytes. The JDK's {@code PBEKeySpec} carries a {@code char[]} and so cannot take the binary
 * volume key the LUKS2 digest stretches; this computes the construction over
 * {@link javax.crypto.Mac} instead, from the policy's provider: the JDK's under
 * {@link CryptoPolicy#DEFAULT}, Bouncy Castle FIPS' approved HMAC under {@link CryptoPolicy#FIPS}.
 */
final class Pbkdf2 {
    /** The JCA name BCFIPS registers under once {@link CryptoPolicy#start()} has installed it. */
    private static final String BCFIPS = "BCFIPS";

    private Pbkdf2() {
    }

    /**
     * Fills {@code out} with PBKDF2-HMAC-{@code hash}(password, salt, iterations). The caller
     * bounds {@code iterations} and zeroes {@code password} and {@code out}.
     */
    static void derive(CryptoPolicy policy, Luks2Hash hash, byte[] password, byte[] salt, long iterations,
            byte[] out) {
        if (iterations < 1 || out.length == 0) {
            throw new IllegalArgumentException("PBKDF2 needs at least one iteration and one output byte");
        }
        DestroyableKey key = new DestroyableKey(password, hash.macAlgorithm);
        byte[] u = new byte[hash.length];
        byte[] t = new byte[hash.length];
        try {
            Mac mac = mac(policy, hash);
            mac.init(key);
            int blocks = (out.length + hash.length - 1) / hash.length;
            for (int block = 1; block <= blocks; block++) {
                // U_1 = PRF(P, S || INT(i)); U_j = PRF(P, U_{j-1}); T_i = U_1 ^ ... ^ U_c (RFC 8018 5.2 step 3)
                mac.update(salt);
                mac.update((byte) (block >>> 24));
                mac.update((byte) (block >>> 16));
                mac.update((byte) (block >>> 8));
                mac.update((byte) block);
                mac.doFinal(u, 0);
                System.arraycopy(u, 0, t, 0, u.length);
                for (long j = 1; j < iterations; j++) {
                    mac.update(u);
                    mac.doFinal(u, 0);
                    for (int k = 0; k < u.length; k++) {
                        t[k] ^= u[k];
                    }
                }
                int offset = (block - 1) * hash.length;
                System.arraycopy(t, 0, out, offset, Math.min(hash.length, out.length - offset));
            }
        } catch (ShortBufferException e) {
            throw new AssertionError(e);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(policy + ": PBKDF2-" + hash.macAlgorithm + " is unavailable: "
                    + e.getMessage(), e);
        } finally {
            key.destroy();
            Arrays.fill(u, (byte) 0);
            Arrays.fill(t, (byte) 0);
        }
    }

    private static Mac mac(CryptoPolicy policy, Luks2Hash hash) throws GeneralSecurityException {
        if (!policy.isFips()) {
            return Mac.getInstance(hash.macAlgorithm);
        }
        policy.start();
        Provider bcfips = Security.getProvider(BCFIPS);
        if (bcfips == null) {
            throw new IllegalStateException("FIPS mode started but the " + BCFIPS + " provider is not installed");
        }
        return Mac.getInstance(hash.macAlgorithm, bcfips);
    }
}
