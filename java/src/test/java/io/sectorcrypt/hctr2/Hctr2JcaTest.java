package io.sectorcrypt.hctr2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.jca.SectorCryptProvider;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.Security;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import javax.crypto.Cipher;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** {@code AES/HCTR2/NoPadding} from plain JCA code: the published vectors, streaming, refusals. */
class Hctr2JcaTest {
    private static final String TRANSFORMATION = "AES/HCTR2/NoPadding";
    private static boolean installedHere;

    @BeforeAll
    static void install() {
        installedHere = Security.addProvider(new SectorCryptProvider()) != -1;
    }

    @AfterAll
    static void uninstall() {
        if (installedHere) {
            Security.removeProvider(SectorCryptProvider.NAME);
        }
    }

    static Stream<Hctr2Vectors.Vector> vectors() {
        return Hctr2VectorTest.hctr2();
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void vectorsThroughJca(Hctr2Vectors.Vector v) throws Exception {
        Cipher c = Cipher.getInstance(TRANSFORMATION, SectorCryptProvider.NAME);
        SecretKeySpec key = new SecretKeySpec(v.key(), "AES");
        IvParameterSpec tweak = new IvParameterSpec(v.tweak());
        c.init(Cipher.ENCRYPT_MODE, key, tweak);
        assertArrayEquals(v.out(), c.doFinal(v.in()));
        c.init(Cipher.DECRYPT_MODE, key, tweak);
        assertArrayEquals(v.in(), c.doFinal(v.out()));
    }

    @Test
    void updateBuffersUntilDoFinalAndByProviderObject() throws Exception {
        Hctr2Vectors.Vector v = Hctr2Vectors.hctr2("HCTR2_AES256.json").stream()
                .filter(x -> x.in().length == 512 && x.tweak().length == 32).findFirst().orElseThrow();
        Cipher c = Cipher.getInstance(TRANSFORMATION, new SectorCryptProvider());
        c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(v.key(), "AES"), new IvParameterSpec(v.tweak()));
        assertEquals(0, c.update(v.in(), 0, 100).length, "no output before doFinal: it depends on every byte");
        c.update(v.in(), 100, 300);
        assertArrayEquals(v.out(), c.doFinal(v.in(), 400, 112));
        byte[] inPlace = v.in().clone();
        assertEquals(512, c.doFinal(inPlace, 0, 512, inPlace, 0));
        assertArrayEquals(v.out(), inPlace, "in place, and doFinal reset the cipher for the next message");
        assertArrayEquals(v.tweak(), c.getIV());
    }

    @Test
    void refusesBadInputsWithClearMessages() throws Exception {
        Cipher c = Cipher.getInstance(TRANSFORMATION, new SectorCryptProvider());
        byte[] keyBytes = new byte[32];
        new SplittableRandom(7).nextBytes(keyBytes);
        SecretKeySpec key = new SecretKeySpec(keyBytes, "AES");
        c.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(new byte[0]));
        var e = assertThrows(IllegalBlockSizeException.class, () -> c.doFinal(new byte[15]));
        assertTrue(e.getMessage().contains("16 .. 16777216"), e.getMessage());
        assertEquals(16, c.doFinal(new byte[16]).length, "the cipher is reset after the refusal");
        var p = assertThrows(InvalidAlgorithmParameterException.class,
                () -> c.init(Cipher.ENCRYPT_MODE, key, new GCMParameterSpec(128, new byte[12])));
        assertTrue(p.getMessage().contains("IvParameterSpec"), p.getMessage());
        var k = assertThrows(InvalidKeyException.class, () -> c.init(Cipher.ENCRYPT_MODE, key));
        assertTrue(k.getMessage().contains("tweak"), k.getMessage());
        var bad = assertThrows(InvalidKeyException.class,
                () -> c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(new byte[24], "AES"), new IvParameterSpec(new byte[32])));
        assertTrue(bad.getMessage().contains("16 bytes (HCTR2-AES-128) or 32 bytes"), bad.getMessage());
        String hex = HexFormat.of().formatHex(keyBytes);
        for (Exception ex : new Exception[] {e, p, k, bad}) {
            assertFalse(String.valueOf(ex.getMessage()).contains(hex.substring(0, 12)));
        }
        assertThrows(java.security.NoSuchAlgorithmException.class,
                () -> Cipher.getInstance("AES/HCTR2/PKCS5Padding", new SectorCryptProvider()));
    }

    @Test
    void roundTripsRandomLengthsAndTweaks() throws Exception {
        SplittableRandom random = new SplittableRandom(11);
        Cipher c = Cipher.getInstance(TRANSFORMATION, new SectorCryptProvider());
        for (int i = 0; i < 50; i++) {
            byte[] keyBytes = new byte[random.nextBoolean() ? 16 : 32];
            random.nextBytes(keyBytes);
            byte[] tweak = new byte[random.nextInt(64)];
            random.nextBytes(tweak);
            byte[] plain = new byte[16 + random.nextInt(65536 - 16 + 1)];
            random.nextBytes(plain);
            SecretKeySpec key = new SecretKeySpec(keyBytes, "AES");
            c.init(Cipher.ENCRYPT_MODE, key, new IvParameterSpec(tweak));
            byte[] cipherText = c.doFinal(plain);
            assertFalse(Arrays.equals(plain, cipherText));
            c.init(Cipher.DECRYPT_MODE, key, new IvParameterSpec(tweak));
            assertArrayEquals(plain, c.doFinal(cipherText));
        }
    }
}
