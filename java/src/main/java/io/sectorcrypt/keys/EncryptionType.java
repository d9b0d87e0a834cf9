package io.sectorcrypt.keys;

/** How a disk's data-encryption keys are protected. */
public enum EncryptionType {
    /** One DEK wrapped under the platform's AES-256 key (AES-KWP). The default. */
    PLATFORM,
    /** One DEK wrapped under the customer's RSA key (RSA-OAEP-256 where the vault can). */
    CUSTOMER,
    /**
     * Two independent DEKs, one per layer, and data sealed twice: the disk's XTS key under the
     * set's own key (platform AES or customer RSA), and an outer HCTR2-AES-256 key always
     * under the key manager's platform key. A stored sector is HCTR2(outer, XTS(inner, data)).
     */
    DOUBLE
}
