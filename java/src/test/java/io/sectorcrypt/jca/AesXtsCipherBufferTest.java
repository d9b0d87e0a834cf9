package io.sectorcrypt.jca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.XtsLimits;
import java.security.InvalidKeyException;
import java.util.Arrays;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The plaintext that update() buffers is zeroed on every way out: doFinal (done or refused),
 * re-init (even one that fails), outgrowing its array, and an oversized unit. Drives the
 * CipherSpi directly so the test can look at the array the bytes were in.
 */
class AesXtsCipherBufferTest {
    private static final HexFormat HEX = HexFormat.of();
    // IEEE 1619-2007 Annex B vector 15 (XTS-AES-128, 17 bytes), as in JcaProviderTest.
    private static final byte[] KEY = HEX.parseHex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0");
    private static final byte[] TWEAK = HEX.parseHex("9a785634120000000000000000000000");
    private static final byte[] PT = HEX.parseHex("000102030405060708090a0b0c0d0e0f10");
    private static final byte[] CT = HEX.parseHex("6c1625db4671522d3d7599601de7ca09ed");

    private AesXtsCipher spi;

    @BeforeEach
    void init() throws Exception {
        spi = new AesXtsCipher();
        spi.engineInit(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY, "AES"), new IvParameterSpec(TWEAK), null);
    }

    /** A plaintext with no zero byte, so that any byte of it left behind shows. */
    private static byte[] secret(int length) {
        byte[] b = new byte[length];
        for (int i = 0; i < length; i++) {
            b[i] = (byte) (0x80 | (i * 7));
        }
        return b;
    }

    /** update() some plaintext and return the array the cipher holds it in. */
    private byte[] buffered(int length) {
        spi.engineUpdate(secret(length), 0, length);
        byte[] array = spi.buffer().array();
        assertEquals(length, spi.buffer().size());
        assertTrue(Arrays.equals(secret(length), 0, length, array, 0, length), "the plaintext is buffered");
        return array;
    }

    private static void assertZeroed(byte[] array) {
        assertArrayEquals(new byte[array.length], array, "buffered plaintext left in memory");
    }

    @Test
    void zeroedAfterDoFinal() throws Exception {
        spi.engineUpdate(PT, 0, 10);
        byte[] array = spi.buffer().array();
        assertArrayEquals(CT, spi.engineDoFinal(PT, 10, 7));
        assertZeroed(array);
        assertEquals(0, spi.buffer().length());
    }

    @Test
    void zeroedAfterDoFinalIntoAnArray() throws Exception {
        spi.engineUpdate(PT, 0, 10);
        byte[] array = spi.buffer().array();
        byte[] out = new byte[17];
        assertEquals(17, spi.engineDoFinal(PT, 10, 7, out, 0));
        assertArrayEquals(CT, out);
        assertZeroed(array);
    }

    @Test
    void zeroedWhenDoFinalRefusesAShortUnit() {
        byte[] array = buffered(10);
        assertThrows(IllegalBlockSizeException.class, () -> spi.engineDoFinal(new byte[3], 0, 3));
        assertZeroed(array);
        assertEquals(0, spi.buffer().length(), "doFinal reset the cipher");
    }

    @Test
    void zeroedOnReinit() throws Exception {
        byte[] array = buffered(40);
        spi.engineInit(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY, "AES"), new IvParameterSpec(TWEAK), null);
        assertZeroed(array);
        assertArrayEquals(CT, spi.engineDoFinal(PT, 0, PT.length), "nothing of the earlier input survives");
    }

    @Test
    void zeroedOnAReinitThatFails() {
        byte[] array = buffered(40);
        assertThrows(InvalidKeyException.class, () -> spi.engineInit(Cipher.ENCRYPT_MODE,
                new SecretKeySpec(new byte[48], "AES"), new IvParameterSpec(TWEAK), null));
        assertZeroed(array);
    }

    @Test
    void zeroedOnAnInitWithoutTheTweak() {
        byte[] array = buffered(40);
        assertThrows(InvalidKeyException.class, () -> spi.engineInit(Cipher.ENCRYPT_MODE,
                new SecretKeySpec(KEY, "AES"), null));
        assertZeroed(array);
    }

    @Test
    void theOutgrownArrayIsZeroed() {
        byte[] first = buffered(60);
        spi.engineUpdate(secret(200), 0, 200);
        assertNotSame(first, spi.buffer().array(), "the buffer grew into a new array");
        assertZeroed(first);
    }

    @Test
    void zeroedWhenTheUnitGrowsPastTheLimit() {
        byte[] array = buffered(100);
        spi.engineUpdate(new byte[XtsLimits.MAX_UNIT_BYTES], 0, XtsLimits.MAX_UNIT_BYTES);
        assertZeroed(array);
        assertEquals(100L + XtsLimits.MAX_UNIT_BYTES, spi.buffer().length(), "the length is still known");
    }

    @Test
    void aShortOutputBufferKeepsTheInputForTheRetryJcaAllows() throws Exception {
        spi.engineUpdate(PT, 0, 10);
        byte[] small = new byte[16];
        ShortBufferException e = assertThrows(ShortBufferException.class,
                () -> spi.engineDoFinal(PT, 10, 7, small, 0));
        assertEquals("output needs 17 bytes", e.getMessage());
        byte[] array = spi.buffer().array();
        byte[] out = new byte[17];
        assertEquals(17, spi.engineDoFinal(PT, 10, 7, out, 0));
        assertArrayEquals(CT, out);
        assertZeroed(array);
    }
}
