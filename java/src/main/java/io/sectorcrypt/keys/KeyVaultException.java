package io.sectorcrypt.keys;

/**
 * A vault refused or failed an operation. The message names the vault, key and version
 * and the reason; never key material.
 */
public class KeyVaultException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Why the vault said no. */
    public enum Reason {
        /** No such key or version. */
        NOT_FOUND,
        /** The key already exists. */
        ALREADY_EXISTS,
        /** The version is disabled. */
        DISABLED,
        /** The version has expired. */
        EXPIRED,
        /** The key is soft-deleted. */
        DELETED,
        /** The identity lacks the permission. */
        ACCESS_DENIED,
        /** The request is malformed or not allowed (wrong type, bad name, FIPS rule). */
        INVALID_REQUEST,
        /** The wrapped bytes did not unwrap (wrong key or altered). */
        UNWRAP_FAILED,
        /** The vault's storage or token failed. */
        STORAGE
    }

    private final Reason reason;

    public KeyVaultException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public KeyVaultException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    public Reason reason() {
        return reason;
    }

    /** Whether the failure comes from the key's state or access, so a disk must stop. */
    public boolean isRevocation() {
        return switch (reason) {
            case NOT_FOUND, DISABLED, EXPIRED, DELETED, ACCESS_DENIED -> true;
            default -> false;
        };
    }
}
