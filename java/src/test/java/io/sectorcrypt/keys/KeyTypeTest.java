package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class KeyTypeTest {
    @Test
    void parsesTheAllowedTypes() {
        assertEquals(KeyType.RSA_2048, KeyType.parse("rsa", 2048));
        assertEquals(KeyType.RSA_3072, KeyType.parse("RSA", 3072));
        assertEquals(KeyType.RSA_4096, KeyType.parse("rsa", 4096));
        assertEquals(KeyType.AES_256, KeyType.parse("aes", null));
        assertEquals(KeyType.AES_256, KeyType.parse("aes", 256));
    }

    @Test
    void refusesOtherRsaSizesNamingTheAllowedOnes() {
        assertEquals("customer keys are RSA 2048, 3072 or 4096 bits, not 1024",
                assertThrows(IllegalArgumentException.class, () -> KeyType.parse("rsa", 1024)).getMessage());
        assertEquals("customer keys are RSA 2048, 3072 or 4096 bits, not 8192",
                assertThrows(IllegalArgumentException.class, () -> KeyType.parse("rsa", 8192)).getMessage());
        assertEquals("customer keys are RSA 2048, 3072 or 4096 bits: give --size 2048, 3072 or 4096",
                assertThrows(IllegalArgumentException.class, () -> KeyType.parse("rsa", null)).getMessage());
    }

    @Test
    void refusesOtherTypes() {
        assertEquals("platform keys are AES-256 only, not AES-128",
                assertThrows(IllegalArgumentException.class, () -> KeyType.parse("aes", 128)).getMessage());
        assertEquals("unknown key type 'ec'; choose rsa (customer key: 2048, 3072 or 4096 bits) or aes (platform key:"
                + " AES-256)", assertThrows(IllegalArgumentException.class, () -> KeyType.parse("ec", 256)).getMessage());
    }
}
