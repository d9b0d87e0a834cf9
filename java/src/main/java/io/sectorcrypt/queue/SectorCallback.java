package io.sectorcrypt.queue;

/**
 * Told once when a {@link SectorRequest} completes: on a queue worker, or on the submitting
 * thread (inline mode, a request refused by validation, or one finished while the queue
 * shut down). The request is no longer in flight when this runs, so the callback may refill
 * and resubmit it at once.
 *
 * <p>Keep it short: it runs on a worker that would otherwise be encrypting. Whatever it
 * throws is handed to the queue's callback error handler and counted in
 * {@link QueueMetrics#callbackFailures()}; the worker carries on.
 */
@FunctionalInterface
public interface SectorCallback {
    /**
     * @param request the request that completed
     * @param failure null on success; otherwise why no (or not every) sector was written
     */
    void completed(SectorRequest request, Throwable failure);
}
