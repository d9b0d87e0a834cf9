package io.sectorcrypt.queue;

import io.sectorcrypt.xts.SectorTransform;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BiConsumer;
import org.HdrHistogram.ValueRecorder;
import org.jctools.queues.atomic.MpmcAtomicArrayQueue;

/**
 * Runs sector requests from many threads on a pool of worker threads: a bounded lock-free
 * ring between them, large requests split into stripes that every free worker helps with,
 * small contiguous ones joined into one call, back-pressure when full, and a clean shutdown.
 *
 * <pre>{@code
 * try (SectorQueue queue = SectorQueue.builder().build()) {          // one worker per core
 *     queue.encrypt(cipher, plain, sealed, firstIv, 4096, 256, Duration.ofSeconds(1)).join();
 *
 *     SectorRequest io = new SectorRequest((request, failure) -> done(request.attachment(), failure));
 *     io.encrypt(cipher, plain, sealed, firstIv, 4096, 1).attach(context);
 *     if (!queue.trySubmit(io)) { ... full: retry later, or queue.submit(io, maxWait) ... }
 * }
 * }</pre>
 *
 * <h2>Structure</h2>
 * A JCTools {@link MpmcAtomicArrayQueue} (Vyukov's bounded MPMC ring: a CAS on the producer or
 * consumer index, then a release store of the slot's sequence number; the two indices sit
 * on cache lines of their own) carries requests to {@link Worker}s. A request of at most one
 * stripe ({@link Builder#stripeBytes}) is one ring entry; a larger one is entered once per
 * worker, up to its stripe count, and those workers share its stripes ({@link RequestRunner}).
 * Workers spin briefly, then sleep in {@link IdleWorkers}. Counters and the latency histogram
 * are per-thread or striped ({@link QueueCounters}, {@link LatencyRecording}), so no line is
 * written by both producers and workers except the ring's and the request's own.
 *
 * <p>The ring is JCTools' {@code atomic} variant, on {@code AtomicLongArray} and field
 * updaters, because the {@code sun.misc.Unsafe} variant makes JDK 24 and later print a
 * deprecation warning in every application that loads it (JEP 498) and will stop working
 * when a later JDK denies that access.
 *
 * <p>The ring is lock-free in the usual sense of a Vyukov ring: no thread waits for a lock,
 * but a submitter descheduled between claiming a slot and publishing it holds up consumers of
 * that one slot until it runs again.
 *
 * <h2>Modes</h2>
 * {@link Mode#WORKERS} runs requests on the pool. {@link Mode#INLINE} runs each on the thread
 * that submits it, as dm-crypt does with {@code no_read_workqueue}/{@code no_write_workqueue}:
 * no handoff and no wake-up, the lowest latency when submitters are many and each can afford
 * the work; the same API, checks, metrics and shutdown.
 *
 * <h2>Completion</h2>
 * Every accepted request completes exactly once: normally when every sector was written;
 * exceptionally if it failed its checks (at once, on the submitting thread, with a message
 * saying what was wrong), its key was closed, its memory freed, or it was cancelled by
 * {@link #shutdownNow()}. A failure fails the request, never a worker. A failed striped
 * request may have written some sectors of dst (each sector is written whole or not at all);
 * a cancelled one has written none. Callbacks, and a future's dependent stages other than the
 * {@code *Async} ones, run on the thread that completed the request, usually a worker: keep
 * them short.
 *
 * <h2>Shutdown</h2>
 * {@link #shutdown()} refuses new requests and lets accepted ones finish; {@link #shutdownNow()}
 * also cancels those not started. Ordering with submitters racing a shutdown: a submission
 * counts itself in {@link QueueCounters#attempts}, then reads the state, then publishes to the
 * ring, then reads the state again. Workers stop only once they have seen the queue shut down
 * and the ring empty; a submitter whose second read sees the shutdown therefore cannot know
 * whether a worker will take its entry, and drains the ring itself: each entry is taken by
 * exactly one thread, whichever it is. {@link #awaitTermination} waits for the workers, then
 * for {@link QueueCounters#inFlight()} to reach zero and for every callback to have returned
 * ({@link QueueCounters#settling()}).
 */
public final class SectorQueue implements AutoCloseable {
    /** Where requests run. */
    public enum Mode {
        /** On the queue's worker threads. */
        WORKERS,
        /** On the submitting thread, in {@code trySubmit}/{@code submit}. */
        INLINE
    }

