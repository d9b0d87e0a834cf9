package io.sectorcrypt.xts;

import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.function.Consumer;
import java.util.function.Supplier;

/**
 * A key's working sets (JCA ciphers, buffers) for the pure-Java engines: JCA ciphers keep
 * state and are not thread-safe, so each call takes a set from this pool and gives it back,
 * and a key is usable from many threads at once. Slots are hashed by thread and taken with
 * an atomic swap, so the pool allocates nothing once warm; when every slot is busy a new set
 * is made, and one given back to a full pool is wiped and dropped. For the engines, not for
 * applications.
 *
 * @param <T> a working set
 */
public final class PerThreadPool<T> {
    private static final int SLOTS = Integer.highestOneBit(Math.max(1, Runtime.getRuntime().availableProcessors()) * 2
            - 1) * 2;
    private final AtomicReferenceArray<T> slots = new AtomicReferenceArray<>(SLOTS);
    private final Supplier<T> create;
    private final Consumer<T> wipe;

    /**
     * @param create makes a new set (for the pool's key), when none is free
     * @param wipe   zeroes a set's secrets (buffers, derived keys) when the pool drops it
     */
    public PerThreadPool(Supplier<T> create, Consumer<T> wipe) {
        this.create = create;
        this.wipe = wipe;
    }

    /** A set for this call: a pooled one, or a new one. */
    public T take() {
        int home = (int) Thread.currentThread().threadId();
        for (int i = 0; i < SLOTS; i++) {
            T s = slots.getAndSet((home + i) & (SLOTS - 1), null);
            if (s != null) {
                return s;
            }
        }
        return create.get();
    }

    /** Gives a set back after the call. */
    public void give(T s) {
        int home = (int) Thread.currentThread().threadId();
        for (int i = 0; i < SLOTS; i++) {
            if (slots.compareAndSet((home + i) & (SLOTS - 1), null, s)) {
                return;
            }
        }
        wipe.accept(s);
    }

    /** Wipes and drops every pooled set (the key is closing). */
    public void clear() {
        for (int i = 0; i < SLOTS; i++) {
            T s = slots.getAndSet(i, null);
            if (s != null) {
                wipe.accept(s);
            }
        }
    }
}
