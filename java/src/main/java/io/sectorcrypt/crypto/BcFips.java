package io.sectorcrypt.crypto;

import java.nio.charset.StandardCharsets;
import java.security.Provider;
import java.security.SecureRandom;
import java.security.Security;
import org.bouncycastle.crypto.CryptoServicesRegistrar;
import org.bouncycastle.crypto.fips.FipsDRBG;
import org.bouncycastle.crypto.util.BasicEntropySourceProvider;
import org.bouncycastle.jcajce.provider.BouncyCastleFipsProvider;

/**
 * The Bouncy Castle FIPS module, set up once per JVM in approved-only mode. The only class
 * of the library that names a BCFIPS type, so that the library runs without bc-fips on the
 * class path until FIPS mode or scrypt is asked for; its methods return JDK types only.
 */
final class BcFips {
    /** BCFIPS reads this property once, when its registrar class loads: it is JVM-global. */
    static final String APPROVED_ONLY_PROPERTY = "org.bouncycastle.fips.approved_only";

    private static final Provider PROVIDER;
    private static final SecureRandom DRBG;

    static {
        if (System.getProperty(APPROVED_ONLY_PROPERTY) == null) {
            System.setProperty(APPROVED_ONLY_PROPERTY, "true");
        }
        if (!CryptoServicesRegistrar.isInApprovedOnlyMode()) {
            throw new IllegalStateException("FIPS mode needs Bouncy Castle FIPS in approved-only mode, but this JVM"
                    + " started it without (-D" + APPROVED_ONLY_PROPERTY + "=" + System.getProperty(APPROVED_ONLY_PROPERTY)
                    + ", or bc-fips was used before SectorCrypt); start the JVM with -D" + APPROVED_ONLY_PROPERTY
                    + "=true");
        }
        // In approved-only mode every key generator draws from the registrar's DRBG and fails
        // without one: an HMAC_DRBG over SHA-512 (SP 800-90A Rev. 1, 10.1.2) at 256-bit
        // strength, seeded from the platform's entropy source, with prediction resistance off
        // (it reseeds on its own schedule, SP 800-90A 9.3).
        SecureRandom drbg = FipsDRBG.SHA512_HMAC
                .fromEntropySource(new BasicEntropySourceProvider(new SecureRandom(), true))
                .setSecurityStrength(256)
                .setEntropyBitsRequired(256)
                .build(nonce(), false, "io.sectorcrypt".getBytes(StandardCharsets.US_ASCII));
        CryptoServicesRegistrar.setSecureRandom(drbg);
        DRBG = drbg;
        PROVIDER = new BouncyCastleFipsProvider();
        // Installed last, so the JDK's preference order is unchanged, and so the XTS data path
        // can name it: -Dsectorcrypt.java.aes.provider=BCFIPS (see JavaXts).
        if (Security.getProvider(PROVIDER.getName()) == null) {
            Security.addProvider(PROVIDER);
        }
    }

    private BcFips() {
    }

    static Provider provider() {
        return PROVIDER;
    }

    static SecureRandom drbg() {
        return DRBG;
    }

    /** A DRBG instantiation nonce (SP 800-90A 8.6.7): time and process make it unique per start. */
    private static byte[] nonce() {
        long now = System.nanoTime() ^ System.currentTimeMillis();
        long pid = ProcessHandle.current().pid();
        byte[] nonce = new byte[16];
        for (int i = 0; i < 8; i++) {
            nonce[i] = (byte) (now >>> (8 * i));
            nonce[8 + i] = (byte) (pid >>> (8 * i));
        }
        return nonce;
    }
}
