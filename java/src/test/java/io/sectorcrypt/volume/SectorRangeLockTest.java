package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class SectorRangeLockTest {
    private static final long BLOCK = SectorRangeLock.BLOCK_BYTES / 4096;
    private static final long CYCLE = BLOCK * SectorRangeLock.STRIPES;

    /** Whether {@code second} can be taken within 200 ms while {@code first} is held. */
    private static boolean excludes(SectorRangeLock lock, long[] first, long[] second, boolean exclusive)
            throws InterruptedException {
        CountDownLatch got = new CountDownLatch(1);
        Thread other;
        try (SectorRangeLock.Range held = lock.lock(first[0], first[1], true)) {
            other = Thread.ofPlatform().start(() -> {
                try (SectorRangeLock.Range r = lock.lock(second[0], second[1], exclusive)) {
                    got.countDown();
                }
            });
            boolean early = got.await(200, TimeUnit.MILLISECONDS);
            if (early) {
                other.join();
                return false;
            }
        }
        assertTrue(got.await(10, TimeUnit.SECONDS), "released, the waiter goes on");
        other.join();
        return true;
    }

    @Test
    void rangesSharingASectorExcludeEachOtherAcrossTheWrap() throws Exception {
        SectorRangeLock lock = new SectorRangeLock(4096);
        long nearEnd = CYCLE - 2 * BLOCK; // spans the last stripes and wraps to the first
        assertTrue(excludes(lock, new long[] {nearEnd, nearEnd + 4 * BLOCK}, new long[] {CYCLE + BLOCK, CYCLE + BLOCK},
                false), "sector CYCLE+BLOCK is in the wrapped part of the first range (same stripe)");
        assertTrue(excludes(lock, new long[] {5, 5}, new long[] {0, 10 * CYCLE}, true), "a huge range takes all");
        assertFalse(excludes(lock, new long[] {0, 0}, new long[] {BLOCK, 2 * BLOCK - 1}, true),
                "different blocks of different stripes do not wait");
    }
}
