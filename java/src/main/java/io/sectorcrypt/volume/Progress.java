package io.sectorcrypt.volume;

/** Told how far a long operation (a snapshot, a restore) has come; called from the working thread. */
@FunctionalInterface
public interface Progress {
    /** Reports nothing. */
    Progress NONE = (done, total) -> { };

    /** {@code done} of {@code total} bytes are done. */
    void update(long done, long total);
}
