package io.sectorcrypt.crypto;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.util.HexFormat;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/** Runs under the policy of this surefire execution: DEFAULT, then again FIPS. */
class CryptoPolicyTest {
    static final CryptoPolicy POLICY = CryptoPolicy.configured();
    static final HexFormat HEX = HexFormat.of();

    @Test
    void aesKwpMatchesRfc5649Section6() throws Exception {
        // RFC 5649 section 6, the 20-octet example under a 192-bit KEK.
        byte[] kek = HEX.parseHex("5840df6e29b02af1ab493b705bf16ea1ae8338f4dcc176a8");
        byte[] key = HEX.parseHex("c37b7e6492584340bed12207808941155068f738");
        byte[] expected = HEX.parseHex("138bdeaa9b8fa7fc61f97742e72248ee5ae6ae5360d1ae6a5f54f373fa543b6a");
        assertArrayEquals(expected, POLICY.wrapAesKwp(kek, key));
        assertArrayEquals(key, POLICY.unwrapAesKwp(kek, expected));
        // And the 7-octet example.
        byte[] shortKey = HEX.parseHex("466f7250617369");
        byte[] shortWrapped = HEX.parseHex("afbeb0f07dfbf5419200f2ccb50bb24f");
        assertArrayEquals(shortWrapped, POLICY.wrapAesKwp(kek, shortKey));
        byte[] altered = expected.clone();
        altered[5] ^= 1;
        assertThrows(GeneralSecurityException.class, () -> POLICY.unwrapAesKwp(kek, altered));
    }

    /**
     * RFC 5649 bounds, checked before any provider is called and refused with the same message
     * in both policies. Before: FIPS wrapped an empty key into a65959a600000000 (the padding IV
     * alone), DEFAULT refused with SunJCE's "Cannot get an encoding of the key to be wrapped".
     */
    @Test
    void aesKwpRefusesLengthsOutsideRfc5649InEitherPolicy() {
        byte[] kek = new byte[32];
        POLICY.randomBytes(kek);
        assertEquals("AES-KWP (RFC 5649) wraps a key of 1 to 4294967295 bytes, not 0 bytes",
                assertThrows(IllegalArgumentException.class, () -> POLICY.wrapAesKwp(kek, new byte[0])).getMessage());
        for (int length : new int[] {0, 8, 12, 17, 31}) {
            assertEquals("AES-KWP (RFC 5649) output is a multiple of 8 bytes and at least 16, not " + length + " bytes",
                    assertThrows(IllegalArgumentException.class, () -> POLICY.unwrapAesKwp(kek, new byte[length]))
                            .getMessage(), length + " bytes");
        }
        // What BCFIPS made of the empty key: not AES-KWP output, refused as such.
        assertEquals("AES-KWP (RFC 5649) output is a multiple of 8 bytes and at least 16, not 8 bytes",
                assertThrows(IllegalArgumentException.class,
                        () -> POLICY.unwrapAesKwp(kek, HEX.parseHex("a65959a600000000"))).getMessage());
        for (int length : new int[] {0, 20, 64}) {
            assertEquals("an AES-KWP key-encryption key is 16, 24 or 32 bytes (AES), not " + length + " bytes",
                    assertThrows(IllegalArgumentException.class, () -> POLICY.wrapAesKwp(new byte[length],
                            new byte[32])).getMessage());
            assertEquals("an AES-KWP key-encryption key is 16, 24 or 32 bytes (AES), not " + length + " bytes",
                    assertThrows(IllegalArgumentException.class, () -> POLICY.unwrapAesKwp(new byte[length],
                            new byte[40])).getMessage());
        }
        byte[] one = {0x37};
        assertArrayEquals(one, assertDoesNotThrow(() -> POLICY.unwrapAesKwp(kek, POLICY.wrapAesKwp(kek, one))),
                "the shortest key RFC 5649 allows round-trips");
    }

