package io.sectorcrypt.volume.luks2;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The hash names a LUKS2 header may give for the AF splitter and for PBKDF2 (keyslot kdf and
 * digest), as cryptsetup spells them, and the JCA names behind them. SHA-1 stays readable for
 * headers converted from LUKS1 (LUKS2 on-disk format, section 4.6); new keyslots and digests
 * use SHA-256.
 */
enum Luks2Hash {
    SHA1("sha1", "SHA-1", "HmacSHA1", 20),
    SHA256("sha256", "SHA-256", "HmacSHA256", 32),
    SHA512("sha512", "SHA-512", "HmacSHA512", 64);

    final String luksName;
    final String digestAlgorithm;
    final String macAlgorithm;
    final int length;

    Luks2Hash(String luksName, String digestAlgorithm, String macAlgorithm, int length) {
        this.luksName = luksName;
        this.digestAlgorithm = digestAlgorithm;
        this.macAlgorithm = macAlgorithm;
        this.length = length;
    }

    /**
     * The hash LUKS2 calls {@code name}.
     *
     * @throws Luks2FormatException if the name is not sha1, sha256 or sha512
     */
    static Luks2Hash of(String name, String where) {
        for (Luks2Hash h : values()) {
            if (h.luksName.equals(name)) {
                return h;
            }
        }
        throw new Luks2FormatException(where + ": unsupported hash '" + Luks2Json.printable(name)
                + "' (sha1, sha256 or sha512)");
    }

    /** A fresh digest from the JDK's providers (SHA-2 and SHA-1 are always present). */
    MessageDigest newDigest() {
        try {
            return MessageDigest.getInstance(digestAlgorithm);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(digestAlgorithm + " is unavailable in this JVM", e);
        }
    }
}
