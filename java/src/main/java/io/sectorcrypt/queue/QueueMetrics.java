package io.sectorcrypt.queue;

import org.HdrHistogram.Histogram;

/**
 * A queue's counts and latency, read while it runs ({@link SectorQueue#metrics()}). The
 * counts are read one after another, not at one instant: under load they may disagree by
 * the few requests that moved in between. A request is counted as it completes, before its
 * callback is called or its future completed, so a thread that sees the future done (or that
 * the callback told) sees the request counted, never still in flight. A callback may still be
 * running when {@code inFlight == 0}; {@link SectorQueue#awaitTermination} waits for those too.
 *
 * @param submitted        requests accepted (including those refused by their checks, which fail at once)
 * @param completed        requests that completed normally
 * @param failed           requests that completed exceptionally (bad arguments, a closed key, cancelled)
 * @param callbackFailures callbacks that threw
 * @param coalesced        requests that ran in the same downcall as the request before them
 * @param inFlight         accepted requests not yet completed
 * @param queueDepth       ring entries waiting for a worker (a striped request has up to one per worker)
 * @param latencyNanos     acceptance-to-completion latency of the sampled requests
 *                         ({@link SectorQueue.Builder#latencySampling}), in nanoseconds; a copy the
 *                         caller owns
 */
public record QueueMetrics(long submitted, long completed, long failed, long callbackFailures, long coalesced,
                           long inFlight,
                           int queueDepth, Histogram latencyNanos) {

    /** The latency at a percentile (0 to 100), in nanoseconds; 0 before any completion. */
    public long latencyNanosAt(double percentile) {
        return latencyNanos.getValueAtPercentile(percentile);
    }

    @Override
    public String toString() {
        return "QueueMetrics[submitted=" + submitted + ", completed=" + completed + ", failed=" + failed
                + ", callbackFailures=" + callbackFailures + ", coalesced=" + coalesced + ", inFlight=" + inFlight + ", queueDepth=" + queueDepth
                + ", latency p50=" + latencyNanosAt(50) + " ns, p99=" + latencyNanosAt(99) + " ns, p99.9="
                + latencyNanosAt(99.9) + " ns]";
    }
}
