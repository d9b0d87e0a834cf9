package io.sectorcrypt.volume.luks2;

/**
 * A LUKS2 header (binary header, JSON metadata, keyslot or token) that is corrupt, hostile or
 * uses a feature this implementation does not support. The message names the disk and says
 * what was wrong; it never carries key material.
 */
public final class Luks2FormatException extends RuntimeException {
    public Luks2FormatException(String message) {
        super(message);
    }

    public Luks2FormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
