package io.sectorcrypt.queue;

import static io.sectorcrypt.queue.Fixtures.newKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * One request at a time to a worker that sleeps as soon as it is idle: with no later
 * submission to wake it, a single lost wake-up leaves a request waiting forever. The
 * submitter varies its timing so that its offer lands at every point of the worker's way to
 * sleep.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class WakeUpTest {
    private static final int ROUND_TRIPS = 30_000;
    /** Far above a wake-up's cost (tens of microseconds), far below a test timeout. */
    private static final long STUCK_NANOS = TimeUnit.SECONDS.toNanos(2);

    @Test
    void noWakeUpIsLost() throws Exception {
        try (Arena arena = Arena.ofShared(); XtsKey key = newKey(21);
             SectorQueue queue = SectorQueue.builder().workers(1).idleSpin(Duration.ZERO).build()) {
            SectorCipher cipher = SectorCipher.of(key);
            MemorySegment buf = arena.allocate(512);
            AtomicInteger completed = new AtomicInteger();
            SectorRequest request = new SectorRequest((r, f) -> completed.incrementAndGet())
                    .encrypt(cipher, buf, buf, 0, 512, 1);
            SplittableRandom rnd = new SplittableRandom(5);
            for (int i = 1; i <= ROUND_TRIPS; i++) {
                // 0 to ~10 µs of delay: before, during and after the worker's last look at the ring.
                for (int spin = rnd.nextInt(i % 8 == 0 ? 4096 : 64); spin > 0; spin--) {
                    Thread.onSpinWait();
                }
                if (!queue.trySubmit(request)) {
                    fail("round trip " + i + ": the ring was full with one request at a time");
                }
                long start = System.nanoTime();
                while (completed.get() != i || request.isInFlight()) {
                    if (System.nanoTime() - start > STUCK_NANOS) {
                        fail("round trip " + i + ": the request waited 2 s; the worker was not woken ("
                                + queue.parkedWorkers() + " asleep, " + queue.metrics() + ")");
                    }
                    Thread.onSpinWait();
                }
            }
            assertEquals(ROUND_TRIPS, completed.get());
        }
    }
}
