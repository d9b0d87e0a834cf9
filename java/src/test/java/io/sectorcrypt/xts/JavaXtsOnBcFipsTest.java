package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.xts.Vectors.Vector;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * FIPS mode's second data path: XTS composed by the Java engine on Bouncy Castle FIPS's
 * approved AES. Runs in the FIPS surefire execution (BCFIPS approved-only, its own JVM).
 */
@Tag("fips-only")
class JavaXtsOnBcFipsTest {

    @AfterEach
    void clear() {
        System.clearProperty(JdkAes.PROVIDER_PROPERTY);
    }

    @Test
    void ieee1619VectorsOnBcFipsAes() {
        CryptoPolicy.FIPS.start();
        System.setProperty(JdkAes.PROVIDER_PROPERTY, "BCFIPS");
        for (Vector v : Vectors.lineFormat("ieee1619/ieee1619-xts.txt")) {
            boolean equalHalves = Arrays.equals(v.key(), 0, v.key().length / 2, v.key(), v.key().length / 2,
                    v.key().length);
            try (XtsKey key = equalHalves ? XtsKey.ofKnownAnswerVector(v.key()) : XtsKey.of(v.key())) {
                SectorCipher xts = SectorCipher.of(key, Engine.JAVA);
                byte[] out = new byte[v.plain().length];
                xts.encryptUnit(v.tweak(), v.plain(), 0, out, 0, out.length);
                assertArrayEquals(v.cipher(), out, v.name());
                xts.decryptUnit(v.tweak(), out, 0, out, 0, out.length);
                assertArrayEquals(v.plain(), out, v.name());
                JavaXts.Schedule schedule = key.javaSchedules().take();
                assertEquals("BCFIPS", schedule.aesProvider());
                assertEquals("BCFIPS", schedule.cbcProvider());
                key.javaSchedules().give(schedule);
            }
        }
    }
}
