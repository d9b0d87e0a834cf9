package io.sectorcrypt.xts;

/**
 * Thrown when a closed key ({@link XtsKey}, or the HCTR2 key of a disk's outer layer) is
 * used: its key material has been zeroed. One type for every key, so that a volume whose
 * keys close under an I/O (the disk stopped or moved) tells that case apart from others.
 */
public final class KeyClosedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    KeyClosedException() {
        this("XtsKey");
    }

    /** @param keyClass the simple name of the closed key's class, for the message */
    public KeyClosedException(String keyClass) {
        super("the " + keyClass + " is closed: its key material was zeroed; open a new " + keyClass);
    }
}
