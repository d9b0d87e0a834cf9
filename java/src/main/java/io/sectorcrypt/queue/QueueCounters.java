package io.sectorcrypt.queue;

import java.util.concurrent.atomic.LongAdder;

/**
 * The queue's event counts. Each is a {@link LongAdder}: producers and workers on different
 * cores add to different cells, so counting costs no cache-line transfer between them.
 *
 * <p>{@code attempts} is also part of the shutdown protocol: a submission adds to it before
 * it reads the queue state, so a thread that reads the state as shut down and then sums
 * {@code attempts} last (after the counts that only grow after an attempt) cannot miss an
 * accepted request: see {@link #inFlight()}.
 */
final class QueueCounters {
    /** Every call of trySubmit that got as far as claiming its request. */
    final LongAdder attempts = new LongAdder();
    /** Attempts refused: the ring was full or the queue shut down. */
    final LongAdder rejected = new LongAdder();
    final LongAdder completed = new LongAdder();
    final LongAdder failed = new LongAdder();
    final LongAdder callbackFailures = new LongAdder();
    /** Requests that ran in another request's downcall. */
    final LongAdder coalesced = new LongAdder();

    /**
     * Accepted requests not yet completed. Counts that only grow after an attempt are read
     * first and attempts last, so the result is never below the true number at the moment
     * attempts is read, and never negative.
     */
    long inFlight() {
        long done = completed.sum() + failed.sum() + rejected.sum();
        return attempts.sum() - done;
    }

    /** Accepted requests: attempts that were not refused. */
    long submitted() {
        long refused = rejected.sum();
        return attempts.sum() - refused;
    }
}
