package io.sectorcrypt.volume.luks2;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.argon2.Argon2;
import org.junit.jupiter.api.Test;

/**
 * Argon2's Bouncy Castle classes come relocated from sectorcrypt-argon2 and never under
 * bcprov's own names, so they cannot shadow bc-fips (which this test's class path carries too)
 * or be shadowed by it. Runs in the FIPS execution as well, with BCFIPS started.
 */
class Luks2Argon2IsolationTest {
    @Test
    void bcprovIsOnTheClassPathOnlyRelocated() throws Exception {
        assertThrows(ClassNotFoundException.class,
                () -> Class.forName("org.bouncycastle.crypto.generators.Argon2BytesGenerator"));
        assertThrows(ClassNotFoundException.class,
                () -> Class.forName("org.bouncycastle.crypto.digests.Blake2bDigest"));
        Class<?> relocated = Class.forName("io.sectorcrypt.shaded.bouncycastle.crypto.generators.Argon2BytesGenerator");
        String argon2Jar = Argon2.class.getProtectionDomain().getCodeSource().getLocation().toString();
        assertEquals(argon2Jar, relocated.getProtectionDomain().getCodeSource().getLocation().toString());
        assertTrue(argon2Jar.endsWith(".jar"), "the relocated classes come from the shaded jar, not " + argon2Jar);
        // A class name both jars once shared resolves to bc-fips' only.
        Class<?> shared = Class.forName("org.bouncycastle.util.Arrays");
        assertNotEquals(argon2Jar, shared.getProtectionDomain().getCodeSource().getLocation().toString());
        assertTrue(shared.getProtectionDomain().getCodeSource().getLocation().toString().contains("bc-fips"));
    }

    /** RFC 9106 has no vector without secret and associated data; cryptsetup is the oracle (see Luks2CryptsetupOracleTest). */
    @Test
    void argon2idIsDeterministicAndSaltSensitive() {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        byte[] c = new byte[32];
        Argon2.derive(Argon2.Type.ARGON2ID, "password".getBytes(), "somesaltsomesalt".getBytes(), 4, 32, 1, a);
        Argon2.derive(Argon2.Type.ARGON2ID, "password".getBytes(), "somesaltsomesalt".getBytes(), 4, 32, 1, b);
        Argon2.derive(Argon2.Type.ARGON2ID, "password".getBytes(), "somesaltsomesalT".getBytes(), 4, 32, 1, c);
        assertEquals(java.util.HexFormat.of().formatHex(a), java.util.HexFormat.of().formatHex(b));
        assertNotEquals(java.util.HexFormat.of().formatHex(a), java.util.HexFormat.of().formatHex(c));
    }
}