    /** RFC 8017 7.1 bounds by modulus size, checked first, one message in both policies. */
    @Test
    void rsaOaep256RefusesLengthsOutsideRfc8017() throws Exception {
        KeyPair pair = rsa2048();
        assertEquals("RSA-OAEP-256 (RFC 8017 7.1) under a 2048-bit RSA key wraps a key of 1 to 190 bytes, not 0 bytes",
                assertThrows(IllegalArgumentException.class, () -> POLICY.wrapRsaOaep256(pair.getPublic(),
                        new byte[0])).getMessage());
        assertEquals("RSA-OAEP-256 (RFC 8017 7.1) under a 2048-bit RSA key wraps a key of 1 to 190 bytes, not 191 bytes",
                assertThrows(IllegalArgumentException.class, () -> POLICY.wrapRsaOaep256(pair.getPublic(),
                        new byte[191])).getMessage());
        byte[] longest = new byte[190];
        POLICY.randomBytes(longest);
        assertArrayEquals(longest, POLICY.unwrapRsaOaep256(pair.getPrivate(),
                POLICY.wrapRsaOaep256(pair.getPublic(), longest)));
        for (int length : new int[] {0, 255, 257}) {
            assertEquals("RSA-OAEP-256 (RFC 8017 7.1) output under a 2048-bit RSA key is 256 bytes (the modulus"
                    + " length), not " + length + " bytes", assertThrows(IllegalArgumentException.class,
                            () -> POLICY.unwrapRsaOaep256(pair.getPrivate(), new byte[length])).getMessage());
        }
    }

    private static KeyPair rsa2048;

    private static synchronized KeyPair rsa2048() {
        if (rsa2048 == null) {
            rsa2048 = POLICY.generateRsaKeyPair(2048);
        }
        return rsa2048;
    }

    @Test
    void hmacSha256MatchesRfc4231TestCase1() {
        // Test case 1: its 20-byte key is above FIPS mode's 112-bit floor (SP 800-131A), unlike case 2's.
        byte[] key = new byte[20];
        java.util.Arrays.fill(key, (byte) 0x0b);
        byte[] mac = POLICY.hmacSha256(key, "Hi ".getBytes(StandardCharsets.US_ASCII),
                "There".getBytes(StandardCharsets.US_ASCII));
        assertEquals("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", HEX.formatHex(mac));
    }

    @Test
    void rsaOaep256RoundTripsAndRejectsTampering() throws Exception {
        KeyPair pair = rsa2048();
        byte[] dek = new byte[64];
        POLICY.randomBytes(dek);
        byte[] wrapped = POLICY.wrapRsaOaep256(pair.getPublic(), dek);
        assertEquals(256, wrapped.length);
        assertNotEquals(HEX.formatHex(wrapped), HEX.formatHex(POLICY.wrapRsaOaep256(pair.getPublic(), dek)),
                "OAEP is randomised");
        assertArrayEquals(dek, POLICY.unwrapRsaOaep256(pair.getPrivate(), wrapped));
        wrapped[100] ^= 1;
        assertThrows(GeneralSecurityException.class, () -> POLICY.unwrapRsaOaep256(pair.getPrivate(), wrapped));
    }

