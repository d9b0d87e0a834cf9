package io.sectorcrypt.queue;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A count that many threads add to without sharing a cache line: one cell per thread (by
 * thread id), each on 128 bytes of its own, with 128 bytes of padding before the first and
 * after the last so that neighbouring objects cannot share their lines either.
 *
 * <p>Why not {@link java.util.concurrent.atomic.LongAdder}: it adds to one {@code base} field
 * until a CAS fails, and several adders allocated together keep their bases on the same line;
 * a worker counting completions then invalidates the line a submitter counts attempts on, on
 * every request, without either CAS ever failing. 128 bytes because the L2 adjacent-line
 * prefetcher fetches lines in pairs.
 *
 * <p>Ordering: {@link #increment()} is a volatile read-modify-write and {@link #sum()} reads
 * every cell with volatile reads, which the queue's shutdown protocol relies on
 * ({@link QueueCounters}). A sum taken while others add may miss concurrent increments but
 * never counts one that has not happened.
 */
final class StripedCounter {
    /** Longs per cell: 128 bytes. */
    private static final int STRIDE = 16;
    /** Cells: a power of two, four per processor, so that a few dozen threads rarely share one. */
    private static final int CELLS = Integer.highestOneBit(Math.max(2, Runtime.getRuntime().availableProcessors()) * 8 - 1);

    private final AtomicLongArray cells = new AtomicLongArray((CELLS + 2) * STRIDE);

    void increment() {
        cells.getAndIncrement(cellOf(Thread.currentThread()));
    }

    long sum() {
        long sum = 0;
        for (int i = STRIDE; i <= CELLS * STRIDE; i += STRIDE) {
            sum += cells.get(i);
        }
        return sum;
    }

    private static int cellOf(Thread t) {
        return (int) ((t.threadId() & (CELLS - 1)) + 1) * STRIDE;
    }
}
