package io.sectorcrypt.volume;

/** The volume (its data file or detached header) is open elsewhere, in this process or another. */
public final class VolumeInUseException extends RuntimeException {
    public VolumeInUseException(String message) {
        super(message);
    }
}
