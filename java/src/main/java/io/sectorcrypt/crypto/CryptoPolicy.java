package io.sectorcrypt.crypto;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.DrbgParameters;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.Provider;
import java.security.PublicKey;
import java.security.SecureRandom;
import java.security.interfaces.RSAKey;
import java.security.spec.MGF1ParameterSpec;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import javax.crypto.Cipher;
import javax.crypto.KeyGenerator;
import javax.crypto.Mac;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;

/**
 * Which cryptographic module the key manager uses, and the one place where algorithms are
 * named: DRBG, RSA and AES key generation, RSA-OAEP-256 and AES-KWP wrapping, HMAC-SHA-256,
 * AES-GCM for vault files.
 *
 * <ul>
 * <li>{@link #DEFAULT}: the JDK's providers (SUN, SunJCE, SunRsaSign); no extra jar.
 * <li>{@link #FIPS}: Bouncy Castle FIPS ({@code org.bouncycastle:bc-fips} 2.1.x, which the
 * application adds) in approved-only mode, for every operation above. Approved-only mode is
 * JVM-global in BCFIPS: a JVM that selects FIPS should use it from the start.
 * Requests outside the approved set (RSA below 2048 bits, SP 800-131A Rev. 2; a passphrase
 * shorter than 14 characters for PBKDF2, SP 800-132 via BCFIPS' 112-bit floor) are refused
 * with a message naming the rule.
 * </ul>
 *
 * <p>The XTS data path is a setting of its own (BCFIPS has no XTS): by default sectors are
 * sealed by the {@link io.sectorcrypt.xts.Engine} selected at load, after its known-answer
 * self-test, outside any validated boundary; with {@code -Dsectorcrypt.engine=java
 * -Dsectorcrypt.java.aes.provider=BCFIPS} XTS is composed in Java on BCFIPS's approved AES,
 * which FIPS mode installs as a JCA provider (last in the list) for that purpose.
 */
public enum CryptoPolicy {
    /** JDK providers. */
    DEFAULT,
    /** Bouncy Castle FIPS in approved-only mode. */
    FIPS;

    /** The system property that selects a policy ({@code default} or {@code fips}). */
    public static final String PROPERTY = "sectorcrypt.crypto.policy";

    /** RSA-OAEP with SHA-256 for both the label hash and MGF1 (RFC 8017 7.1). */
    private static final String RSA_OAEP_256 = "RSA-OAEP-256";
    private static final OAEPParameterSpec OAEP_SHA256 =
            new OAEPParameterSpec("SHA-256", "MGF1", MGF1ParameterSpec.SHA256, PSource.PSpecified.DEFAULT);

    /** The policy named by {@value #PROPERTY}, or DEFAULT when it is unset. */
    public static CryptoPolicy configured() {
        String value = System.getProperty(PROPERTY);
        return value == null || value.isBlank() ? DEFAULT : parse(value);
    }

