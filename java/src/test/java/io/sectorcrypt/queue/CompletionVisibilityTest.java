package io.sectorcrypt.queue;

import static io.sectorcrypt.queue.Fixtures.SECTOR;
import static io.sectorcrypt.queue.Fixtures.await;
import static io.sectorcrypt.queue.Fixtures.newKey;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A request is counted before its completion is published: a thread that sees a future
 * done, or that a callback has told, reads metrics that already count it. Once, metrics read
 * right after the last future completed showed completed=0, inFlight=1. The completions are
 * observed by spinning, not by blocking, so the reading thread runs while the completing
 * one is still just past the completion: the window an early publish leaves open.
 */
class CompletionVisibilityTest {
    private static final int ROUNDS = 1_000;
    private static final int PER_ROUND = 3;

    private final Arena arena = Arena.ofShared();
    private XtsKey key;
    private SectorCipher cipher;

    @BeforeEach
    void open() {
        key = newKey(91);
        cipher = SectorCipher.of(key, IvConvention.IV_LARGE_SECTORS); // IVs here are round numbers
    }

    @AfterEach
    void closeAll() {
        key.close();
        arena.close();
    }

    private static void spinUntil(java.util.function.BooleanSupplier done) {
        long deadline = System.nanoTime() + Duration.ofSeconds(Fixtures.WAIT_SECONDS).toNanos();
        while (!done.getAsBoolean()) {
            assertTrue(System.nanoTime() < deadline, "timed out waiting for a completion");
            Thread.onSpinWait();
            Thread.yield(); // few cores: let the worker run
        }
    }

    private static void assertCounted(SectorQueue queue, long n, String when) {
        QueueMetrics m = queue.metrics();
        assertEquals(n, m.completed(), when + ": " + m);
        assertEquals(0, m.inFlight(), when + ": " + m);
        assertEquals(n, m.submitted(), when + ": " + m);
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(SectorQueue.Mode.class)
    void metricsCountARequestOnceItsFutureIsDone(SectorQueue.Mode mode) {
        MemorySegment buf = arena.allocate((long) PER_ROUND * SECTOR);
        SectorRequest[] requests = new SectorRequest[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++) {
            requests[i] = new SectorRequest();
        }
        try (SectorQueue queue = SectorQueue.builder().mode(mode).workers(2).name("visibility").build()) {
            long n = 0;
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < PER_ROUND; i++) {
                    MemorySegment sector = buf.asSlice((long) i * SECTOR, SECTOR);
                    requests[i].encrypt(cipher, sector, sector, round, SECTOR, 1);
                    assertTrue(queue.trySubmit(requests[i]), "room for " + PER_ROUND + " requests");
                }
                n += PER_ROUND;
                for (SectorRequest r : requests) {
                    spinUntil(r.future()::isDone);
                }
                assertCounted(queue, n, "round " + round + ", right after the last future completed");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(SectorQueue.Mode.class)
    void metricsCountARequestOnceItsCallbackHasBeenCalled(SectorQueue.Mode mode) {
        MemorySegment buf = arena.allocate((long) PER_ROUND * SECTOR);
        AtomicInteger called = new AtomicInteger();
        SectorRequest[] requests = new SectorRequest[PER_ROUND];
        for (int i = 0; i < PER_ROUND; i++) {
            requests[i] = new SectorRequest((r, failure) -> called.incrementAndGet());
        }
        try (SectorQueue queue = SectorQueue.builder().mode(mode).workers(2).name("visibility").build()) {
            long n = 0;
            for (int round = 0; round < ROUNDS; round++) {
                for (int i = 0; i < PER_ROUND; i++) {
                    MemorySegment sector = buf.asSlice((long) i * SECTOR, SECTOR);
                    requests[i].encrypt(cipher, sector, sector, round, SECTOR, 1);
                    assertTrue(queue.trySubmit(requests[i]), "room for " + PER_ROUND + " requests");
                }
                n += PER_ROUND;
                long expected = n;
                spinUntil(() -> called.get() == expected);
                assertCounted(queue, n, "round " + round + ", right after the last callback was called");
            }
        }
    }

    /**
     * The deterministic form of the above: a stage of the future, run by the worker as it
     * completes the future, holds it there while the test reads the metrics.
     */
    @org.junit.jupiter.api.Test
    void aFuturesDependentStageSeesItsRequestCounted() {
        MemorySegment sector = arena.allocate(SECTOR);
        try (SectorQueue queue = SectorQueue.builder().workers(1).name("visibility").build()) {
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            SectorRequest request = new SectorRequest().encrypt(cipher, sector, sector, 0, SECTOR, 1);
            assertTrue(queue.trySubmit(request));
            CountDownLatch inStage = new CountDownLatch(1);
            CountDownLatch mayReturn = new CountDownLatch(1);
            request.future().thenRun(() -> {
                inStage.countDown();
                await(mayReturn, "the test to read the metrics");
            });
            held.release();
            await(inStage, "the worker to complete the future");
            try {
                assertCounted(queue, 2, "while the future's first stage runs");
            } finally {
                mayReturn.countDown();
            }
        }
    }

    /** awaitTermination still means every callback has returned, though counting now comes first. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(SectorQueue.Mode.class)
    void terminationWaitsForTheCallbacksToReturn(SectorQueue.Mode mode) throws Exception {
        MemorySegment sector = arena.allocate(SECTOR);
        CountDownLatch inCallback = new CountDownLatch(1);
        CountDownLatch mayReturn = new CountDownLatch(1);
        AtomicInteger returned = new AtomicInteger();
        SectorRequest request = new SectorRequest((r, failure) -> {
            inCallback.countDown();
            await(mayReturn, "the test to let the callback return");
            returned.incrementAndGet();
        }).encrypt(cipher, sector, sector, 0, SECTOR, 1);
        SectorQueue queue = SectorQueue.builder().mode(mode).workers(1).name("visibility").build();
        Thread submitter = Thread.ofPlatform().start(() -> queue.trySubmit(request));
        await(inCallback, "the callback to start");
        queue.shutdown();
        QueueMetrics m = queue.metrics();
        assertEquals(1, m.completed(), "counted before its callback: " + m);
        assertEquals(0, m.inFlight(), m.toString());
        assertEquals(false, queue.isTerminated(), "a callback is still running");
        assertEquals(false, queue.awaitTermination(Duration.ofMillis(1)), "a callback is still running");
        mayReturn.countDown();
        assertTrue(queue.awaitTermination(Duration.ofSeconds(Fixtures.WAIT_SECONDS)));
        assertEquals(1, returned.get(), "terminated only once the callback had returned");
        submitter.join();
    }
}
