package io.sectorcrypt.keys;

/**
 * A wrapped-key record could not be parsed. Deliberately one message for every cause, so
 * that a parser's error reveals nothing about which check failed.
 */
public final class InvalidWrappedKeyException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    InvalidWrappedKeyException() {
        super("invalid wrapped key");
    }
}
