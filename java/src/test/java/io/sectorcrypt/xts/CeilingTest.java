package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class CeilingTest {

    @Test
    void isAesEcbUnderKey1() throws Exception {
        assumeTrue(Ceiling.isAvailable());
        byte[] raw = DifferentialTest.randomKey(new SplittableRandom(4), 64);
        byte[] plain = new byte[4096];
        new SplittableRandom(5).nextBytes(plain);
        Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
        ecb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(Arrays.copyOf(raw, 32), "AES"));
        byte[] expected = ecb.doFinal(plain);
        try (XtsKey key = XtsKey.of(raw)) {
            MemorySegment out = MemorySegment.ofArray(new byte[4096]);
            Ceiling.aesRounds(key, MemorySegment.ofArray(plain), out);
            assertArrayEquals(expected, out.toArray(ValueLayout.JAVA_BYTE));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Ceiling.aesRounds(key, MemorySegment.ofArray(new byte[100]), MemorySegment.ofArray(new byte[100])));
            assertEquals("in and out must be the same length, a multiple of 64 bytes", e.getMessage());
        }
    }
}
