package io.sectorcrypt.queue;

import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.locks.LockSupport;
import org.jctools.queues.atomic.MpmcAtomicArrayQueue;

/**
 * Lets a worker with nothing to do sleep, and a submitter wake one, without a lock and
 * without a lost wake-up.
 *
 * <p>Layout: one {@link AtomicIntegerArray}, one cell per 128 bytes (32 ints): the cell of
 * {@code parkedCount}, then one {@code parked} flag per worker, with a 128-byte cell of
 * padding before and after. 128 bytes rather than 64 because the L2 adjacent-line prefetcher
 * pulls lines in pairs. Submitters read {@code parkedCount} on every submission; it changes
 * only when a worker falls asleep or is woken, so under load its line stays shared and clean.
 *
 * <p>Ordering (all accesses volatile, hence in one total order). A worker sets its flag,
 * increments {@code parkedCount}, then checks the ring ({@code isEmpty} reads both indices)
 * and sleeps only if it is empty. A submitter CASes the ring's producer index (inside
 * {@code offer}), then reads {@code parkedCount}. Either the submitter's read comes after the
 * worker's increment (it sees the count, and the flag set before it, and wakes a worker), or
 * it comes before, in which case the offer's CAS came before the worker's check and the
 * worker sees the request and stays awake. A flag goes from 1 to 0 by one CAS, by the worker
 * itself or by exactly one waker, and that CAS's winner decrements the count.
 */
final class IdleWorkers {
    private static final int STRIDE = 32;
    private static final int PARKED_COUNT = STRIDE;

    private final AtomicIntegerArray cells;
    private final MpmcAtomicArrayQueue<SectorRequest> ring;
    private final QueueState state;
    private Worker[] workers = new Worker[0];

    IdleWorkers(int workerCount, MpmcAtomicArrayQueue<SectorRequest> ring, QueueState state) {
        this.cells = new AtomicIntegerArray((workerCount + 3) * STRIDE);
        this.ring = ring;
        this.state = state;
    }

    /** Set once, before any worker starts (Thread.start publishes it). */
    void register(Worker[] all) {
        this.workers = all;
    }

    private static int flag(int worker) {
        return (worker + 2) * STRIDE;
    }

    /** Called by a worker that found no work: sleeps until woken, unless work or a shutdown shows up. */
    void park(Worker worker) {
        int flag = flag(worker.index);
        cells.set(flag, 1);
        cells.getAndIncrement(PARKED_COUNT);
        if (!ring.isEmpty() || state.isShutdown()) {
            if (cells.compareAndSet(flag, 1, 0)) {
                cells.getAndDecrement(PARKED_COUNT);
            }
            return; // else a waker took the flag and will unpark us: the permit is harmless
        }
        while (cells.get(flag) == 1) {
            LockSupport.park(this);
            Thread.interrupted(); // an interrupt is no wake-up here, and would make park() return at once
        }
    }

    /** Wakes one sleeping worker, if any sleeps. Called after each ring entry is published. */
    void wakeOne() {
        if (cells.get(PARKED_COUNT) == 0) {
            return;
        }
        for (Worker w : workers) {
            if (wake(w)) {
                return;
            }
        }
    }

    /** Wakes every sleeping worker (shutdown). */
    void wakeAll() {
        for (Worker w : workers) {
            wake(w);
        }
    }

    private boolean wake(Worker w) {
        int flag = flag(w.index);
        if (cells.get(flag) == 1 && cells.compareAndSet(flag, 1, 0)) {
            cells.getAndDecrement(PARKED_COUNT);
            LockSupport.unpark(w);
            return true;
        }
        return false;
    }

    /** How many workers sleep now (for tests and metrics). */
    int parkedCount() {
        return cells.get(PARKED_COUNT);
    }
}
