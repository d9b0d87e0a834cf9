package io.sectorcrypt.queue;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A queue's life: RUNNING, then SHUTDOWN (no new requests; those accepted still run), then
 * STOP (no new requests; those not yet started are cancelled). It only moves forward.
 *
 * <p>The state is read on every submission (twice) and by idle workers, and written twice in
 * a queue's life, so it is not padded: its cache line stays shared and clean.
 */
final class QueueState {
    static final int RUNNING = 0;
    static final int SHUTDOWN = 1;
    static final int STOP = 2;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(QueueState.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile int state = RUNNING;

    boolean isRunning() {
        return state == RUNNING;
    }

    /** SHUTDOWN or STOP. */
    boolean isShutdown() {
        return state != RUNNING;
    }

    boolean isStopping() {
        return state == STOP;
    }

    /** RUNNING to SHUTDOWN; false if it had already left RUNNING. */
    boolean shutdown() {
        return STATE.compareAndSet(this, RUNNING, SHUTDOWN);
    }

    /** To STOP from either earlier state; false if already STOP. */
    boolean stop() {
        for (int s = state; s != STOP; s = state) {
            if (STATE.compareAndSet(this, s, STOP)) {
                return true;
            }
        }
        return false;
    }
}
