package io.sectorcrypt.queue;

import static io.sectorcrypt.queue.Fixtures.assertSameBytes;
import static io.sectorcrypt.queue.Fixtures.awaitCondition;
import static io.sectorcrypt.queue.Fixtures.newKey;
import static io.sectorcrypt.queue.Fixtures.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sectorcrypt.xts.KeyClosedException;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * A key closed while its requests are queued and running: each completes exactly once,
 * normally (all its sectors encrypted) or with {@link KeyClosedException} (each sector
 * encrypted or untouched, never damaged; a one-stripe request untouched), and every worker
 * carries on with the next key.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class KeyClosedMidFlightTest {
    private static final int SECTOR = 512;
    private static final int PRODUCERS = 4;
    private static final long SECTORS_PER_PRODUCER = 4096;
    private static final Duration WAIT = Duration.ofSeconds(Fixtures.WAIT_SECONDS);
    /** Requests each producer submits only after the key is closed. */
    private static final int HELD_BACK = 5;

    @Test
    void requestsOfAClosedKeyFailCleanlyAndEveryWorkerLivesOn() throws Exception {
        int workers = Runtime.getRuntime().availableProcessors() + 1;
        try (Arena arena = Arena.ofShared();
             SectorQueue queue = SectorQueue.builder().workers(workers).capacity(32).stripeBytes(8192)
                     .idleSpin(Duration.ZERO).build()) {
            XtsKey doomed = newKey(11);
            SectorCipher cipher = SectorCipher.of(doomed);
            long sectors = PRODUCERS * SECTORS_PER_PRODUCER;
            MemorySegment plain = random(arena, sectors * SECTOR, 13);
            MemorySegment expected = arena.allocate(plain.byteSize());
            cipher.encrypt(plain, expected, 0, SECTOR);
            MemorySegment disk = arena.allocate(plain.byteSize()).copyFrom(plain);

            SplittableRandom rnd = new SplittableRandom(17);
            List<Workload.Chunk> chunks = new ArrayList<>();
            List<Thread> producers = new ArrayList<>();
            List<CompletableFuture<Void>> futures = java.util.Collections.synchronizedList(new ArrayList<>());
            List<Workload.Chunk> submittedChunks = java.util.Collections.synchronizedList(new ArrayList<>());
            AtomicReference<Throwable> problem = new AtomicReference<>();
            CountDownLatch keyClosed = new CountDownLatch(1);
            for (int p = 0; p < PRODUCERS; p++) {
                Workload w = Workload.cut(p * SECTORS_PER_PRODUCER, SECTORS_PER_PRODUCER, rnd, p % 2 == 1, 64);
                chunks.addAll(w.chunks());
                Thread t = new Thread(() -> {
                    try {
                        int i = 0;
                        for (Workload.Chunk c : w.chunks()) {
                            if (i++ == w.chunks().size() - HELD_BACK) {
                                // The last few go in after the close: some requests surely meet a closed key.
                                Fixtures.await(keyClosed, "the key to be closed");
                            }
                            MemorySegment region = disk.asSlice(c.first() * SECTOR, (long) c.count() * SECTOR);
                            CompletableFuture<Void> f = queue.encrypt(cipher, region, region, c.first(), SECTOR,
                                    c.count(), WAIT);
                            synchronized (futures) {
                                futures.add(f);
                                submittedChunks.add(c);
                            }
                        }
                    } catch (Throwable e) {
                        problem.compareAndSet(null, e);
                    }
                });
                producers.add(t);
                t.start();
            }
            int quarter = PRODUCERS * 32; // of about 180 requests per producer (at most 64 sectors each)
            awaitCondition(() -> queue.metrics().completed() >= quarter || problem.get() != null,
                    quarter + " completions before closing the key");
            assertNull(problem.get(), () -> "a producer failed: " + problem.get());
            doomed.close(); // waits for calls in progress; later calls throw KeyClosedException
            keyClosed.countDown();
            for (Thread t : producers) {
                t.join(TimeUnit.SECONDS.toMillis(Fixtures.WAIT_SECONDS));
                assertTrue(!t.isAlive(), "a producer is stuck");
            }
            assertNull(problem.get(), () -> "a producer failed: " + problem.get());
            assertEquals(chunks.size(), futures.size());

            int ok = 0;
            int failed = 0;
            for (int i = 0; i < futures.size(); i++) {
                Workload.Chunk c = submittedChunks.get(i);
                long offset = c.first() * SECTOR;
                long length = (long) c.count() * SECTOR;
                Throwable failure = null;
                try {
                    futures.get(i).get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    failure = e.getCause();
                }
                if (failure == null) {
                    ok++;
                    assertSameBytes(expected.asSlice(offset, length), disk.asSlice(offset, length),
                            "a request that succeeded");
                    continue;
                }
                failed++;
                if (!(failure instanceof KeyClosedException)) {
                    fail("expected KeyClosedException, got " + failure);
                }
                for (long s = 0; s < c.count(); s++) {
                    MemorySegment got = disk.asSlice(offset + s * SECTOR, SECTOR);
                    boolean untouched = plain.asSlice(offset + s * SECTOR, SECTOR).mismatch(got) == -1;
                    boolean encrypted = expected.asSlice(offset + s * SECTOR, SECTOR).mismatch(got) == -1;
                    if (!untouched && !encrypted || c.count() <= 16 && !untouched) {
                        fail("sector " + (c.first() + s) + " of a failed " + c.count() + "-sector request is damaged"
                                + " or half-done (untouched=" + untouched + ", encrypted=" + encrypted + ")");
                    }
                }
            }
            assertTrue(ok >= quarter && failed > 0, "the key closed mid-stream: " + ok + " ok, " + failed + " failed");
            awaitCondition(() -> queue.metrics().inFlight() == 0, "every request to be counted");
            QueueMetrics m = queue.metrics();
            assertEquals(ok, m.completed(), m.toString());
            assertEquals(failed, m.failed(), m.toString());

            // Every worker is alive: all fall asleep once idle, then all serve the next key.
            awaitCondition(() -> queue.parkedWorkers() == workers, "all " + workers + " workers to go idle");
            try (XtsKey next = newKey(12)) {
                SectorCipher fresh = SectorCipher.of(next);
                MemorySegment buf = random(arena, 64L * SECTOR, 1);
                MemorySegment want = arena.allocate(buf.byteSize());
                fresh.encrypt(buf, want, 0, SECTOR);
                queue.encrypt(fresh, buf, buf, 0, SECTOR, 64, WAIT).get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
                assertSameBytes(want, buf, "the next key's request");
            }
        }
    }
}
