package io.sectorcrypt.keys;

/**
 * How a data-encryption key was wrapped, recorded in every {@link WrappedKey} so that a
 * reader never guesses. Codes are part of the wrapped-key format: never reuse one.
 */
public enum WrapAlgorithm {
    /** AES key wrap with padding, RFC 5649 / SP 800-38F KWP, under an AES-256 platform key. */
    AES_KWP(1, "AES-KWP"),
    /** RSA-OAEP with SHA-256 and MGF1-SHA-256 (RFC 8017 7.1), under a customer RSA key. */
    RSA_OAEP_256(2, "RSA-OAEP-256"),
    /**
     * RSA-OAEP with SHA-1 and MGF1-SHA-1: only where a vault cannot do SHA-256 (SoftHSM 2.6
     * through PKCS#11). Still allowed for key transport by SP 800-56B Rev. 2.
     */
    RSA_OAEP(3, "RSA-OAEP");

    private final int code;
    private final String label;

    WrapAlgorithm(int code, String label) {
        this.code = code;
        this.label = label;
    }

    int code() {
        return code;
    }

    /** The JOSE-style name: "AES-KWP", "RSA-OAEP-256", "RSA-OAEP". */
    public String label() {
        return label;
    }

    /** The algorithm with this {@link #label()}, or null if none has it. */
    public static WrapAlgorithm ofLabel(String label) {
        for (WrapAlgorithm a : values()) {
            if (a.label.equals(label)) {
                return a;
            }
        }
        return null;
    }

    static WrapAlgorithm ofCode(int code) {
        for (WrapAlgorithm a : values()) {
            if (a.code == code) {
                return a;
            }
        }
        return null;
    }
}
