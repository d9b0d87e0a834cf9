package io.sectorcrypt.xts;

/** Thrown when a closed {@link XtsKey} is used: its key material has been zeroed. */
public final class KeyClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    KeyClosedException() {
        super("the XtsKey is closed: its key material was zeroed; open a new XtsKey");
    }
}
