package io.sectorcrypt.queue;

/**
 * The queue's event counts. Each is a {@link StripedCounter}: producers and workers add to
 * cells of their own, so counting costs no cache-line transfer between them.
 *
 * <p>{@code attempts} is also part of the shutdown protocol: a submission adds to it before
 * it reads the queue state, so a thread that reads the state as shut down and then sums
 * {@code attempts} last (after the counts that only grow after an attempt) cannot miss an
 * accepted request: see {@link #inFlight()}.
 */
final class QueueCounters {
    /** Every call of trySubmit that got as far as claiming its request. */
    final StripedCounter attempts = new StripedCounter();
    /** Attempts refused: the ring was full or the queue shut down. */
    final StripedCounter rejected = new StripedCounter();
    /** Completions, counted before they are published (see {@link Completer}). */
    final StripedCounter completed = new StripedCounter();
    final StripedCounter failed = new StripedCounter();
    /** Completions whose callback has returned, or whose future has been completed. */
    final StripedCounter settled = new StripedCounter();
    final StripedCounter callbackFailures = new StripedCounter();
    /** Requests that ran in another request's downcall. */
    final StripedCounter coalesced = new StripedCounter();

    /**
     * Accepted requests not yet completed. Counts that only grow after an attempt are read
     * first and attempts last, so the result is never below the true number at the moment
     * attempts is read, and never negative.
     */
    long inFlight() {
        long done = completed.sum() + failed.sum() + rejected.sum();
        return attempts.sum() - done;
    }

    /**
     * Completions counted but not yet settled: callbacks still running. Settled is read
     * first: it only grows after completed or failed has for the same request, so a zero
     * here means every completion counted so far has settled.
     */
    long settling() {
        long done = settled.sum();
        return completed.sum() + failed.sum() - done;
    }

    /** Accepted requests: attempts that were not refused. */
    long submitted() {
        long refused = rejected.sum();
        return attempts.sum() - refused;
    }
}
