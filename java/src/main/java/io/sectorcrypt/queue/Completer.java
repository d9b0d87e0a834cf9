package io.sectorcrypt.queue;

import java.lang.System.Logger.Level;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import org.HdrHistogram.ValueRecorder;

/**
 * Completes a request exactly once: records its latency, counts it, hands it back to its
 * owner, tells the callback or completes the future, and then counts it as settled. Counting
 * comes before the completion is published, so a thread that sees the future done (or that
 * the callback told) reads metrics that already count the request; the settled count lets
 * {@link SectorQueue#isTerminated()} still wait for every callback to return.
 *
 * <p>Callers guarantee "exactly once": a single-stripe request is completed by the one thread
 * that took it from the ring; a striped one by the thread that finished its last share.
 */
final class Completer {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt.queue");

    private final QueueCounters counters;
    private final BiConsumer<SectorRequest, Throwable> callbackErrorHandler;

    Completer(QueueCounters counters, BiConsumer<SectorRequest, Throwable> callbackErrorHandler) {
        this.counters = counters;
        this.callbackErrorHandler = callbackErrorHandler;
    }

    void complete(SectorRequest request, ValueRecorder latency) {
        Throwable failure = request.failure();
        if (request.timed) {
            latency.recordValue(Math.max(0, System.nanoTime() - request.acceptedNanos));
        }
        SectorCallback callback = request.callback();
        CompletableFuture<Void> future = request.currentFuture();
        // Counted before anything publishes the completion (the release, the callback, the
        // future): the volatile increment happens-before them, so whoever they wake sees it.
        (failure == null ? counters.completed : counters.failed).increment();
        // From here on the owner may refill the request: read nothing from it after this.
        request.release();
        try {
            publish(request, callback, future, failure);
        } finally {
            counters.settled.increment();
        }
    }

    private void publish(SectorRequest request, SectorCallback callback, CompletableFuture<Void> future,
            Throwable failure) {
        if (callback != null) {
            try {
                callback.completed(request, failure);
            } catch (Throwable t) {
                counters.callbackFailures.increment();
                reportCallbackFailure(request, t);
            }
        } else if (failure == null) {
            future.complete(null);
        } else {
            future.completeExceptionally(failure);
        }
    }

    private void reportCallbackFailure(SectorRequest request, Throwable thrown) {
        try {
            callbackErrorHandler.accept(request, thrown);
        } catch (Throwable t) {
            t.addSuppressed(thrown);
            LOG.log(Level.ERROR, "the sector queue's callback error handler threw; the worker carries on", t);
        }
    }

    /** The default handler: one log line per failure, at WARNING. */
    static void logCallbackFailure(SectorRequest request, Throwable thrown) {
        LOG.log(Level.WARNING, "a SectorRequest callback threw; the request had completed and the worker carries on: "
                + request, thrown);
    }
}
