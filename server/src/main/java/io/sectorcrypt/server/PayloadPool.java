package io.sectorcrypt.server;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Off-heap buffers for request payloads, by power-of-two size class from 4 KiB, kept for
 * reuse up to a total: a READ decrypts in place in one and the socket writes from it, a WRITE
 * is read from the socket into one and encrypted from it, so no payload crosses the Java heap
 * (a heap array costs a copy through the JDK's temporary direct buffer on each of the file and
 * the socket, and its allocation and zeroing). A kept buffer holds the last plaintext it
 * carried until it is reused; one the pool does not keep is zeroed before it is let go, and
 * {@link #clear} zeroes the kept ones when the server closes, so no plaintext stays behind in
 * memory the collector frees later.
 */
final class PayloadPool {
    private static final int MIN_SHIFT = 12;
    private final ConcurrentLinkedDeque<ByteBuffer>[] free;
    private final long maxKept;
    private final AtomicLong kept = new AtomicLong();

    @SuppressWarnings("unchecked")
    PayloadPool(int maxPayload, long maxKept) {
        free = new ConcurrentLinkedDeque[sizeClass(Math.max(1, maxPayload)) + 1];
        for (int i = 0; i < free.length; i++) {
            free[i] = new ConcurrentLinkedDeque<>();
        }
        this.maxKept = maxKept;
    }

    private static int sizeClass(int length) {
        return Math.max(0, 32 - Integer.numberOfLeadingZeros(Math.max(1, length) - 1) - MIN_SHIFT);
    }

    /** A direct buffer with position 0 and limit {@code length} (at most the maximum payload). */
    ByteBuffer take(int length) {
        int c = sizeClass(length);
        ByteBuffer b = free[c].pollFirst();
        if (b == null) {
            b = ByteBuffer.allocateDirect(1 << (c + MIN_SHIFT));
        } else {
            kept.addAndGet(-b.capacity());
        }
        return b.clear().limit(length);
    }

    /** Returns a buffer from {@link #take}; kept if the pool has room, else left to the collector. */
    void give(ByteBuffer b) {
        if (b == null) {
            return;
        }
        if (kept.addAndGet(b.capacity()) <= maxKept) {
            free[sizeClass(b.capacity())].offerFirst(b);
        } else {
            kept.addAndGet(-b.capacity());
            zero(b);
        }
    }

    /** Zeroes and drops every kept buffer: for the server's close, once no request runs. */
    void clear() {
        for (ConcurrentLinkedDeque<ByteBuffer> sizeClass : free) {
            for (ByteBuffer b; (b = sizeClass.pollFirst()) != null; ) {
                kept.addAndGet(-b.capacity());
                zero(b);
            }
        }
    }

    private static void zero(ByteBuffer b) {
        MemorySegment.ofBuffer(b.clear()).fill((byte) 0);
    }
}
