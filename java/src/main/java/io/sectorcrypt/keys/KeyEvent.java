package io.sectorcrypt.keys;

import java.time.Instant;

/** What the key manager tells its {@link KeyEventListener}s. */
public sealed interface KeyEvent {
    /** When it happened, on the key manager's clock. */
    Instant time();

    /** A key version a set uses expires within the configured lead time. */
    record KeyNearExpiry(Instant time, String vaultId, String keyName, int version, Instant expires) implements KeyEvent {
    }

    /** Every disk of a set (or one layer of it) is now wrapped under a new key version. */
    record RotationDone(Instant time, String setId, String vaultId, String keyName, int toVersion, int disks)
            implements KeyEvent {
    }

    /** A disk's key became unavailable once its cache time ended: every use now fails. */
    record DiskStopped(Instant time, String diskId, String setId, String keyName, String reason) implements KeyEvent {
    }

    /** A stopped disk was attached again successfully. */
    record DiskResumed(Instant time, String diskId, String setId) implements KeyEvent {
    }
}
