package io.sectorcrypt.queue;

import io.sectorcrypt.xts.SectorTransform;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * One sector I/O for a {@link SectorQueue}: encrypt or decrypt {@code sectorCount} sectors
 * of {@code sectorSize} bytes, the first with IV {@code firstIv} in the cipher's
 * {@link io.sectorcrypt.xts.IvConvention}, from the start of src into
 * the start of dst (the same memory for in place). Exactly as
 * {@link SectorTransform#encrypt(MemorySegment, MemorySegment, long, int)} would on those bytes.
 *
 * <p>A request is reusable: fill it, submit it, and once it has completed (its callback has
 * been called, or its future completed) fill and submit it again. A server that keeps one
 * request per I/O slot submits and completes without allocating. Two forms:
 * <ul>
 *   <li>{@link #SectorRequest(SectorCallback)}: the callback is told of every completion;</li>
 *   <li>{@link #SectorRequest()}: each submission gets a new {@link CompletableFuture},
 *       read with {@link #future()}.</li>
 * </ul>
 * A request belongs to the queue from submission to completion: filling or submitting it
 * again before then throws {@link IllegalStateException}.
 *
 * <p>Memory given to a queue with workers must be usable from other threads: a shared,
 * global or automatic arena, a heap array, or a mapped file, not a confined arena.
 *
 * <p>Ordering: the owner writes the fields below with plain stores while the request is
 * idle; {@link SectorQueue} claims it with a CAS on {@code inFlight} and publishes it to the
 * workers through the ring (a release store of the slot's sequence, read with acquire by
 * {@code poll}). Threads sharing a striped request meet only on {@code nextStripe},
 * {@code unfinishedShares} and {@code failure}; the one that takes {@code unfinishedShares}
 * to zero completes it, and hands it back to the owner with a release store of
 * {@code inFlight} before the callback runs.
 */
public final class SectorRequest {
    private static final VarHandle IN_FLIGHT;
    private static final VarHandle NEXT_STRIPE;
    private static final VarHandle UNFINISHED_SHARES;
    private static final VarHandle FAILURE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            IN_FLIGHT = lookup.findVarHandle(SectorRequest.class, "inFlight", int.class);
            NEXT_STRIPE = lookup.findVarHandle(SectorRequest.class, "nextStripe", int.class);
            UNFINISHED_SHARES = lookup.findVarHandle(SectorRequest.class, "unfinishedShares", int.class);
            FAILURE = lookup.findVarHandle(SectorRequest.class, "failure", Throwable.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    // ---- The I/O: written by the owner while the request is idle. ----
    private final SectorCallback callback;
    private Direction direction;
    private SectorTransform cipher;
    private MemorySegment src;
    private MemorySegment dst;
    private long firstIv;
    private int sectorSize;
    private long sectorCount;
    private Object attachment;

    // ---- One submission: written by the submitting thread before the ring publishes it. ----
    /** Future form only: the future of the current (or last) submission. */
    private CompletableFuture<Void> future;
    /** Submissions of this object so far: picks which ones are timed, independently of timing. */
    long submissions;
    /** Whether this submission's latency is recorded, and when it was accepted if so. */
    boolean timed;
    long acceptedNanos;
    /** src and dst cut to exactly {@link #byteCount} bytes. */
    MemorySegment srcBytes;
    MemorySegment dstBytes;
    long byteCount;
    long sectorsPerStripe;
    /** 0 for an empty request; 1 for one that runs in one piece; more for a striped one. */
    int stripeCount;
    /** Ring entries a striped request is offered as (at most one per worker). */
    int ticketCount;
    /** Links the requests of a coalesced run; touched only by the worker that built the run. */
    SectorRequest nextInRun;

    // ---- Shared by the threads working on one submission (VarHandle access only). ----
    /** 0 idle (the owner's), 1 in flight (the queue's). */
    @SuppressWarnings("unused")
    private volatile int inFlight;
    /** Striped requests: the next stripe to claim, by getAndAdd. */
    @SuppressWarnings("unused")
    private volatile int nextStripe;
    /** Striped requests: stripes plus ring tickets not finished; whoever takes it to 0 completes. */
    @SuppressWarnings("unused")
    private volatile int unfinishedShares;
    /** The first failure; later ones are dropped. */
    @SuppressWarnings("unused")
    private volatile Throwable failure;

    /** A request whose submissions complete {@link #future() futures}. */
    public SectorRequest() {
        this.callback = null;
    }

    /** A request whose completions are told to {@code callback}, with no allocation per submission. */
    public SectorRequest(SectorCallback callback) {
        this.callback = Objects.requireNonNull(callback, "callback");
    }

    /** Sets this request to encrypt; returns it. */
    public SectorRequest encrypt(SectorTransform cipher, MemorySegment src, MemorySegment dst, long firstIv,
                                 int sectorSize, long sectorCount) {
        return fill(Direction.ENCRYPT, cipher, src, dst, firstIv, sectorSize, sectorCount);
    }

    /** Sets this request to decrypt; returns it. */
    public SectorRequest decrypt(SectorTransform cipher, MemorySegment src, MemorySegment dst, long firstIv,
                                 int sectorSize, long sectorCount) {
        return fill(Direction.DECRYPT, cipher, src, dst, firstIv, sectorSize, sectorCount);
    }

    /**
     * Sets every field of the I/O; returns this request. Only nulls are refused here: the
     * queue checks the rest when the request is submitted and completes it exceptionally,
     * saying what was wrong, if it cannot run.
     */
    public SectorRequest fill(Direction direction, SectorTransform cipher, MemorySegment src, MemorySegment dst,
                              long firstIv, int sectorSize, long sectorCount) {
        requireIdle("refilled");
        this.direction = Objects.requireNonNull(direction, "direction");
        this.cipher = Objects.requireNonNull(cipher, "cipher");
        this.src = Objects.requireNonNull(src, "src");
        this.dst = Objects.requireNonNull(dst, "dst");
        this.firstIv = firstIv;
        this.sectorSize = sectorSize;
        this.sectorCount = sectorCount;
        return this;
    }

    /** Attaches any object (the caller's I/O context) for the callback to find; returns this request. */
    public SectorRequest attach(Object attachment) {
        this.attachment = attachment;
        return this;
    }

    public Object attachment() {
        return attachment;
    }

    public Direction direction() {
        return direction;
    }

    public SectorTransform cipher() {
        return cipher;
    }

    public MemorySegment src() {
        return src;
    }

    public MemorySegment dst() {
        return dst;
    }

    /** The first sector number, an unsigned 64-bit value. */
    public long firstIv() {
        return firstIv;
    }

    public int sectorSize() {
        return sectorSize;
    }

    public long sectorCount() {
        return sectorCount;
    }

    /** Whether a queue holds this request: submitted and not yet completed. */
    public boolean isInFlight() {
        return (int) IN_FLIGHT.getVolatile(this) != 0;
    }

    /**
     * The future of this request's latest submission (future form only). It completes
     * normally when every sector was written, exceptionally otherwise.
     */
    public CompletableFuture<Void> future() {
        if (callback != null) {
            throw new IllegalStateException("this request reports to a callback, not a future;"
                    + " create it with new SectorRequest() for the future form");
        }
        if (future == null) {
            throw new IllegalStateException("this request has not been submitted yet");
        }
        return future;
    }

    SectorCallback callback() {
        return callback;
    }

    CompletableFuture<Void> currentFuture() {
        return future;
    }

    /** Claims this request for a submission, or says why it cannot be submitted. */
    void claimForSubmit() {
        if (direction == null) {
            throw new IllegalStateException("the request has no I/O yet: call encrypt(...), decrypt(...) or fill(...)"
                    + " before submitting it");
        }
        if (!IN_FLIGHT.compareAndSet(this, 0, 1)) {
            throw new IllegalStateException("this request is already in flight; submit it again only after it"
                    + " completes");
        }
        // A submission refused for lack of room keeps its future for the next attempt.
        if (callback == null && (future == null || future.isDone())) {
            future = new CompletableFuture<>();
        }
    }

    /** Hands the request back to its owner; the release store orders every queue write before it. */
    void release() {
        IN_FLIGHT.setRelease(this, 0);
    }

    /**
     * Checks the I/O and sets up this submission: exact-length views of src and dst, and the
     * stripes. Throws, saying what is wrong, if the request cannot run; writes nothing.
     */
    void prepare(int stripeBytes, int maxTickets, Thread worker) {
        FAILURE.set(this, null);
        nextInRun = null;
        RequestChecks.check(this, worker);
        long bytes = sectorCount * sectorSize;
        byteCount = bytes;
        srcBytes = src.byteSize() == bytes ? src : src.asSlice(0, bytes);
        dstBytes = dst.byteSize() == bytes ? dst : dst.asSlice(0, bytes);
        if (bytes <= stripeBytes || sectorCount == 1) {
            // The common case, without a division: nothing to stripe.
            stripeCount = sectorCount == 0 ? 0 : 1;
            ticketCount = 1;
            return;
        }
        sectorsPerStripe = Math.max(1, stripeBytes / sectorSize);
        long stripes = sectorCount == 0 ? 0 : 1 + (sectorCount - 1) / sectorsPerStripe;
        if (stripes > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a request of " + sectorCount + " sectors would need " + stripes
                    + " stripes, more than 2^31 - 1; use a queue with larger stripes");
        }
        stripeCount = (int) stripes;
        ticketCount = (int) Math.max(1, Math.min(stripes, maxTickets));
        NEXT_STRIPE.set(this, 0);
        UNFINISHED_SHARES.set(this, stripeCount > 1 ? stripeCount + ticketCount : 0);
    }

    /** Claims the next stripe to process; a value {@code >= stripeCount} means none is left. */
    int claimStripe() {
        return (int) NEXT_STRIPE.getAndAdd(this, 1);
    }

    /** Claims every stripe, provided none has started; true if this thread now owns them all. */
    boolean claimAllStripesUnstarted() {
        return NEXT_STRIPE.compareAndSet(this, 0, stripeCount);
    }

    /** Marks {@code shares} stripes or tickets finished; returns how many remain. */
    int finishShares(int shares) {
        return (int) UNFINISHED_SHARES.getAndAdd(this, -shares) - shares;
    }

    /** Records a failure; the first one recorded is the one reported. */
    void fail(Throwable cause) {
        FAILURE.compareAndSet(this, null, cause);
    }

    Throwable failure() {
        return (Throwable) FAILURE.getVolatile(this);
    }

    /** The whole request in one call (the cipher splits very long runs itself). */
    void cryptAll() {
        crypt(srcBytes, dstBytes, firstIv);
    }

    /** One stripe of a striped request. */
    void cryptStripe(int stripe) {
        long firstInStripe = stripe * sectorsPerStripe;
        long sectors = Math.min(sectorsPerStripe, sectorCount - firstInStripe);
        long offset = firstInStripe * sectorSize;
        long length = sectors * sectorSize;
        crypt(srcBytes.asSlice(offset, length), dstBytes.asSlice(offset, length),
                cipher.ivConvention().ivAfter(firstIv, firstInStripe, sectorSize));
    }

    /** Sectors from {@code first} over the given memory, in this request's direction and cipher. */
    void crypt(MemorySegment in, MemorySegment out, long first) {
        if (direction == Direction.ENCRYPT) {
            cipher.encrypt(in, out, first, sectorSize);
        } else {
            cipher.decrypt(in, out, first, sectorSize);
        }
    }

    private void requireIdle(String what) {
        if (isInFlight()) {
            throw new IllegalStateException("this request is in flight and cannot be " + what
                    + " until it completes");
        }
    }

    /** Describes the I/O; never any key material (the cipher names only its algorithm and engine). */
    @Override
    public String toString() {
        return "SectorRequest[" + (direction == null ? "empty" : direction + " " + sectorCount + " sectors of "
                + sectorSize + " B from IV " + Long.toUnsignedString(firstIv) + ", " + cipher)
                + (isInFlight() ? ", in flight]" : "]");
    }
}