    /** The off-heap doors: a DEK goes from the cipher into the caller's arena, and back into a wrap. */
    @Test
    void unwrapsStraightIntoTheCallersArena() throws Exception {
        byte[] dek = new byte[64];
        POLICY.randomBytes(dek);
        byte[] kek = POLICY.generateAes256Key();
        KeyPair pair = rsa2048();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment source = arena.allocate(64);
            source.copyFrom(MemorySegment.ofArray(dek));
            byte[] kwp = POLICY.wrapAesKwp(kek, source.asReadOnly());
            assertEquals(72, kwp.length, "RFC 5649: 64 bytes and the 8-byte integrity block");
            assertArrayEquals(dek, POLICY.unwrapAesKwp(kek, kwp, arena).toArray(ValueLayout.JAVA_BYTE));
            byte[] oaep = POLICY.wrapRsaOaep256(pair.getPublic(), source.asReadOnly());
            MemorySegment back = POLICY.unwrapRsaOaep256(pair.getPrivate(), oaep, arena);
            assertTrue(back.isNative());
            assertArrayEquals(dek, back.toArray(ValueLayout.JAVA_BYTE));
            kwp[9] ^= 1;
            assertThrows(GeneralSecurityException.class, () -> POLICY.unwrapAesKwp(kek, kwp, arena));
        }
    }

    @Test
    void gcmSealsWithFreshIvsAndDetectsTampering() throws Exception {
        byte[] key = POLICY.generateAes256Key();
        byte[] aad = "aad".getBytes(StandardCharsets.US_ASCII);
        byte[] sealed = POLICY.sealAesGcm(key, aad, "secret".getBytes(StandardCharsets.US_ASCII));
        assertFalse(java.util.Arrays.equals(sealed, POLICY.sealAesGcm(key, aad,
                "secret".getBytes(StandardCharsets.US_ASCII))));
        assertEquals("secret", new String(POLICY.openAesGcm(key, aad, sealed), StandardCharsets.US_ASCII));
        sealed[sealed.length - 1] ^= 1;
        assertThrows(GeneralSecurityException.class, () -> POLICY.openAesGcm(key, aad, sealed));
    }

    @Test
    void rsaSizesOutsideTheAllowedSetAreRefused() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> POLICY.generateRsaKeyPair(1024));
        assertEquals(POLICY.isFips()
                ? "RSA keys must be 2048, 3072 or 4096 bits, not 1024 (FIPS mode: below 2048 bits is not approved,"
                        + " SP 800-131A Rev. 2 table 2)"
                : "RSA keys must be 2048, 3072 or 4096 bits, not 1024", e.getMessage());
    }

    @Test
    void drbgIsTheApprovedOne() {
        String algorithm = POLICY.drbg().getAlgorithm();
        assertTrue(POLICY.isFips() ? !algorithm.isEmpty() : algorithm.equals("DRBG"), algorithm);
    }

    @Test
    void policyNamesParse() {
        assertEquals(CryptoPolicy.FIPS, CryptoPolicy.parse(" Fips "));
        assertEquals("unknown crypto policy 'fips140'; choose default or fips",
                assertThrows(IllegalArgumentException.class, () -> CryptoPolicy.parse("fips140")).getMessage());
    }

    @Test
    @Tag("fips-only")
    void fipsModeRunsBcFipsInApprovedOnlyMode() {
        assertEquals(CryptoPolicy.FIPS, POLICY, "this test runs in the FIPS execution only");
        assertEquals("BCFIPS", CryptoPolicy.fipsProvider().getName());
        assertTrue(org.bouncycastle.crypto.CryptoServicesRegistrar.isInApprovedOnlyMode());
    }

    @Test
    @Tag("fips-only")
    void fipsModeRefusesShortPassphrasesAndScrypt() {
        PassphraseKdf pbkdf2 = PassphraseKdf.forPolicy(CryptoPolicy.FIPS, PassphraseKdf.MIN_SCRYPT_COST);
        assertEquals(PassphraseKdf.Algorithm.PBKDF2_HMAC_SHA512, pbkdf2.algorithm());
        assertEquals("FIPS mode needs a passphrase of at least 14 characters (112 bits, SP 800-132 and SP 800-131A)",
                assertThrows(IllegalArgumentException.class,
                        () -> CryptoPolicy.FIPS.deriveFromPassphrase("short".toCharArray(), pbkdf2)).getMessage());
        assertEquals(32, CryptoPolicy.FIPS.deriveFromPassphrase("a long enough passphrase".toCharArray(), pbkdf2).length);
        PassphraseKdf scrypt = new PassphraseKdf(PassphraseKdf.Algorithm.SCRYPT, new byte[32],
                PassphraseKdf.MIN_SCRYPT_COST, 8, 1);
        assertEquals("this key was protected with scrypt, which FIPS mode does not approve; open it with the DEFAULT"
                + " crypto policy", assertThrows(IllegalStateException.class,
                        () -> CryptoPolicy.FIPS.deriveFromPassphrase("a long enough passphrase".toCharArray(), scrypt))
                        .getMessage());
    }

    @Test
    @Tag("default-only")
    void scryptMatchesRfc7914Section12() {
        // RFC 7914 section 12, third vector: P="pleaseletmein", S="SodiumChloride", N=16384, r=8, p=1.
        // (Its 14-byte salt is below what PassphraseKdf accepts for new vaults, so BC is called directly.)
        byte[] derived = new byte[32];
        BcScrypt.derive("pleaseletmein".getBytes(StandardCharsets.US_ASCII),
                "SodiumChloride".getBytes(StandardCharsets.US_ASCII), 16384, 8, 1, derived);
        assertEquals("7023bdcb3afd7348461c06cd81fd38ebfda8fbba904f8e3ea9b543f6545da1f2", HEX.formatHex(derived));
    }

    @Test
    void kdfParametersAreChecked() {
        assertEquals("scrypt N must be a power of two of at least 16384, not 1024",
                assertThrows(IllegalArgumentException.class, () -> new PassphraseKdf(PassphraseKdf.Algorithm.SCRYPT,
                        new byte[16], 1024, 8, 1)).getMessage());
        assertEquals("a passphrase KDF salt must be at least 16 bytes (SP 800-132 5.1)",
                assertThrows(IllegalArgumentException.class, () -> new PassphraseKdf(PassphraseKdf.Algorithm.SCRYPT,
                        new byte[8], 16384, 8, 1)).getMessage());
    }
}
