package io.sectorcrypt.jca;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sectorcrypt.xts.XtsLimits;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.util.HexFormat;
import javax.crypto.Cipher;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;

class JcaProviderTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final SectorCryptProvider PROVIDER = new SectorCryptProvider();

    // IEEE 1619-2007 Annex B vector 10 (XTS-AES-256, 512 bytes) and 15 (XTS-AES-128, 17 bytes).
    private static final byte[] KEY_10 = HEX.parseHex("27182818284590452353602874713526624977572470936999595749669676273141592653589793238462643383279502884197169399375105820974944592");
    private static final byte[] KEY_15 = HEX.parseHex("fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0");
    private static final byte[] TWEAK_15 = HEX.parseHex("9a785634120000000000000000000000");
    private static final byte[] PT_15 = HEX.parseHex("000102030405060708090a0b0c0d0e0f10");
    private static final byte[] CT_15 = HEX.parseHex("6c1625db4671522d3d7599601de7ca09ed");

    @Test
    void providerOffersAesXts() throws Exception {
        assertEquals("SectorCrypt", PROVIDER.getName());
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        assertEquals(PROVIDER, c.getProvider());
    }

    @Test
    void ciphertextStealingVectorThroughPlainJca() throws Exception {
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY_15, "AES"), new IvParameterSpec(TWEAK_15));
        assertArrayEquals(CT_15, c.doFinal(PT_15));
        c.init(Cipher.DECRYPT_MODE, new SecretKeySpec(KEY_15, "AES"), new IvParameterSpec(TWEAK_15));
        assertArrayEquals(PT_15, c.doFinal(CT_15));
    }

    @Test
    void updateBuffersUntilDoFinal() throws Exception {
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY_15, "AES"), new IvParameterSpec(TWEAK_15));
        assertEquals(0, c.update(PT_15, 0, 10).length);
        byte[] out = new byte[17];
        assertEquals(17, c.doFinal(PT_15, 10, 7, out, 0));
        assertArrayEquals(CT_15, out);
    }

    @Test
    void overlappingInputAndOutputAsJcaAllows() throws Exception {
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY_10, "AES"), new IvParameterSpec(TWEAK_15));
        byte[] plain = new byte[100];
        for (int i = 0; i < plain.length; i++) {
            plain[i] = (byte) i;
        }
        byte[] expected = c.doFinal(plain);
        byte[] buf = new byte[120];
        System.arraycopy(plain, 0, buf, 0, 100);
        assertEquals(100, c.doFinal(buf, 0, 100, buf, 20)); // output overlaps input, shifted by 20
        assertArrayEquals(expected, java.util.Arrays.copyOfRange(buf, 20, 120));
    }

    @Test
    void perSectorReinitWithANewTweakMatchesTheSectorApi() throws Exception {
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        byte[] plain = new byte[512];
        for (int s = 0; s < 4; s++) {
            byte[] tweak = new byte[16];
            tweak[0] = (byte) (0xff + s);
            tweak[1] = (byte) ((0xff + s) >> 8);
            c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY_10, "AES"), new IvParameterSpec(tweak));
            byte[] viaJca = c.doFinal(plain);
            byte[] viaApi = new byte[512];
            try (io.sectorcrypt.xts.XtsKey key = io.sectorcrypt.xts.XtsKey.of(KEY_10)) {
                io.sectorcrypt.xts.SectorCipher.of(key).encrypt(plain, 0, viaApi, 0, 512, 0xff + s, 512);
            }
            assertArrayEquals(viaApi, viaJca, "sector " + (0xff + s));
        }
    }

    @Test
    void refusals() throws Exception {
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        SecretKeySpec key = new SecretKeySpec(KEY_15, "AES");
        InvalidKeyException noTweak = assertThrows(InvalidKeyException.class, () -> c.init(Cipher.ENCRYPT_MODE, key));
        assertEquals("AES/XTS/NoPadding needs the tweak: init(mode, key, new IvParameterSpec(tweak)); the tweak is"
                + " the 16-byte data unit number", noTweak.getMessage());
        InvalidAlgorithmParameterException shortTweak = assertThrows(InvalidAlgorithmParameterException.class,
                () -> c.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(new byte[8])));
        assertEquals("AES/XTS/NoPadding: the tweak is the 16-byte data unit number, not 8 bytes",
                shortTweak.getMessage());
        InvalidKeyException badSize = assertThrows(InvalidKeyException.class,
                () -> c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(new byte[48], "AES"), new IvParameterSpec(TWEAK_15)));
        assertEquals("an XTS key is 32 bytes (XTS-AES-128) or 64 bytes (XTS-AES-256), not 48 bytes", badSize.getMessage());
        InvalidKeyException equal = assertThrows(InvalidKeyException.class,
                () -> c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(new byte[64], "AES"), new IvParameterSpec(TWEAK_15)));
        assertEquals("the two halves of an XTS key (key1 and key2) must differ (FIPS 140-3 IG C.I); generate the key"
                + " from a DRBG", equal.getMessage());
        c.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(TWEAK_15));
        IllegalBlockSizeException tooShort = assertThrows(IllegalBlockSizeException.class, () -> c.doFinal(new byte[15]));
        assertEquals("an XTS data unit is 16 .. 16777216 bytes (SP 800-38E: up to 2^20 blocks), not 15 bytes",
                tooShort.getMessage());
        assertThrows(java.security.NoSuchAlgorithmException.class,
                () -> Cipher.getInstance("AES/CBC/NoPadding", PROVIDER));
    }

    /**
     * Input past the data-unit limit fed through update() is the JCA's IllegalBlockSizeException
     * from doFinal, not an exception from update; doFinal then leaves the cipher reset, so the
     * next unit encrypts as if the oversized one had never been fed in.
     */
    @Test
    void updatePastTheUnitLimitIsAnIllegalBlockSizeExceptionFromDoFinal() throws Exception {
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY_15, "AES"), new IvParameterSpec(TWEAK_15));
        byte[] max = new byte[XtsLimits.MAX_UNIT_BYTES];
        c.update(max);
        c.update(new byte[1]); // one byte past the limit: still no exception from update
        c.update(max, 0, 99);
        IllegalBlockSizeException e = assertThrows(IllegalBlockSizeException.class, () -> c.doFinal(PT_15));
        assertEquals(XtsLimits.unitLengthProblem(XtsLimits.MAX_UNIT_BYTES + 1L + 99 + PT_15.length), e.getMessage());
        assertArrayEquals(CT_15, c.doFinal(PT_15), "doFinal reset the cipher: the next unit is this one alone");

        c.update(max);
        c.update(PT_15);
        byte[] out = new byte[64];
        IllegalBlockSizeException intoArray = assertThrows(IllegalBlockSizeException.class,
                () -> c.doFinal(PT_15, 0, 1, out, 0));
        assertEquals(XtsLimits.unitLengthProblem(XtsLimits.MAX_UNIT_BYTES + 18L), intoArray.getMessage());
        assertArrayEquals(new byte[64], out, "nothing written for a refused unit");
        assertEquals(17, c.doFinal(PT_15, 0, 17, out, 0));
        assertArrayEquals(CT_15, java.util.Arrays.copyOf(out, 17));
    }

    @Test
    void aUnitOfExactlyTheLimitThroughUpdateIsAccepted() throws Exception {
        Cipher c = Cipher.getInstance("AES/XTS/NoPadding", PROVIDER);
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(KEY_10, "AES"), new IvParameterSpec(TWEAK_15));
        byte[] plain = new byte[XtsLimits.MAX_UNIT_BYTES];
        plain[12345] = 7;
        byte[] whole = c.doFinal(plain);
        c.update(plain, 0, 1000);
        c.update(plain, 1000, plain.length - 2000);
        assertArrayEquals(whole, c.doFinal(plain, plain.length - 1000, 1000));
    }
}
