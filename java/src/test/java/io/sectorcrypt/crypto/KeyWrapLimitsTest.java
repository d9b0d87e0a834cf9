package io.sectorcrypt.crypto;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class KeyWrapLimitsTest {
    /** What a token's unwrap returned, checked against the RFC 5649 framing of what was wrapped. */
    @Test
    void anUnwrappedKeyMustFitTheWrappedLength() {
        for (long key = 1; key <= 8; key++) {
            long k = key;
            assertDoesNotThrow(() -> KeyWrapLimits.checkKwpUnwrapped(k, 16));
        }
        for (long key = 9; key <= 16; key++) {
            long k = key;
            assertDoesNotThrow(() -> KeyWrapLimits.checkKwpUnwrapped(k, 24));
        }
        assertEquals("AES-KWP (RFC 5649) output of 24 bytes holds a key of 9 to 16 bytes, not 8 bytes",
                assertThrows(IllegalArgumentException.class, () -> KeyWrapLimits.checkKwpUnwrapped(8, 24)).getMessage());
        assertEquals("AES-KWP (RFC 5649) output of 24 bytes holds a key of 9 to 16 bytes, not 17 bytes",
                assertThrows(IllegalArgumentException.class, () -> KeyWrapLimits.checkKwpUnwrapped(17, 24)).getMessage());
        assertEquals("AES-KWP (RFC 5649) output of 16 bytes holds a key of 1 to 8 bytes, not 0 bytes",
                assertThrows(IllegalArgumentException.class, () -> KeyWrapLimits.checkKwpUnwrapped(0, 16)).getMessage());
        assertEquals("AES-KWP (RFC 5649) output is a multiple of 8 bytes and at least 16, not 20 bytes",
                assertThrows(IllegalArgumentException.class, () -> KeyWrapLimits.checkKwpUnwrapped(8, 20)).getMessage());
    }
}