    private static final AtomicInteger QUEUE_NUMBERS = new AtomicInteger();

    private final String name;
    private final Mode mode;
    private final int stripeBytes;
    private final boolean coalesce;
    private final QueueState state = new QueueState();
    private final QueueCounters counters = new QueueCounters();
    private final LatencyRecording latency = new LatencyRecording();
    /** Null in inline mode. */
    private final MpmcAtomicArrayQueue<SectorRequest> ring;
    private final RequestRunner runner;
    private final IdleWorkers idle;
    private final Worker[] workers;
    /** Tickets per striped request: one per worker. */
    private final int maxTickets;
    /** Time one submission in (mask + 1) of each request. */
    private final long latencySampleMask;
    /** Test seam: runs after a submission passed its checks, just before its first offer. */
    private final Runnable beforeOffer;

    private SectorQueue(Builder b) {
        this.mode = b.mode;
        this.stripeBytes = b.stripeBytes;
        this.coalesce = b.coalesce;
        this.beforeOffer = b.beforeOffer;
        this.latencySampleMask = b.latencySampling - 1;
        this.name = b.name != null ? b.name : "sectorcrypt-queue-" + QUEUE_NUMBERS.incrementAndGet();
        Completer completer = new Completer(counters, b.callbackErrorHandler);
        if (mode == Mode.INLINE) {
            this.ring = null;
            this.idle = null;
            this.workers = new Worker[0];
            this.maxTickets = 1;
            this.runner = new RequestRunner(null, state, completer, counters, false, stripeBytes);
            return;
        }
        this.ring = new MpmcAtomicArrayQueue<>(b.capacity);
        this.runner = new RequestRunner(ring, state, completer, counters, coalesce, stripeBytes);
        this.idle = new IdleWorkers(b.workers, ring, state);
        this.workers = new Worker[b.workers];
        this.maxTickets = b.workers;
        long spinNanos = b.idleSpin.toNanos();
        for (int i = 0; i < workers.length; i++) {
            workers[i] = new Worker(this, i, name + "-worker-" + i, ring, state, runner, idle,
                    latency.newRecorder(), spinNanos);
        }
        idle.register(workers);
        for (Worker w : workers) {
            w.start();
        }
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Submits a request if there is room. Returns false, leaving the request idle and
     * untouched, if the ring is full; never waits. Returns true once the request is accepted;
     * it then completes exactly once. In inline mode the request has run when this returns.
     *
     * @throws RejectedExecutionException if the queue is shut down (the request stays idle)
     * @throws IllegalStateException      if the request is in flight or was never filled
     */
    public boolean trySubmit(SectorRequest request) {
        return submitOnce(request, false);
    }

    /**
     * Submits a request, waiting for room for at most {@code maxWait}: spinning briefly, then
     * sleeping in steps of up to 100 µs. Called from one of this queue's own workers (a
     * callback) on a full ring, it runs the request on that thread instead of waiting for
     * itself.
     *
     * @throws InterruptedException       if interrupted while waiting (the request stays idle)
     * @throws TimeoutException           if the ring stayed full for {@code maxWait} (the request stays idle)
     * @throws RejectedExecutionException if the queue is shut down
     */
    public void submit(SectorRequest request, Duration maxWait) throws InterruptedException, TimeoutException {
        Objects.requireNonNull(request, "request");
        long waitNanos = nonNegative(maxWait, "maxWait").toNanos();
        if (Thread.interrupted()) {
            throw new InterruptedException("interrupted before submitting to the sector queue; the request was not"
                    + " submitted");
        }
        if (submitOnce(request, false)) {
            return;
        }
        if (isOwnWorker(Thread.currentThread())) {
            submitOnce(request, true);
            return;
        }
        long start = System.nanoTime();
        for (int round = 1; ; round++) {
            long remaining = waitNanos - (System.nanoTime() - start);
            if (remaining <= 0) {
                throw new TimeoutException("the sector queue stayed full for " + maxWait + " (" + capacity()
                        + " slots); the request was not submitted");
            }
            if (round <= 100) {
                Thread.onSpinWait();
            } else if (round <= 110) {
                Thread.yield();
            } else {
                // Submitters poll rather than being woken, so workers never pay for waking them.
                LockSupport.parkNanos(this, Math.min(remaining, 1_000L << Math.min(round - 110, 7)));
            }
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for room in the sector queue; the request"
                        + " was not submitted");
            }
            if (submitOnce(request, false)) {
                return;
            }
        }
    }

    /**
     * Encrypts {@code sectorCount} sectors of src into dst, on the queue; waits at most
     * {@code maxWait} for room. The future completes when every sector is written.
     */
    public CompletableFuture<Void> encrypt(SectorTransform cipher, MemorySegment src, MemorySegment dst,
                                           long firstIv, int sectorSize, long sectorCount, Duration maxWait)
            throws InterruptedException, TimeoutException {
        SectorRequest request = new SectorRequest().encrypt(cipher, src, dst, firstIv, sectorSize, sectorCount);
        submit(request, maxWait);
        return request.future();
    }

    /** Decrypts like {@link #encrypt(SectorTransform, MemorySegment, MemorySegment, long, int, long, Duration)}. */
    public CompletableFuture<Void> decrypt(SectorTransform cipher, MemorySegment src, MemorySegment dst,
                                           long firstIv, int sectorSize, long sectorCount, Duration maxWait)
            throws InterruptedException, TimeoutException {
        SectorRequest request = new SectorRequest().decrypt(cipher, src, dst, firstIv, sectorSize, sectorCount);
        submit(request, maxWait);
        return request.future();
    }

    /**
     * One attempt. Everything the workers need is written to the request and read into locals
     * before the first ring offer: from that offer on, the request may complete and be refilled
     * by its owner at any moment.
     */
    private boolean submitOnce(SectorRequest request, boolean runHere) {
        Objects.requireNonNull(request, "request");
        request.claimForSubmit();
        counters.attempts.increment();
        if (!state.isRunning()) {
            counters.rejected.increment();
            request.release();
            throw new RejectedExecutionException("the sector queue " + name + " is shut down and accepts no more"
                    + " requests");
        }
        // A clock read costs ~25 ns, a tenth of a 4 KiB request: time one submission in
        // latencySampling of each request object (chosen by count, so unbiased).
        boolean timed = (request.submissions++ & latencySampleMask) == 0;
        request.timed = timed;
        if (timed) {
            request.acceptedNanos = System.nanoTime();
        }
        try {
            request.prepare(stripeBytes, maxTickets, ring == null ? null : workers[0]);
        } catch (RuntimeException invalid) {
            runner.completeRefused(request, invalid, recorderForCallingThread());
            return true;
        }
        if (request.stripeCount == 0) {
            runner.completeEmpty(request, recorderForCallingThread());
            return true;
        }
        if (ring == null || runHere) {
            runner.runInline(request, recorderForCallingThread());
            return true;
        }
        int tickets = request.ticketCount;
        if (beforeOffer != null) {
            beforeOffer.run();
        }
        if (!ring.offer(request)) {
            counters.rejected.increment();
            request.release();
            return false;
        }
        idle.wakeOne();
        if (tickets > 1) {
            issueMoreTickets(request, tickets);
        }
        if (!state.isRunning()) {
            drainAfterShutdown();
        }
        return true;
    }

    /**
     * Offers the rest of a striped request's tickets. A ticket that finds no room is not
     * needed for correctness (any one ticket holder works until no stripe is left), so its
     * share is given up instead, and if that was the last share this thread completes it.
     */
    private void issueMoreTickets(SectorRequest request, int tickets) {
        int issued = 1;
        while (issued < tickets && ring.offer(request)) {
            issued++;
            idle.wakeOne();
        }
        if (issued < tickets && request.finishShares(tickets - issued) == 0) {
            runner.completeEmpty(request, recorderForCallingThread());
        }
    }

    /** This submission raced a shutdown: the workers may be gone, so run what is left here. */
    private void drainAfterShutdown() {
        ValueRecorder recorder = recorderForCallingThread();
        for (SectorRequest entry = ring.poll(); entry != null; entry = ring.poll()) {
            runner.runEntry(entry, recorder);
        }
    }

    private ValueRecorder recorderForCallingThread() {
        return Thread.currentThread() instanceof Worker w && w.belongsTo(this) ? w.latency
                : latency.forCallingThread();
    }

    private boolean isOwnWorker(Thread thread) {
        return thread instanceof Worker w && w.belongsTo(this);
    }

    /** Refuses new requests; those accepted still run. Returns at once. */
    public void shutdown() {
        if (state.shutdown() && idle != null) {
            idle.wakeAll();
        }
    }

    /**
     * Refuses new requests and cancels accepted ones that have not started: they complete
     * exceptionally with a {@link java.util.concurrent.CancellationException}. Requests already
     * being processed finish. Returns at once.
     */
    public void shutdownNow() {
        if (state.stop() && idle != null) {
            idle.wakeAll();
        }
    }

    public boolean isShutdown() {
        return state.isShutdown();
    }

    /** Shut down, every worker stopped, every accepted request completed and every callback returned. */
    public boolean isTerminated() {
        return state.isShutdown() && workersStopped() && counters.inFlight() == 0 && counters.settling() == 0;
    }

    /**
     * Waits until {@link #isTerminated()} or the timeout. Returns whether it terminated.
     *
     * @throws IllegalStateException if called from one of this queue's workers (a callback),
     *                               which would wait for itself
     */
    public boolean awaitTermination(Duration timeout) throws InterruptedException {
        long timeoutNanos = nonNegative(timeout, "timeout").toNanos();
        if (isOwnWorker(Thread.currentThread())) {
            throw new IllegalStateException("awaitTermination/close called from a callback on the queue's own worker"
                    + " would wait for itself");
        }
        long start = System.nanoTime();
        for (Worker w : workers) {
            long remaining = timeoutNanos - (System.nanoTime() - start);
            if (remaining <= 0 || !w.join(Duration.ofNanos(remaining))) {
                return false;
            }
        }
        // Workers are gone; a submitter that raced the shutdown may still be draining.
        for (int round = 0; !isTerminated(); round++) {
            long remaining = timeoutNanos - (System.nanoTime() - start);
            if (remaining <= 0) {
                return false;
            }
            LockSupport.parkNanos(this, Math.min(remaining, 1_000L << Math.min(round, 10)));
            if (Thread.interrupted()) {
                throw new InterruptedException("interrupted while waiting for the sector queue to terminate");
            }
        }
        return true;
    }

    /**
     * Shuts down and waits for every accepted request to complete. If interrupted while
     * waiting, cancels what has not started ({@link #shutdownNow()}), keeps waiting for what
     * has, and returns with the interrupt flag set.
     */
    @Override
    public void close() {
        shutdown();
        boolean interrupted = false;
        while (true) {
            try {
                if (awaitTermination(Duration.ofDays(1))) {
                    break;
                }
            } catch (InterruptedException e) {
                if (!interrupted) {
                    shutdownNow();
                    interrupted = true;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Counts and latency so far; cheap enough to poll every second while the queue runs. The
     * first call swaps the workers' latency recorders for the first time, which makes the JIT
     * recompile their recording path once (measured: ~100 ms of slower requests); a monitor
     * that polls regularly pays this once, at its first poll.
     */
    public QueueMetrics metrics() {
        long callbackFailures = counters.callbackFailures.sum();
        long coalesced = counters.coalesced.sum();
        long completed = counters.completed.sum();
        long failed = counters.failed.sum();
        long inFlight = counters.inFlight();
        long submitted = counters.submitted();
        return new QueueMetrics(submitted, completed, failed, callbackFailures, coalesced, inFlight,
                ring == null ? 0 : ring.size(), latency.snapshot());
    }

    public Mode mode() {
        return mode;
    }

    /** Worker threads (0 in inline mode). */
    public int workers() {
        return workers.length;
    }

    /** Ring slots: the requested capacity rounded up to a power of two (0 in inline mode). */
    public int capacity() {
        return ring == null ? 0 : ring.capacity();
    }

    public int stripeBytes() {
        return stripeBytes;
    }

    public boolean coalesces() {
        return coalesce && ring != null;
    }

    /** Whether every worker thread has ended; for tests. */
    boolean workersStopped() {
        for (Worker w : workers) {
            if (w.isAlive()) {
                return false;
            }
        }
        return true;
    }

    /** How many workers sleep right now (0 in inline mode); for tests and diagnostics. */
    int parkedWorkers() {
        return idle == null ? 0 : idle.parkedCount();
    }

    @Override
    public String toString() {
        return "SectorQueue[" + name + ", " + mode + (ring == null ? "" : ", " + workers.length + " workers, "
                + capacity() + " slots") + ", stripes of " + stripeBytes + " B"
                + (state.isShutdown() ? ", shut down]" : "]");
    }

    private static Duration nonNegative(Duration d, String what) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + " " + d + " is negative");
        }
        return d;
    }

    /** Settings of a queue; every one has a default. */
    public static final class Builder {
        /** Default stripe: 64 KiB, 16 sectors of 4 KiB: long enough to amortise the call, short enough to spread. */
        public static final int DEFAULT_STRIPE_BYTES = 64 * 1024;
        public static final int DEFAULT_CAPACITY = 1024;
        /** Default idle spin before a worker sleeps; a wake-up from sleep costs tens of microseconds. */
        public static final Duration DEFAULT_IDLE_SPIN = Duration.ofNanos(50_000);
        /** Default: time one submission in 8 of each request object. */
        public static final int DEFAULT_LATENCY_SAMPLING = 8;

        private Mode mode = Mode.WORKERS;
        private int workers = Runtime.getRuntime().availableProcessors();
        private int capacity = DEFAULT_CAPACITY;
        private int stripeBytes = DEFAULT_STRIPE_BYTES;
        private boolean coalesce = true;
        private Duration idleSpin = DEFAULT_IDLE_SPIN;
        private String name;
        private BiConsumer<SectorRequest, Throwable> callbackErrorHandler = Completer::logCallbackFailure;
        private Runnable beforeOffer;
        private int latencySampling = DEFAULT_LATENCY_SAMPLING;

        private Builder() {
        }

        /** WORKERS (default) or INLINE. */
        public Builder mode(Mode mode) {
            this.mode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /** Worker threads, 1 to 1024; default: one per available processor. */
        public Builder workers(int workers) {
            if (workers < 1 || workers > 1024) {
                throw new IllegalArgumentException("workers must be 1 .. 1024, not " + workers);
            }
            this.workers = workers;
            return this;
        }

        /** Ring slots, 2 to 2^30, rounded up to a power of two; default 1024. */
        public Builder capacity(int capacity) {
            if (capacity < 2 || capacity > 1 << 30) {
                throw new IllegalArgumentException("capacity must be 2 .. 2^30 ring slots, not " + capacity);
            }
            this.capacity = capacity;
            return this;
        }

        /**
         * Bytes per stripe, 512 B to 1 GiB; default 64 KiB. A request longer than this is split
         * into stripes of whole sectors (at least one sector each) spread over the workers;
         * shorter contiguous requests are joined up to this length.
         */
        public Builder stripeBytes(int stripeBytes) {
            if (stripeBytes < 512 || stripeBytes > 1 << 30) {
                throw new IllegalArgumentException("stripe size must be 512 .. 1073741824 bytes, not " + stripeBytes);
            }
            this.stripeBytes = stripeBytes;
            return this;
        }

        /** Whether contiguous small requests may share one downcall ({@link Coalescing}); default true. */
        public Builder coalesce(boolean coalesce) {
            this.coalesce = coalesce;
            return this;
        }

        /** How long an idle worker spins before it sleeps, 0 to 1 s; default 50 µs. */
        public Builder idleSpin(Duration idleSpin) {
            nonNegative(idleSpin, "idle spin");
            if (idleSpin.compareTo(Duration.ofSeconds(1)) > 0) {
                throw new IllegalArgumentException("idle spin must be at most 1 s, not " + idleSpin);
            }
            this.idleSpin = idleSpin;
            return this;
        }

        /**
         * Time one submission in {@code everyNth} of each request object for the latency
         * histogram: 1 (all) to 1024, a power of two; default 8. Two clock reads cost about
         * 50 ns, a sixth of a 4 KiB request at 12 GB/s; sampling keeps the percentiles (the
         * choice depends on a count, never on timing) at a fraction of the cost.
         */
        public Builder latencySampling(int everyNth) {
            if (everyNth < 1 || everyNth > 1024 || Integer.bitCount(everyNth) != 1) {
                throw new IllegalArgumentException("latency sampling must be a power of two from 1 to 1024, not "
                        + everyNth);
            }
            this.latencySampling = everyNth;
            return this;
        }

        /** Prefix of the worker threads' names. */
        public Builder name(String name) {
            this.name = Objects.requireNonNull(name, "name");
            return this;
        }

        /** Told whenever a callback throws; default: a WARNING log line. */
        public Builder callbackErrorHandler(BiConsumer<SectorRequest, Throwable> handler) {
            this.callbackErrorHandler = Objects.requireNonNull(handler, "handler");
            return this;
        }

        /**
         * For tests only: an action run just before each ring offer, to force interleavings
         * that timing alone almost never produces (a shutdown between a submission's checks and
         * its offer).
         */
        Builder beforeOffer(Runnable action) {
            this.beforeOffer = action;
            return this;
        }

        public SectorQueue build() {
            return new SectorQueue(this);
        }
    }
}
