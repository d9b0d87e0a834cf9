package io.sectorcrypt.xts;

import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Lets many threads use a resource at once and lets one thread close it only after every
 * use in progress has ended, so key material is never zeroed under a running operation.
 *
 * <p>Uses are counted in per-thread-hashed cells, one per 128 bytes, so threads on
 * different cores do not contend for one cache line on every operation. A use increments
 * its cell and decrements the same cell when done, so a cell never goes negative and
 * {@link #close()} may wait for each cell to drain on its own.
 *
 * <p>Ordering: {@link #enter()} increments (a volatile read-modify-write) and then reads
 * {@code closed} (volatile); {@link #close()} writes {@code closed} (volatile) and then
 * reads the cells (volatile). Volatile accesses are sequentially consistent, so either
 * the entering thread sees {@code closed} and backs out, or the closing thread sees its
 * increment and waits for it.
 */
final class InFlightGuard {
    /** 16 longs = 128 bytes between cells: two cache lines, to defeat the adjacent-line prefetcher too. */
    private static final int STRIDE = 16;
    private static final int CELLS = Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors()) * 2 - 1) * 2;

    private final AtomicLongArray cells = new AtomicLongArray(CELLS * STRIDE);
    private volatile boolean closed;

    /** Starts a use. Returns the token to hand to {@link #exit(int)}. */
    int enter() {
        int slot = (int) (Thread.currentThread().threadId() & (CELLS - 1)) * STRIDE;
        cells.getAndIncrement(slot);
        if (closed) {
            cells.getAndDecrement(slot);
            throw new KeyClosedException();
        }
        return slot;
    }

    void exit(int slot) {
        cells.getAndDecrement(slot);
    }

    boolean isClosed() {
        return closed;
    }

    /**
     * Refuses new uses and waits for those in progress. Returns true for the one call that
     * closed it, false if it was already closed.
     */
    boolean close() {
        synchronized (this) {
            if (closed) {
                return false;
            }
            closed = true;
        }
        for (int slot = 0; slot < CELLS * STRIDE; slot += STRIDE) {
            // Operations are short (one downcall of at most a few MiB), so spin, then nap.
            for (int spins = 0; cells.get(slot) != 0; spins++) {
                if (spins < 1_000) {
                    Thread.onSpinWait();
                } else {
                    LockSupport.parkNanos(10_000);
                }
            }
        }
        return true;
    }
}
