package io.sectorcrypt.bench;

import io.sectorcrypt.queue.SectorCallback;
import io.sectorcrypt.queue.SectorRequest;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import java.util.function.IntConsumer;

/**
 * A producer's requests in flight, as a storage server's submitting thread would keep them:
 * a ring of slots used in turn, each with its own reusable {@link SectorRequest}.
 *
 * <p>When the next slot is still busy, the producer spins briefly, then sleeps until half the
 * window has come back (as an io_uring client waits for several completions at once), so that
 * it neither burns a core that the workers need nor costs them a wake-up per request.
 *
 * <p>Ordering: a slot is busy from {@link #claim} until its callback has finished with it
 * (the queue releases the request just before the callback runs, so the request's own
 * in-flight flag is not enough). The callback clears the slot, fences, then reads
 * {@code sleeping}; the producer writes {@code wakeSlot} and {@code sleeping} (volatile),
 * then re-reads the slot it will be woken by: one of the two sees the other.
 */
final class RequestWindow {
    private static final int SPINS_BEFORE_SLEEP = 32;

    private final SectorRequest[] requests;
    private final AtomicIntegerArray busy;
    private final Thread producer;
    private volatile boolean sleeping;
    /** The slot whose callback wakes the sleeping producer; written before {@code sleeping}. */
    private int wakeSlot;

    /** @param onComplete told the slot of each completion, on the completing thread, before it is freed */
    RequestWindow(int size, IntConsumer onComplete) {
        this.requests = new SectorRequest[size];
        this.busy = new AtomicIntegerArray(size);
        this.producer = Thread.currentThread();
        SectorCallback done = (request, failure) -> {
            if (failure != null) {
                throw new IllegalStateException("a benchmark request failed", failure);
            }
            int slot = (Integer) request.attachment();
            onComplete.accept(slot);
            busy.set(slot, 0);
            VarHandle.fullFence(); // StoreLoad: the slot's release before the read of `sleeping`
            if (sleeping && wakeSlot == slot) {
                LockSupport.unpark(producer);
            }
        };
        for (int i = 0; i < size; i++) {
            requests[i] = new SectorRequest(done).attach(i);
        }
    }

    int size() {
        return requests.length;
    }

    /** Waits until the slot is free, marks it busy and returns its request, to be filled and submitted. */
    SectorRequest claim(int slot) {
        awaitFree(slot);
        busy.set(slot, 1);
        return requests[slot];
    }

    /** Waits for every slot. */
    void drain() {
        for (int i = 0; i < requests.length; i++) {
            awaitFree(i);
        }
    }

    private void awaitFree(int slot) {
        for (int spins = 0; busy.get(slot) != 0; spins++) {
            if (spins < SPINS_BEFORE_SLEEP) {
                Thread.onSpinWait();
                continue;
            }
            // Sleep until the slot half a window ahead completes: by then about half the
            // window is free again, and this one (older) almost surely is.
            int wake = (slot + requests.length / 2 - 1) % requests.length;
            if (busy.get(wake) == 0) {
                wake = slot;
            }
            wakeSlot = wake;
            sleeping = true;
            if (busy.get(wake) != 0) {
                LockSupport.park(this);
            }
            sleeping = false;
        }
    }
}
