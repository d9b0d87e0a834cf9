package io.sectorcrypt.queue;

import static io.sectorcrypt.queue.Fixtures.awaitCondition;
import static io.sectorcrypt.queue.Fixtures.newKey;
import static io.sectorcrypt.queue.Fixtures.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.AtomicReferenceArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Shutdown while producers are submitting as fast as they can. Every submission is either
 * refused ({@link RejectedExecutionException}, and never runs) or accepted and completed
 * exactly once: normally after {@code shutdown()}; normally or cancelled after
 * {@code shutdownNow()}. Sectors show which: a completed request's are encrypted, the others'
 * are untouched, never half and half.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ShutdownWhileBusyTest {
    private static final int SECTOR = 512;
    private static final int PRODUCERS = 4;
    private static final long SECTORS_PER_PRODUCER = 4096;
    private static final int ROUNDS = 12;
    /** Rounds at most, while an outcome the test needs has not been seen yet. */
    private static final int MAX_ROUNDS = 60;
    private static final Duration WAIT = Duration.ofSeconds(Fixtures.WAIT_SECONDS);

    /** What became of one submission. */
    private enum Outcome { NOT_SUBMITTED, REJECTED, ACCEPTED, COMPLETED, CANCELLED }

    @ParameterizedTest(name = "shutdownNow={0}")
    @ValueSource(booleans = {false, true})
    void everyAcceptedRequestCompletesExactlyOnceAndNothingIsHalfWritten(boolean now) throws Exception {
        int cores = Runtime.getRuntime().availableProcessors();
        try (Arena arena = Arena.ofShared(); XtsKey key = newKey(3)) {
            SectorCipher cipher = SectorCipher.of(key);
            long sectors = PRODUCERS * SECTORS_PER_PRODUCER;
            MemorySegment plain = random(arena, sectors * SECTOR, 9);
            MemorySegment expected = arena.allocate(plain.byteSize());
            cipher.encrypt(plain, expected, 0, SECTOR);
            MemorySegment disk = arena.allocate(plain.byteSize());
            int[] totals = new int[Outcome.values().length];
            // Whether a shutdown lands while requests still wait is a race: on a fast or a loaded
            // machine every round may drain first, so rounds go on (up to a bound) until each
            // outcome the assertions below need has been seen once.
            for (int round = 0; round < ROUNDS || round < MAX_ROUNDS && (totals[Outcome.REJECTED.ordinal()] == 0
                    || now && totals[Outcome.CANCELLED.ordinal()] == 0); round++) {
                disk.copyFrom(plain);
                runRound(round, now, cores, cipher, plain, expected, disk, totals);
            }
            // Otherwise this test would not have tested what it claims to.
            assertTrue(totals[Outcome.REJECTED.ordinal()] > 0, "no submission was ever refused");
            if (now) {
                assertTrue(totals[Outcome.CANCELLED.ordinal()] > 0, "shutdownNow never cancelled a request");
            }
        }
    }

    private void runRound(int round, boolean now, int cores, SectorCipher cipher, MemorySegment plain,
                          MemorySegment expected, MemorySegment disk, int[] totals) throws Exception {
        SplittableRandom rnd = new SplittableRandom(round * 31L + (now ? 1 : 0));
        List<Workload> workloads = new ArrayList<>();
        for (int p = 0; p < PRODUCERS; p++) {
            workloads.add(Workload.cut(p * SECTORS_PER_PRODUCER, SECTORS_PER_PRODUCER, rnd, p % 2 == 1, 64));
        }
        int total = workloads.stream().mapToInt(w -> w.chunks().size()).sum();
        SectorQueue queue = SectorQueue.builder().workers(cores + 1).capacity(16).stripeBytes(8192)
                .name("shutdown-round-" + round).build();
        List<AtomicReferenceArray<Outcome>> outcomes = new ArrayList<>();
        AtomicReference<Throwable> problem = new AtomicReference<>();
        AtomicInteger completionsBeyondOne = new AtomicInteger();
        List<Thread> producers = new ArrayList<>();
        for (int p = 0; p < PRODUCERS; p++) {
            Workload w = workloads.get(p);
            AtomicReferenceArray<Outcome> mine = new AtomicReferenceArray<>(w.chunks().size());
            for (int i = 0; i < mine.length(); i++) {
                mine.set(i, Outcome.NOT_SUBMITTED);
            }
            outcomes.add(mine);
            Thread t = new Thread(() -> {
                try {
                    for (int i = 0; i < w.chunks().size(); i++) {
                        Workload.Chunk c = w.chunks().get(i);
                        MemorySegment region = disk.asSlice(c.first() * SECTOR, (long) c.count() * SECTOR);
                        int index = i;
                        CompletableFuture<Void> f;
                        try {
                            f = queue.encrypt(cipher, region, region, c.first(), SECTOR, c.count(), WAIT);
                        } catch (RejectedExecutionException refused) {
                            mine.set(index, Outcome.REJECTED);
                            return;
                        }
                        if (!mine.compareAndSet(index, Outcome.NOT_SUBMITTED, Outcome.ACCEPTED)) {
                            // the completion came first; it already recorded the outcome
                        }
                        f.whenComplete((v, failure) -> {
                            Outcome result = failure == null ? Outcome.COMPLETED
                                    : failure instanceof CancellationException ? Outcome.CANCELLED : null;
                            if (result == null) {
                                problem.compareAndSet(null, failure);
                                return;
                            }
                            Outcome before = mine.getAndSet(index, result);
                            if (before == Outcome.COMPLETED || before == Outcome.CANCELLED) {
                                completionsBeyondOne.incrementAndGet();
                            }
                        });
                    }
                } catch (Throwable e) {
                    problem.compareAndSet(null, e);
                }
            }, "producer-" + p);
            producers.add(t);
            t.start();
        }
        // Shut down in mid-stream: a quarter of the requests in, while producers still submit.
        awaitCondition(() -> queue.metrics().submitted() >= total / 4 || problem.get() != null,
                total / 4 + " of " + total + " submissions before the shutdown");
        if (now) {
            queue.shutdownNow();
        } else {
            queue.shutdown();
        }
        assertTrue(queue.isShutdown());
        for (Thread t : producers) {
            t.join(TimeUnit.SECONDS.toMillis(Fixtures.WAIT_SECONDS));
            assertTrue(!t.isAlive(), t.getName() + " is stuck");
        }
        assertTrue(queue.awaitTermination(WAIT), "round " + round + ": the queue did not terminate");
        assertTrue(queue.isTerminated());
        assertNull(problem.get(), () -> "round " + round + ": " + problem.get());
        assertEquals(0, completionsBeyondOne.get(), "a request completed twice");

        int completed = 0;
        int cancelled = 0;
        for (int p = 0; p < PRODUCERS; p++) {
            Workload w = workloads.get(p);
            for (int i = 0; i < w.chunks().size(); i++) {
                Workload.Chunk c = w.chunks().get(i);
                Outcome o = outcomes.get(p).get(i);
                totals[o.ordinal()]++;
                long offset = c.first() * SECTOR;
                long length = (long) c.count() * SECTOR;
                MemorySegment actual = disk.asSlice(offset, length);
                switch (o) {
                    case ACCEPTED -> fail("round " + round + ": an accepted request never completed (producer " + p
                            + ", request " + i + ")");
                    case COMPLETED -> {
                        completed++;
                        if (expected.asSlice(offset, length).mismatch(actual) != -1) {
                            fail("round " + round + ": a completed request's sectors are not encrypted");
                        }
                    }
                    case CANCELLED, REJECTED, NOT_SUBMITTED -> {
                        cancelled += o == Outcome.CANCELLED ? 1 : 0;
                        if (plain.asSlice(offset, length).mismatch(actual) != -1) {
                            fail("round " + round + ": a request that did not run (" + o + ") changed its sectors");
                        }
                    }
                    default -> throw new AssertionError(o);
                }
            }
        }
        QueueMetrics m = queue.metrics();
        assertEquals(completed, m.completed(), m.toString());
        assertEquals(cancelled, m.failed(), m.toString());
        assertEquals(m.submitted(), m.completed() + m.failed(), m.toString());
        assertEquals(0, m.inFlight(), m.toString());
        if (!now) {
            assertEquals(0, cancelled, "a graceful shutdown cancels nothing");
        }
    }

    @Test
    void aShutDownQueueRefusesNewRequestsSayingSo() throws Exception {
        try (Arena arena = Arena.ofShared(); XtsKey key = newKey(5)) {
            SectorCipher cipher = SectorCipher.of(key);
            MemorySegment buf = arena.allocate(512);
            for (SectorQueue.Mode mode : SectorQueue.Mode.values()) {
                SectorQueue queue = SectorQueue.builder().mode(mode).workers(1).name("closed").build();
                queue.close();
                assertTrue(queue.isTerminated());
                SectorRequest r = new SectorRequest().encrypt(cipher, buf, buf, 0, 512, 1);
                RejectedExecutionException e = assertThrows(RejectedExecutionException.class,
                        () -> queue.trySubmit(r));
                assertEquals("the sector queue closed is shut down and accepts no more requests", e.getMessage());
                assertTrue(!r.isInFlight(), "a refused request is handed back");
                assertThrows(RejectedExecutionException.class, () -> queue.submit(r, WAIT));
            }
        }
    }

    @Test
    void waitingForTerminationFromACallbackIsRefused() throws Exception {
        try (Arena arena = Arena.ofShared(); XtsKey key = newKey(5);
             SectorQueue queue = SectorQueue.builder().workers(1).build()) {
            MemorySegment buf = arena.allocate(512);
            CompletableFuture<Throwable> seen = new CompletableFuture<>();
            queue.submit(new SectorRequest((r, f) -> {
                try {
                    queue.awaitTermination(Duration.ofSeconds(1));
                    seen.complete(null);
                } catch (Throwable t) {
                    seen.complete(t);
                }
            }).encrypt(SectorCipher.of(key), buf, buf, 0, 512, 1), WAIT);
            Throwable t = seen.get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
            assertInstanceOf(IllegalStateException.class, t);
            assertEquals("awaitTermination/close called from a callback on the queue's own worker would wait for"
                    + " itself", t.getMessage());
        }
    }
}
