package io.sectorcrypt.hctr2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import io.sectorcrypt.crypto.CryptoPolicy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * HCTR2 composed on Bouncy Castle FIPS's approved AES, as the pure-Java XTS engine can be
 * ({@value io.sectorcrypt.xts.JdkAes#PROVIDER_PROPERTY}=BCFIPS). HCTR2 itself is not an approved mode;
 * this shows only that the AES under it can come from the validated module. Runs in the
 * FIPS surefire execution (BCFIPS approved-only, its own JVM).
 */
@Tag("fips-only")
class Hctr2OnBcFipsTest {

    @AfterEach
    void clear() {
        System.clearProperty(io.sectorcrypt.xts.JdkAes.PROVIDER_PROPERTY);
    }

    @Test
    void vectorsOnBcFipsAes() {
        CryptoPolicy.FIPS.start();
        System.setProperty(io.sectorcrypt.xts.JdkAes.PROVIDER_PROPERTY, "BCFIPS");
        for (Hctr2Vectors.Vector v : Hctr2VectorTest.hctr2().toList()) {
            try (Hctr2Key key = Hctr2Key.of(v.key())) {
                Hctr2 hctr2 = Hctr2.of(key, Hctr2Engine.JAVA, io.sectorcrypt.xts.IvConvention.PLAIN64);
                byte[] out = new byte[v.in().length];
                hctr2.encrypt(v.tweak(), v.in(), 0, out, 0, out.length);
                assertArrayEquals(v.out(), out, v.name());
                hctr2.decrypt(v.tweak(), out, 0, out, 0, out.length);
                assertArrayEquals(v.in(), out, v.name());
            }
        }
    }
}
