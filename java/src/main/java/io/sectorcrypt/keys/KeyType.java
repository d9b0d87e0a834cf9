package io.sectorcrypt.keys;

import java.util.Locale;

/**
 * What a key version is: an RSA key pair a customer controls (2048, 3072 or 4096 bits), or
 * an AES-256 key-encryption key of the platform. All versions of a key have the same type.
 */
public enum KeyType {
    RSA_2048(1, "rsa", 2048),
    RSA_3072(2, "rsa", 3072),
    RSA_4096(3, "rsa", 4096),
    AES_256(4, "aes", 256);

    static final String CUSTOMER_SIZES = "customer keys are RSA 2048, 3072 or 4096 bits";

    private final int code;
    private final String family;
    private final int bits;

    KeyType(int code, String family, int bits) {
        this.code = code;
        this.family = family;
        this.bits = bits;
    }

    /**
     * Parses a type as the CLI and configuration name it: {@code rsa} with a size of 2048,
     * 3072 or 4096, or {@code aes} with no size or 256. Anything else is refused with a
     * message naming what is allowed.
     */
    public static KeyType parse(String type, Integer bits) {
        String t = type == null ? "" : type.strip().toLowerCase(Locale.ROOT);
        switch (t) {
            case "rsa" -> {
                if (bits == null) {
                    throw new IllegalArgumentException(CUSTOMER_SIZES + ": give --size 2048, 3072 or 4096");
                }
                for (KeyType k : values()) {
                    if (k.family.equals("rsa") && k.bits == bits) {
                        return k;
                    }
                }
                throw new IllegalArgumentException(CUSTOMER_SIZES + ", not " + bits);
            }
            case "aes" -> {
                if (bits != null && bits != 256) {
                    throw new IllegalArgumentException("platform keys are AES-256 only, not AES-" + bits);
                }
                return AES_256;
            }
            default -> throw new IllegalArgumentException("unknown key type '" + type
                    + "'; choose rsa (customer key: 2048, 3072 or 4096 bits) or aes (platform key: AES-256)");
        }
    }

    static KeyType ofCode(int code) {
        for (KeyType k : values()) {
            if (k.code == code) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown key type code " + code);
    }

    int code() {
        return code;
    }

    /** Whether this is a customer key (RSA), as opposed to a platform key (AES-256). */
    public boolean isCustomerKey() {
        return family.equals("rsa");
    }

    public int bits() {
        return bits;
    }

    /** "RSA-2048", ..., "AES-256". */
    public String label() {
        return family.toUpperCase(Locale.ROOT) + "-" + bits;
    }
}
