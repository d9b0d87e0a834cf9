package io.sectorcrypt.queue;

import java.util.concurrent.CancellationException;
import org.HdrHistogram.ValueRecorder;
import org.jctools.queues.atomic.MpmcAtomicArrayQueue;

/**
 * Does the work one ring entry grants, on whichever thread took it (a worker, or a submitter
 * helping after a shutdown), and completes requests exactly once.
 *
 * <ul>
 *   <li>A single-stripe request runs whole, and may take contiguous followers from the head of
 *       the ring into the same downcall ({@link Coalescing}).</li>
 *   <li>A striped request is in the ring once per ticket. Each ticket holder claims stripes
 *       with {@code getAndAdd} until none is left, so stripes spread over however many workers
 *       are free, then finishes its stripes and its ticket with one {@code getAndAdd}. The
 *       count of unfinished shares starts at stripes + tickets: it cannot reach zero while a
 *       ticket is still in the ring, so a request is never handed back to its owner while the
 *       ring still refers to it, and the thread that takes it to zero completes it.</li>
 * </ul>
 * A failure (a closed key, a freed arena) fails the request, never the thread: the exception
 * is recorded and the remaining stripes are skipped. After {@code shutdownNow} a request that
 * has not started is cancelled (dst untouched); one that has started is finished.
 */
final class RequestRunner {
    private final MpmcAtomicArrayQueue<SectorRequest> ring;
    private final QueueState state;
    private final Completer completer;
    private final QueueCounters counters;
    private final boolean coalesce;
    private final long maxRunBytes;

    RequestRunner(MpmcAtomicArrayQueue<SectorRequest> ring, QueueState state, Completer completer, QueueCounters counters,
                  boolean coalesce, long maxRunBytes) {
        this.ring = ring;
        this.state = state;
        this.completer = completer;
        this.counters = counters;
        this.coalesce = coalesce;
        this.maxRunBytes = maxRunBytes;
    }

    /** Runs a request taken from the ring. */
    void runEntry(SectorRequest request, ValueRecorder latency) {
        SectorRequest next = request;
        while (next != null) {
            if (next.stripeCount > 1) {
                runShare(next, latency);
                return;
            }
            next = runSingle(next, latency);
        }
    }

    /** Runs a request on the submitting thread (inline mode): all of it, in one call. */
    void runInline(SectorRequest request, ValueRecorder latency) {
        try {
            request.cryptAll();
        } catch (RuntimeException | Error e) {
            request.fail(e);
        }
        completer.complete(request, latency);
    }

    /** Completes a request that fails before it reaches the ring (it did not pass its checks). */
    void completeRefused(SectorRequest request, RuntimeException why, ValueRecorder latency) {
        request.fail(why);
        completer.complete(request, latency);
    }

    /** Completes a request with nothing to do (zero sectors). */
    void completeEmpty(SectorRequest request, ValueRecorder latency) {
        completer.complete(request, latency);
    }

    /**
     * Runs {@code head} and any contiguous run behind it. Returns a request it took from the
     * ring while looking for followers but could not join to the run, for the caller to run
     * next, or null.
     */
    private SectorRequest runSingle(SectorRequest head, ValueRecorder latency) {
        if (state.isStopping()) {
            head.fail(cancelled());
            completer.complete(head, latency);
            return null;
        }
        SectorRequest tail = head;
        SectorRequest carried = null;
        long runBytes = head.byteCount;
        if (!coalesce && ring != null) {
            touchNext();
        }
        if (coalesce && ring != null && Coalescing.canLead(head)) {
            while (runBytes < maxRunBytes) {
                // Peek first, so that a request that cannot join stays in the ring for an idle worker.
                SectorRequest peeked = ring.relaxedPeek();
                if (peeked == null || !Coalescing.canFollow(head, tail, peeked, runBytes, maxRunBytes)) {
                    break;
                }
                SectorRequest polled = ring.poll();
                if (polled == null) {
                    break;
                }
                // Another worker may have taken the peeked request first: check what we got.
                if (polled != peeked || !Coalescing.canFollow(head, tail, polled, runBytes, maxRunBytes)) {
                    carried = polled;
                    break;
                }
                tail.nextInRun = polled;
                tail = polled;
                runBytes += polled.byteCount;
            }
        }
        try {
            if (tail == head) {
                head.cryptAll();
            } else {
                Coalescing.cryptRun(head, runBytes);
                for (SectorRequest r = head.nextInRun; r != null; r = r.nextInRun) {
                    counters.coalesced.increment();
                }
            }
        } catch (RuntimeException | Error e) {
            for (SectorRequest r = head; r != null; r = r.nextInRun) {
                r.fail(e);
            }
        }
        for (SectorRequest r = head; r != null; ) {
            SectorRequest following = r.nextInRun;
            r.nextInRun = null; // before completing: the owner may reuse r as soon as it completes
            completer.complete(r, latency);
            r = following;
        }
        return carried;
    }

    /**
     * Reads the next queued request's fields before this one runs. Its lines are dirty in the
     * submitter's cache; reading them now starts the transfers (~40 ns each between cores
     * here), which then overlap with this request's downcall instead of stalling the next
     * poll. The coalescing check reads the same fields; without either, a worker draining a
     * pre-filled ring of 4 KiB requests spent 134 ns more per request than a direct call, with
     * them 40-80 ns ({@code QueueDrainBenchmark}; best of 300 drains of 1000 requests).
     */
    private void touchNext() {
        SectorRequest next = ring.relaxedPeek();
        // A branch on what was read keeps the reads (a predicted branch does not wait for them)
        // without writing a line other workers share; byteCount is never negative, and nothing
        // here may throw: the current request has not run yet.
        if (next != null && (next.byteCount < 0 || next.srcBytes == null)) {
            Thread.onSpinWait();
        }
    }

    /** Works on a striped request for one ticket. */
    private void runShare(SectorRequest request, ValueRecorder latency) {
        int stripes = request.stripeCount;
        int finished = 0;
        if (state.isStopping() && request.claimAllStripesUnstarted()) {
            request.fail(cancelled());
            finished = stripes;
        } else {
            for (int stripe = request.claimStripe(); stripe < stripes; stripe = request.claimStripe()) {
                if (request.failure() == null) {
                    try {
                        request.cryptStripe(stripe);
                    } catch (RuntimeException | Error e) {
                        request.fail(e);
                    }
                }
                finished++;
            }
        }
        // The stripes this thread finished, plus its ticket.
        if (request.finishShares(finished + 1) == 0) {
            completer.complete(request, latency);
        }
    }

    private static CancellationException cancelled() {
        return new CancellationException("the sector queue was shut down with shutdownNow() before this request"
                + " started; dst is untouched");
    }
}
