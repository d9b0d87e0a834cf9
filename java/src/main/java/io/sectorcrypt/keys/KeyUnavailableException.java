package io.sectorcrypt.keys;

/**
 * A disk cannot be used because its key is unavailable: the key version was disabled,
 * deleted or expired, or the set's identity lost access, and the cached key's time is up.
 * The message names the disk, the encryption set and the key; never key material.
 */
public final class KeyUnavailableException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String diskId;
    private final String setId;
    private final String keyName;
    private final String vaultId;
    private final String reason;

    KeyUnavailableException(String diskId, String setId, String vaultId, String keyName, String reason,
            Throwable cause) {
        super("disk '" + diskId + "' of encryption set '" + setId + "' is stopped: key '" + keyName + "' in vault '"
                + vaultId + "' is unavailable (" + reason + ")", cause);
        this.diskId = diskId;
        this.setId = setId;
        this.keyName = keyName;
        this.vaultId = vaultId;
        this.reason = reason;
    }

    String vaultIdForCopy() {
        return vaultId;
    }

    String reasonForCopy() {
        return reason;
    }

    /**
     * The same failure, its reason saying first what could not be done: for a caller whose
     * disk id means nothing to its user (a disk being restored from a snapshot file, named in
     * {@code what}).
     */
    public KeyUnavailableException whileDoing(String what) {
        return new KeyUnavailableException(diskId, setId, vaultId, keyName, what + ": " + reason, this);
    }

    public String diskId() {
        return diskId;
    }

    public String setId() {
        return setId;
    }

    public String keyName() {
        return keyName;
    }
}
