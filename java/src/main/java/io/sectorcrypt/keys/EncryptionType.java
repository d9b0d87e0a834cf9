package io.sectorcrypt.keys;

/** How a disk's data-encryption keys are protected. */
public enum EncryptionType {
    /** One DEK wrapped under the platform's AES-256 key (AES-KWP). The default. */
    PLATFORM,
    /** One DEK wrapped under the customer's RSA key (RSA-OAEP-256 where the vault can). */
    CUSTOMER,
    /**
     * Two independent DEKs, one per layer: the customer layer under the customer's RSA key
     * and the platform layer under the platform key. Data is sealed twice.
     */
    DOUBLE
}
