package io.sectorcrypt.queue;

/** What a {@link SectorRequest} does to its sectors. */
public enum Direction {
    ENCRYPT,
    DECRYPT
}
