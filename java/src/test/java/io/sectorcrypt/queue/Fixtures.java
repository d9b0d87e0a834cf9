package io.sectorcrypt.queue;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/** Keys, data and a way to hold a worker still, for the queue tests. */
final class Fixtures {
    static final int SECTOR = 4096;
    /** Every wait in these tests is bounded by this; a hang fails with a message instead. */
    static final long WAIT_SECONDS = 20;

    private Fixtures() {
    }

    static XtsKey newKey(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] bytes = new byte[64];
        do {
            rnd.nextBytes(bytes);
        } while (Arrays.equals(bytes, 0, 32, bytes, 32, 64));
        return XtsKey.of(bytes);
    }

    static MemorySegment random(Arena arena, long bytes, long seed) {
        MemorySegment m = arena.allocate(bytes, 64);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (long i = 0; i < bytes; i += 8) {
            m.set(ValueLayout.JAVA_LONG_UNALIGNED, i, rnd.nextLong());
        }
        return m;
    }

    /** What one single-threaded call of the cipher makes of {@code plain}. */
    static MemorySegment encryptedDirectly(Arena arena, SectorCipher cipher, MemorySegment plain, long firstIv,
                                          int sectorSize) {
        MemorySegment out = arena.allocate(plain.byteSize(), 64);
        cipher.encrypt(plain, out, firstIv, sectorSize);
        return out;
    }

    static void assertSameBytes(MemorySegment expected, MemorySegment actual, String what) {
        long mismatch = expected.mismatch(actual);
        if (mismatch != -1) {
            fail(what + ": first difference at byte " + mismatch + " (sector " + mismatch / SECTOR + ")");
        }
    }

    static void await(CountDownLatch latch, String what) {
        try {
            assertTrue(latch.await(WAIT_SECONDS, TimeUnit.SECONDS), "timed out after " + WAIT_SECONDS + " s: " + what);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            fail("interrupted while waiting: " + what);
        }
    }

    /** Polls a condition that another thread makes true, for at most {@link #WAIT_SECONDS}. */
    static void awaitCondition(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(WAIT_SECONDS);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                fail("timed out after " + WAIT_SECONDS + " s: " + what);
            }
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    /**
     * Holds a queue's only worker inside a callback until released, so that the ring fills
     * and the test controls exactly what is queued.
     */
    static final class HeldWorker {
        private final CountDownLatch entered = new CountDownLatch(1);
        private final CountDownLatch release = new CountDownLatch(1);
        private final SectorRequest request;

        HeldWorker(SectorCipher cipher, Arena arena) {
            MemorySegment sector = arena.allocate(SECTOR);
            request = new SectorRequest((r, failure) -> {
                entered.countDown();
                await(release, "the test to release the held worker");
            }).encrypt(cipher, sector, sector, 0, SECTOR, 1);
        }

        /** Submits the holding request and returns once the worker is inside its callback. */
        HeldWorker hold(SectorQueue queue) {
            assertTrue(queue.trySubmit(request), "the holding request should find room");
            await(entered, "the worker to enter the holding callback");
            return this;
        }

        void release() {
            release.countDown();
        }
    }
}