    /** Parses {@code default} or {@code fips}, in any case. */
    public static CryptoPolicy parse(String name) {
        String n = name.strip().toUpperCase(Locale.ROOT);
        for (CryptoPolicy p : values()) {
            if (p.name().equals(n)) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown crypto policy '" + name + "'; choose default or fips");
    }

    /**
     * The provider for this policy: null (the JDK's preference order) or BCFIPS. Throws
     * {@link IllegalStateException} with the fix if FIPS cannot start.
     */
    private Provider provider() {
        return this == FIPS ? Fips.provider() : null;
    }

    /**
     * An approved DRBG: the JDK's SP 800-90A Hash_DRBG (SHA-256) at 256-bit strength with
     * prediction resistance, or BCFIPS' HMAC_DRBG (SHA-512).
     */
    public SecureRandom drbg() {
        return this == FIPS ? Fips.drbg() : JdkDrbg.INSTANCE;
    }

    /** Fills {@code out} from {@link #drbg()}. */
    public void randomBytes(byte[] out) {
        drbg().nextBytes(out);
    }

    /**
     * Fills {@code out} with key material from {@link #drbg()}, leaving no copy in the DRBG:
     * BCFIPS' DRBG keeps its last output reachable on the heap (two copies in a live heap
     * dump) until its next draw, which would outlive every zeroing of the key itself, so the
     * FIPS policy draws as many bytes again and zeroes them. The JDK's DRBG keeps none. The
     * caller zeroes {@code out}.
     */
    public void randomSecret(byte[] out) {
        SecureRandom r = drbg();
        r.nextBytes(out);
        if (this == FIPS) {
            byte[] scrub = new byte[out.length];
            r.nextBytes(scrub);
            Arrays.fill(scrub, (byte) 0);
        }
    }

    /**
     * Starts this policy's cryptographic module now (for FIPS: BCFIPS in approved-only mode,
     * its DRBG, and its JCA provider installed), rather than on first use. Throws
     * {@link IllegalStateException} with the fix if it cannot start.
     */
    public void start() {
        provider();
    }

    /** Whether approved-only rules apply. */
    public boolean isFips() {
        return this == FIPS;
    }

    /**
     * Refuses RSA moduli that this policy may not create or use. Both policies allow
     * 2048, 3072 and 4096 only; the message names the rule that applies.
     */
    public void checkRsaModulus(int bits) {
        if (bits != 2048 && bits != 3072 && bits != 4096) {
            throw new IllegalArgumentException("RSA keys must be 2048, 3072 or 4096 bits, not " + bits
                    + (this == FIPS ? " (FIPS mode: below 2048 bits is not approved, SP 800-131A Rev. 2 table 2)" : ""));
        }
    }

    /** Generates an RSA key pair of an allowed size (e = 65537). */
    public KeyPair generateRsaKeyPair(int bits) {
        checkRsaModulus(bits);
        try {
            KeyPairGenerator generator = this == FIPS ? KeyPairGenerator.getInstance("RSA", provider())
                    : KeyPairGenerator.getInstance("RSA");
            generator.initialize(bits, drbg());
            return generator.generateKeyPair();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(this + ": RSA key generation is unavailable: " + e.getMessage(), e);
        }
    }

    /** 32 fresh bytes for an AES-256 key from the policy's key generator; the caller zeroes them. */
    public byte[] generateAes256Key() {
        try {
            KeyGenerator generator = this == FIPS ? KeyGenerator.getInstance("AES", provider())
                    : KeyGenerator.getInstance("AES");
            generator.init(256, drbg());
            return generator.generateKey().getEncoded();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(this + ": AES key generation is unavailable: " + e.getMessage(), e);
        }
    }

    /**
     * Wraps key bytes with AES-KWP (RFC 5649, SP 800-38F 6.3 KWP-AE) under an AES KEK. The
     * lengths are checked first ({@link KeyWrapLimits}), so both policies refuse an empty key
     * with the same message (BCFIPS would return the bare padding IV; SunJCE an unclear error).
     *
     * @throws IllegalArgumentException if the KEK is not an AES key or the key is empty
     */
    public byte[] wrapAesKwp(byte[] kek, byte[] keyBytes) {
        KeyWrapLimits.checkKwpKek(kek.length);
        KeyWrapLimits.checkKwpKey(keyBytes.length);
        DestroyableKey wrappingKey = new DestroyableKey(kek, "AES");
        try {
            // ENCRYPT mode gives RFC 5649's output byte for byte, and takes the key as the array
            // the caller zeroes: WRAP mode would take a Key whose getEncoded() copy no one wipes.
            Cipher cipher = kwpCipher();
            cipher.init(Cipher.ENCRYPT_MODE, wrappingKey, drbg());
            return cipher.doFinal(keyBytes);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(this + ": AES-KWP wrapping failed: " + e.getMessage(), e);
        } finally {
            wrappingKey.destroy();
        }
    }

    /** {@link #wrapAesKwp(byte[], byte[])} of off-heap key bytes; the heap copy is zeroed before return. */
    public byte[] wrapAesKwp(byte[] kek, MemorySegment keyBytes) {
        byte[] plain = keyBytes.toArray(ValueLayout.JAVA_BYTE);
        try {
            return wrapAesKwp(kek, plain);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /**
     * Unwraps AES-KWP; throws {@link GeneralSecurityException} when the integrity check of
     * RFC 5649 section 3 fails (wrong KEK or altered bytes). The caller zeroes the result.
     *
     * @throws IllegalArgumentException if the KEK is not an AES key or {@code wrapped} cannot
     *                                  be AES-KWP output (a multiple of 8 bytes, at least 16)
     */
    public byte[] unwrapAesKwp(byte[] kek, byte[] wrapped) throws GeneralSecurityException {
        KeyWrapLimits.checkKwpKek(kek.length);
        KeyWrapLimits.checkKwpWrapped(wrapped.length);
        DestroyableKey unwrappingKey = new DestroyableKey(kek, "AES");
        try {
            // DECRYPT mode, not UNWRAP: Cipher.unwrap returns a SecretKeySpec, whose copy of the
            // key cannot be wiped (both SunJCE and BCFIPS); doFinal returns an array we can zero.
            Cipher cipher = kwpCipher();
            cipher.init(Cipher.DECRYPT_MODE, unwrappingKey);
            return cipher.doFinal(wrapped);
        } finally {
            unwrappingKey.destroy();
        }
    }

    /**
     * {@link #unwrapAesKwp(byte[], byte[])} straight into a new segment of {@code into}; the
     * cipher's heap output is zeroed before return, so the key's only copy is the segment.
     */
    public MemorySegment unwrapAesKwp(byte[] kek, byte[] wrapped, Arena into) throws GeneralSecurityException {
        return offHeap(unwrapAesKwp(kek, wrapped), into);
    }

    /**
     * Wraps key bytes with RSA-OAEP, SHA-256 and MGF1-SHA-256 (RFC 8017 7.1.1).
     *
     * @throws IllegalArgumentException if the key is empty or longer than the modulus allows
     */
    public byte[] wrapRsaOaep256(PublicKey publicKey, byte[] keyBytes) {
        KeyWrapLimits.checkOaepKey(RSA_OAEP_256, modulusBits(publicKey), KeyWrapLimits.SHA256_BYTES, keyBytes.length);
        try {
            Cipher cipher = oaepCipher();
            if (this == DEFAULT) {
                // ENCRYPT mode takes the caller's array (zeroed by the caller), no Key object.
                cipher.init(Cipher.ENCRYPT_MODE, publicKey, OAEP_SHA256, drbg());
                return cipher.doFinal(keyBytes);
            }
            // BCFIPS in approved-only mode offers RSA-OAEP encryption in WRAP mode only
            // ("Cipher available for WRAP_MODE and UNWRAP_MODE only"); the provider reads the
            // key through getEncoded(), a copy it does not wipe. Ours is zeroed below.
            DestroyableKey secret = new DestroyableKey(keyBytes, "AES");
            try {
                cipher.init(Cipher.WRAP_MODE, publicKey, OAEP_SHA256, drbg());
                return cipher.wrap(secret);
            } finally {
                secret.destroy();
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(this + ": RSA-OAEP-256 wrapping failed: " + e.getMessage(), e);
        }
    }

    /**
     * Unwraps RSA-OAEP-256 (RFC 8017 7.1.2); the caller zeroes the result.
     *
     * @throws IllegalArgumentException if {@code wrapped} is not the modulus length
     */
    public byte[] unwrapRsaOaep256(PrivateKey privateKey, byte[] wrapped) throws GeneralSecurityException {
        KeyWrapLimits.checkOaepWrapped(RSA_OAEP_256, modulusBits(privateKey), wrapped.length);
        // DECRYPT mode, not UNWRAP (see unwrapAesKwp). BCFIPS approved-only refuses DECRYPT
        // under the generic "OAEPPadding" name but allows it under the one that names SHA-256.
        Cipher cipher = this == FIPS ? Cipher.getInstance("RSA/NONE/OAEPWithSHA256AndMGF1Padding", provider())
                : oaepCipher();
        cipher.init(Cipher.DECRYPT_MODE, privateKey, OAEP_SHA256);
        return cipher.doFinal(wrapped);
    }

    /** {@link #unwrapRsaOaep256(PrivateKey, byte[])} straight into a new segment of {@code into}. */
    public MemorySegment unwrapRsaOaep256(PrivateKey privateKey, byte[] wrapped, Arena into)
            throws GeneralSecurityException {
        return offHeap(unwrapRsaOaep256(privateKey, wrapped), into);
    }

    /** {@link #wrapRsaOaep256(PublicKey, byte[])} of off-heap key bytes; the heap copy is zeroed. */
    public byte[] wrapRsaOaep256(PublicKey publicKey, MemorySegment keyBytes) {
        byte[] plain = keyBytes.toArray(ValueLayout.JAVA_BYTE);
        try {
            return wrapRsaOaep256(publicKey, plain);
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** Moves unwrapped key bytes off the heap: copies them into {@code into}, then zeroes them. */
    private static MemorySegment offHeap(byte[] plain, Arena into) {
        try {
            MemorySegment out = into.allocate(plain.length);
            out.copyFrom(MemorySegment.ofArray(plain));
            return out;
        } finally {
            Arrays.fill(plain, (byte) 0);
        }
    }

    /** The modulus size of an RSA key, which bounds what RSA-OAEP wraps. */
    private static int modulusBits(Key key) {
        if (!(key instanceof RSAKey rsa)) {
            throw new IllegalArgumentException("RSA-OAEP needs an RSA key, not " + (key == null ? "null"
                    : key.getAlgorithm()));
        }
        return rsa.getModulus().bitLength();
    }

    /** HMAC-SHA-256 (FIPS 198-1) of the concatenated parts. */
    public byte[] hmacSha256(byte[] key, byte[]... parts) {
        DestroyableKey macKey = new DestroyableKey(key, "HmacSHA256");
        try {
            Mac mac = this == FIPS ? Mac.getInstance("HmacSHA256", provider()) : Mac.getInstance("HmacSHA256");
            mac.init(macKey);
            for (byte[] part : parts) {
                mac.update(part);
            }
            return mac.doFinal();
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(this + ": HMAC-SHA-256 is unavailable: " + e.getMessage(), e);
        } finally {
            macKey.destroy();
        }
    }

    /**
     * Encrypts with AES-256-GCM (SP 800-38D) under a fresh random 96-bit IV, which SP 800-38D
     * 8.3 allows for up to 2^32 messages per key; returns IV || ciphertext || 128-bit tag.
     */
    public byte[] sealAesGcm(byte[] key, byte[] associatedData, byte[] plaintext) {
        DestroyableKey secret = new DestroyableKey(key, "AES");
        try {
            Cipher cipher = gcmCipher();
            // No IV passed in: the module generates it, as BCFIPS requires in approved mode.
            cipher.init(Cipher.ENCRYPT_MODE, secret, drbg());
            cipher.updateAAD(associatedData);
            byte[] iv = cipher.getIV();
            byte[] body = cipher.doFinal(plaintext);
            byte[] sealed = Arrays.copyOf(iv, iv.length + body.length);
            System.arraycopy(body, 0, sealed, iv.length, body.length);
            return sealed;
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(this + ": AES-GCM is unavailable: " + e.getMessage(), e);
        } finally {
            secret.destroy();
        }
    }

    /** Decrypts {@link #sealAesGcm}'s output; throws if the tag does not verify. */
    public byte[] openAesGcm(byte[] key, byte[] associatedData, byte[] sealed) throws GeneralSecurityException {
        if (sealed.length < 12 + 16) {
            throw new GeneralSecurityException("sealed data too short");
        }
        DestroyableKey secret = new DestroyableKey(key, "AES");
        try {
            Cipher cipher = gcmCipher();
            cipher.init(Cipher.DECRYPT_MODE, secret, new GCMParameterSpec(128, sealed, 0, 12));
            cipher.updateAAD(associatedData);
            return cipher.doFinal(sealed, 12, sealed.length - 12);
        } finally {
            secret.destroy();
        }
    }

    /** Decodes a PKCS#8 RSA private key. */
    public PrivateKey rsaPrivateKey(byte[] pkcs8) throws GeneralSecurityException {
        return rsaKeyFactory().generatePrivate(new PKCS8EncodedKeySpec(pkcs8));
    }

    /** Decodes an X.509 SubjectPublicKeyInfo RSA public key. */
    public PublicKey rsaPublicKey(byte[] x509) throws GeneralSecurityException {
        return rsaKeyFactory().generatePublic(new X509EncodedKeySpec(x509));
    }

    /**
     * Derives a key from a passphrase: scrypt (RFC 7914) in DEFAULT mode, memory-hard, from
     * Bouncy Castle; PBKDF2-HMAC-SHA-512 (SP 800-132) in FIPS mode, where scrypt is not an
     * approved function. Clears nothing of the caller's; returns a fresh array to zero.
     */
    public byte[] deriveFromPassphrase(char[] passphrase, PassphraseKdf kdf) {
        return kdf.derive(passphrase, this);
    }

    /** BCFIPS, for the few services named outside this class (PBKDF2). */
    static Provider fipsProvider() {
        return Fips.provider();
    }

    private KeyFactory rsaKeyFactory() throws NoSuchAlgorithmException {
        return this == FIPS ? KeyFactory.getInstance("RSA", provider()) : KeyFactory.getInstance("RSA");
    }

    private Cipher kwpCipher() throws GeneralSecurityException {
        // Same algorithm, two names: SunJCE's transformation and BCFIPS' service name.
        return this == FIPS ? Cipher.getInstance("AESKWP", provider()) : Cipher.getInstance("AES/KWP/NoPadding");
    }

    private Cipher oaepCipher() throws GeneralSecurityException {
        return this == FIPS ? Cipher.getInstance("RSA/NONE/OAEPPadding", provider())
                : Cipher.getInstance("RSA/ECB/OAEPPadding");
    }

    private Cipher gcmCipher() throws GeneralSecurityException {
        return this == FIPS ? Cipher.getInstance("AES/GCM/NoPadding", provider())
                : Cipher.getInstance("AES/GCM/NoPadding");
    }

    /** The JDK's DRBG, one per JVM (it is thread-safe). */
    private static final class JdkDrbg {
        static final SecureRandom INSTANCE;

        static {
            try {
                INSTANCE = SecureRandom.getInstance("DRBG", DrbgParameters.instantiation(256,
                        DrbgParameters.Capability.PR_AND_RESEED, "io.sectorcrypt".getBytes(StandardCharsets.US_ASCII)));
            } catch (NoSuchAlgorithmException e) {
                throw new ExceptionInInitializerError(e);
            }
        }
    }

    /** Defers loading BCFIPS until FIPS mode is used, and turns a missing jar into the fix. */
    private static final class Fips {
        private static volatile String failure;

        static Provider provider() {
            check();
            return BcFips.provider();
        }

        static SecureRandom drbg() {
            check();
            return BcFips.drbg();
        }

        private static void check() {
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
            try {
                BcFips.provider();
            } catch (NoClassDefFoundError e) {
                failure = "FIPS mode needs Bouncy Castle FIPS on the class path: add org.bouncycastle:bc-fips:2.1.3";
                throw new IllegalStateException(failure, e);
            } catch (ExceptionInInitializerError e) {
                failure = String.valueOf(e.getCause() == null ? e : e.getCause().getMessage());
                throw new IllegalStateException(failure, e);
            }
        }
    }
}
