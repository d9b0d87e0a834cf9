package io.sectorcrypt.queue;

import java.lang.System.Logger.Level;
import java.util.concurrent.CompletableFuture;
import java.util.function.BiConsumer;
import org.HdrHistogram.ValueRecorder;

/**
 * Completes a request exactly once: records its latency, hands it back to its owner, tells
 * the callback or completes the future, and only then counts it, so that a queue that reports
 * nothing in flight has also run every callback.
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
        // From here on the owner may refill the request: read nothing from it after this.
        request.release();
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
        (failure == null ? counters.completed : counters.failed).increment();
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
