package io.sectorcrypt.volume.luks2;

/**
 * A LUKS2 header, keyslot or digest that this library refuses to read: a field missing, of
 * the wrong JSON type, out of range, or beyond the resource limits a reader sets. The message
 * names the object and the field and never carries key material.
 */
public class Luks2FormatException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public Luks2FormatException(String message) {
        super(message);
    }

    public Luks2FormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
