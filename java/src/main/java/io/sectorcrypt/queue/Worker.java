package io.sectorcrypt.queue;

import java.lang.System.Logger.Level;
import org.HdrHistogram.SingleWriterRecorder;
import org.jctools.queues.atomic.MpmcAtomicArrayQueue;

/**
 * A platform thread that takes entries from the ring and runs them. With nothing to do it
 * spins for a while (a request arriving soon is picked up within a few hundred nanoseconds,
 * with no system call on either side), yielding now and then so that a submitter sharing its
 * core can run, then sleeps in {@link IdleWorkers} until a submitter wakes it.
 *
 * <p>It stops when the queue is shut down and the ring is empty. A submission that lands in
 * the ring after the last worker stopped is run by its submitter (see {@link SectorQueue}).
 */
final class Worker extends Thread {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt.queue");
    /** Spins between clock reads and yields: about 1-4 µs of PAUSE on current x86 cores. */
    private static final int SPINS_PER_CHECK = 64;

    final int index;
    /** This worker's latency recorder: only this thread writes it. */
    final SingleWriterRecorder latency;
    private final SectorQueue owner;
    private final MpmcAtomicArrayQueue<SectorRequest> ring;
    private final QueueState state;
    private final RequestRunner runner;
    private final IdleWorkers idle;
    private final long idleSpinNanos;

    Worker(SectorQueue owner, int index, String name, MpmcAtomicArrayQueue<SectorRequest> ring, QueueState state,
           RequestRunner runner, IdleWorkers idle, SingleWriterRecorder latency, long idleSpinNanos) {
        super(name);
        setDaemon(true);
        this.owner = owner;
        this.index = index;
        this.ring = ring;
        this.state = state;
        this.runner = runner;
        this.idle = idle;
        this.latency = latency;
        this.idleSpinNanos = idleSpinNanos;
    }

    boolean belongsTo(SectorQueue queue) {
        return owner == queue;
    }

    @Override
    public void run() {
        for (;;) {
            try {
                SectorRequest request = ring.poll();
                if (request != null) {
                    runner.runEntry(request, latency);
                } else if (state.isShutdown()) {
                    if (ring.isEmpty()) {
                        return;
                    }
                } else {
                    idle();
                }
            } catch (Throwable t) {
                // RequestRunner and Completer catch what requests and callbacks throw; reaching
                // here is a bug in the queue. Keep the worker: a dead worker would strand work.
                LOG.log(Level.ERROR, getName() + " caught an unexpected error and carries on", t);
            }
        }
    }

    private void idle() {
        long start = System.nanoTime();
        for (int spins = 1; ; spins++) {
            if (!ring.isEmpty() || state.isShutdown()) {
                return;
            }
            Thread.onSpinWait();
            if (spins % SPINS_PER_CHECK == 0) {
                if (System.nanoTime() - start >= idleSpinNanos) {
                    break;
                }
                Thread.yield();
            }
        }
        idle.park(this);
    }
}
