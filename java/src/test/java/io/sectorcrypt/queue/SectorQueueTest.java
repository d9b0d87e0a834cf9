package io.sectorcrypt.queue;

import static io.sectorcrypt.queue.Fixtures.SECTOR;
import static io.sectorcrypt.queue.Fixtures.assertSameBytes;
import static io.sectorcrypt.queue.Fixtures.await;
import static io.sectorcrypt.queue.Fixtures.awaitCondition;
import static io.sectorcrypt.queue.Fixtures.encryptedDirectly;
import static io.sectorcrypt.queue.Fixtures.newKey;
import static io.sectorcrypt.queue.Fixtures.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The queue's behaviours one at a time: results, forms, checks, back-pressure, metrics. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SectorQueueTest {
    private static final Duration WAIT = Duration.ofSeconds(Fixtures.WAIT_SECONDS);

    private Arena arena;
    private XtsKey key;
    private SectorCipher cipher;

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        key = newKey(1);
        // Arbitrary sector sizes and IVs: count IVs in sectors (the 512-byte convention has its own test).
        cipher = SectorCipher.of(key, IvConvention.IV_LARGE_SECTORS);
    }

    @AfterEach
    void tearDown() {
        key.close();
        arena.close();
    }

    private static SectorQueue.Builder twoWorkers() {
        return SectorQueue.builder().workers(2).name("test");
    }

    private static void join(CompletableFuture<Void> f) throws Exception {
        f.get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
    }

    /** Metrics once nothing is in flight: every request counted (callbacks may still be returning). */
    private static QueueMetrics settled(SectorQueue queue) {
        awaitCondition(() -> queue.metrics().inFlight() == 0, "every request to be counted");
        return queue.metrics();
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(SectorQueue.Mode.class)
    void encryptsAndDecryptsLikeTheCipherForEverySize(SectorQueue.Mode mode) throws Exception {
        try (SectorQueue queue = twoWorkers().mode(mode).stripeBytes(16 * 1024).build()) {
            // Each stripe starts at its own IV: 1 apart per sector, or 8 under PLAIN64's 512-byte units.
            for (IvConvention convention : IvConvention.values()) {
                SectorCipher cipher = SectorCipher.of(key, convention);
                long step = convention.ivStep(SECTOR);
                // 1 sector, exactly one stripe, one sector more than a stripe, many stripes with a short last one.
                for (int sectors : new int[] {1, 4, 5, 37, 256}) {
                    String what = sectors + " sectors, " + mode + ", " + convention;
                    long firstIv = (1000 + sectors) * step;
                    MemorySegment plain = random(arena, (long) sectors * SECTOR, sectors);
                    MemorySegment expected = encryptedDirectly(arena, cipher, plain, firstIv, SECTOR);
                    MemorySegment sealed = arena.allocate(plain.byteSize());
                    join(queue.encrypt(cipher, plain, sealed, firstIv, SECTOR, sectors, WAIT));
                    assertSameBytes(expected, sealed, what);
                    MemorySegment opened = arena.allocate(plain.byteSize());
                    join(queue.decrypt(cipher, sealed, opened, firstIv, SECTOR, sectors, WAIT));
                    assertSameBytes(plain, opened, what + ", decrypted");
                }
            }
        }
    }

    @Test
    void worksInPlaceOnHeapArraysAndOnAPrefixOfLongerSegments() throws Exception {
        try (SectorQueue queue = twoWorkers().stripeBytes(8192).build()) {
            MemorySegment plain = random(arena, 10 * SECTOR, 7);
            MemorySegment expected = encryptedDirectly(arena, cipher, plain.asSlice(0, 6 * SECTOR), 5, SECTOR);
            byte[] heap = plain.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            MemorySegment onHeap = MemorySegment.ofArray(heap);
            // In place, on the heap, 6 of the 10 sectors the segment holds, striped over 3 stripes.
            join(queue.encrypt(cipher, onHeap, onHeap, 5, SECTOR, 6, WAIT));
            assertSameBytes(expected, onHeap.asSlice(0, 6 * SECTOR), "heap, in place");
            assertSameBytes(plain.asSlice(6 * SECTOR), onHeap.asSlice(6 * SECTOR), "sectors past the request");
        }
    }

    @Test
    void aReusedCallbackRequestCompletesOncePerSubmission() throws Exception {
        MemorySegment plain = random(arena, SECTOR, 3);
        MemorySegment out = arena.allocate(SECTOR);
        AtomicInteger completions = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Object context = new Object();
        AtomicReference<Object> seenAttachment = new AtomicReference<>();
        try (SectorQueue queue = twoWorkers().build()) {
            SectorRequest request = new SectorRequest((r, f) -> {
                seenAttachment.set(r.attachment());
                if (f != null) {
                    failure.set(f);
                }
                completions.incrementAndGet();
            });
            for (int i = 0; i < 100; i++) {
                request.encrypt(cipher, plain, out, i, SECTOR, 1).attach(context);
                queue.submit(request, WAIT);
                int expected = i + 1;
                awaitCondition(() -> completions.get() == expected && !request.isInFlight(),
                        "completion " + expected);
                assertSameBytes(encryptedDirectly(arena, cipher, plain, i, SECTOR), out, "submission " + i);
            }
        }
        assertNull(failure.get());
        assertEquals(100, completions.get());
        assertSame(context, seenAttachment.get());
    }

    @Test
    void aFutureFormRequestGetsANewFuturePerSubmission() throws Exception {
        MemorySegment plain = random(arena, SECTOR, 3);
        MemorySegment out = arena.allocate(SECTOR);
        try (SectorQueue queue = twoWorkers().build()) {
            SectorRequest request = new SectorRequest().encrypt(cipher, plain, out, 0, SECTOR, 1);
            queue.submit(request, WAIT);
            CompletableFuture<Void> first = request.future();
            join(first);
            queue.submit(request.encrypt(cipher, plain, out, 1, SECTOR, 1), WAIT);
            CompletableFuture<Void> second = request.future();
            join(second);
            assertFalse(first == second, "each submission has its own future");
            assertSameBytes(encryptedDirectly(arena, cipher, plain, 1, SECTOR), out, "second submission");
        }
    }

    @Test
    void zeroSectorsCompleteAtOnce() throws Exception {
        try (SectorQueue queue = twoWorkers().build()) {
            join(queue.encrypt(cipher, MemorySegment.NULL, arena.allocate(16), 0, SECTOR, 0, WAIT));
            assertEquals(1, settled(queue).completed());
        }
    }

    // ---- Misuse and bad input: a clear message each ----

    @Test
    void aRequestCannotBeSubmittedTwiceOrRefilledWhileInFlight() {
        try (SectorQueue queue = SectorQueue.builder().workers(1).capacity(4).build()) {
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            MemorySegment buf = arena.allocate(SECTOR);
            SectorRequest request = new SectorRequest((r, f) -> { }).encrypt(cipher, buf, buf, 0, SECTOR, 1);
            assertTrue(queue.trySubmit(request));
            IllegalStateException twice = assertThrows(IllegalStateException.class, () -> queue.trySubmit(request));
            assertEquals("this request is already in flight; submit it again only after it completes",
                    twice.getMessage());
            IllegalStateException refill = assertThrows(IllegalStateException.class,
                    () -> request.encrypt(cipher, buf, buf, 1, SECTOR, 1));
            assertEquals("this request is in flight and cannot be refilled until it completes", refill.getMessage());
            held.release();
        }
    }

    @Test
    void anEmptyRequestOrAMissingFutureIsExplained() {
        try (SectorQueue queue = twoWorkers().build()) {
            IllegalStateException empty = assertThrows(IllegalStateException.class,
                    () -> queue.trySubmit(new SectorRequest()));
            assertEquals("the request has no I/O yet: call encrypt(...), decrypt(...) or fill(...) before submitting it",
                    empty.getMessage());
        }
        IllegalStateException noFuture = assertThrows(IllegalStateException.class,
                () -> new SectorRequest((r, f) -> { }).future());
        assertEquals("this request reports to a callback, not a future; create it with new SectorRequest() for the"
                + " future form", noFuture.getMessage());
        IllegalStateException notYet = assertThrows(IllegalStateException.class, () -> new SectorRequest().future());
        assertEquals("this request has not been submitted yet", notYet.getMessage());
        assertThrows(NullPointerException.class, () -> new SectorRequest().encrypt(null, arena.allocate(16),
                arena.allocate(16), 0, 16, 1));
    }

    /** A request that fails its checks completes exceptionally, with the reason, and takes no slot. */
    private void assertRefused(SectorQueue queue, SectorRequest request, Class<? extends Throwable> type,
                               String message) throws Exception {
        queue.submit(request, WAIT);
        ExecutionException e = assertThrows(ExecutionException.class,
                () -> request.future().get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS));
        assertInstanceOf(type, e.getCause());
        assertEquals(message, e.getCause().getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(SectorQueue.Mode.class)
    void badRequestsCompleteExceptionallySayingWhatWasWrong(SectorQueue.Mode mode) throws Exception {
        MemorySegment four = arena.allocate(4L * SECTOR);
        MemorySegment other = arena.allocate(4L * SECTOR);
        try (SectorQueue queue = twoWorkers().mode(mode).build()) {
            assertRefused(queue, new SectorRequest().encrypt(cipher, four, other, 0, 15, 1),
                    IllegalArgumentException.class, "sector size 15 is outside 16 .. 16777216 bytes (an XTS data unit"
                            + " holds 1 to 2^20 AES blocks, SP 800-38E)");
            assertRefused(queue, new SectorRequest().encrypt(cipher, four, other, 0, SECTOR, -1),
                    IllegalArgumentException.class, "sector count -1 is negative");
            assertRefused(queue, new SectorRequest().encrypt(cipher, four, other, 0, SECTOR, 5),
                    IllegalArgumentException.class, "src holds 16384 bytes, fewer than the 20480 bytes of 5 sectors"
                            + " of 4096 bytes");
            assertRefused(queue, new SectorRequest().encrypt(cipher, four, other.asSlice(0, SECTOR), 0, SECTOR, 2),
                    IllegalArgumentException.class, "dst holds 4096 bytes, fewer than the 8192 bytes of 2 sectors of"
                            + " 4096 bytes");
            assertRefused(queue, new SectorRequest().encrypt(cipher, four, other.asReadOnly(), 0, SECTOR, 1),
                    IllegalArgumentException.class, "dst is read-only");
            assertRefused(queue, new SectorRequest().encrypt(cipher, four, four, -2, SECTOR, 3),
                    IllegalArgumentException.class, "3 sectors from IV 18446744073709551614 run past IV 2^64 - 1"
                            + " (18446744073709551615), the last plain64 IV");
            assertRefused(queue, new SectorRequest().encrypt(SectorCipher.of(key), four, four, 4, SECTOR, 1),
                    IllegalArgumentException.class, "first IV 4 is not a multiple of 8: with 4096-byte sectors the"
                            + " plain64 IV counts 512-byte units and each sector starts at a multiple of 8 (dm-crypt,"
                            + " LUKS2)");
            assertRefused(queue, new SectorRequest().encrypt(cipher, four.asSlice(0, 3 * SECTOR),
                            four.asSlice(SECTOR), 0, SECTOR, 3),
                    IllegalArgumentException.class, "src and dst overlap without being the same memory; pass the"
                            + " same region for in-place operation, or regions that do not overlap");
            byte[] heap = new byte[4 * SECTOR];
            assertRefused(queue, new SectorRequest().encrypt(cipher, MemorySegment.ofArray(heap).asSlice(0, 2 * SECTOR),
                            MemorySegment.ofArray(heap).asSlice(16, 2 * SECTOR), 0, SECTOR, 2),
                    IllegalArgumentException.class, "src and dst overlap without being the same memory; pass the"
                            + " same region for in-place operation, or regions that do not overlap");
            // The last sector number itself is fine.
            join(queue.encrypt(cipher, four, other, -1, SECTOR, 1, WAIT));
            QueueMetrics m = settled(queue);
            assertEquals(9, m.failed(), m.toString());
            assertEquals(1, m.completed(), m.toString());
        }
    }

    @Test
    void memoryOfAConfinedArenaIsRefusedBecauseWorkersCannotTouchIt() throws Exception {
        try (SectorQueue queue = twoWorkers().build(); Arena confined = Arena.ofConfined()) {
            MemorySegment mine = confined.allocate(SECTOR);
            assertRefused(queue, new SectorRequest().encrypt(cipher, mine, mine, 0, SECTOR, 1),
                    IllegalArgumentException.class, "src belongs to a confined arena that only its owner thread may"
                            + " use; queue workers need memory from a shared, global or automatic arena"
                            + " (Arena.ofShared()) or the heap, or a queue in inline mode");
        }
        try (SectorQueue inline = twoWorkers().mode(SectorQueue.Mode.INLINE).build(); Arena confined = Arena.ofConfined()) {
            MemorySegment mine = confined.allocate(SECTOR);
            join(inline.encrypt(cipher, mine, mine, 0, SECTOR, 1, WAIT));
        }
    }

    @Test
    void badSettingsAreRefusedSayingWhatIsAllowed() {
        SectorQueue.Builder b = SectorQueue.builder();
        assertEquals("workers must be 1 .. 1024, not 0",
                assertThrows(IllegalArgumentException.class, () -> b.workers(0)).getMessage());
        assertEquals("capacity must be 2 .. 2^30 ring slots, not 1",
                assertThrows(IllegalArgumentException.class, () -> b.capacity(1)).getMessage());
        assertEquals("stripe size must be 512 .. 1073741824 bytes, not 100",
                assertThrows(IllegalArgumentException.class, () -> b.stripeBytes(100)).getMessage());
        assertEquals("idle spin PT-0.001S is negative",
                assertThrows(IllegalArgumentException.class, () -> b.idleSpin(Duration.ofMillis(-1))).getMessage());
        assertEquals("latency sampling must be a power of two from 1 to 1024, not 3",
                assertThrows(IllegalArgumentException.class, () -> b.latencySampling(3)).getMessage());
        assertEquals("idle spin must be at most 1 s, not PT2S",
                assertThrows(IllegalArgumentException.class, () -> b.idleSpin(Duration.ofSeconds(2))).getMessage());
        try (SectorQueue queue = b.workers(1).capacity(1000).build()) {
            assertEquals(1024, queue.capacity(), "capacity rounds up to a power of two");
            assertEquals("maxWait PT-1S is negative", assertThrows(IllegalArgumentException.class,
                    () -> queue.submit(new SectorRequest(), Duration.ofSeconds(-1))).getMessage());
        }
    }

    // ---- Back-pressure ----

    @Test
    void trySubmitReturnsFalseWhenFullAndTheRequestStaysUsable() throws Exception {
        MemorySegment buf = arena.allocate(SECTOR);
        try (SectorQueue queue = SectorQueue.builder().workers(1).capacity(2).build()) {
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            SectorRequest a = new SectorRequest().encrypt(cipher, buf, buf, 0, SECTOR, 1);
            SectorRequest b = new SectorRequest().encrypt(cipher, buf, buf, 1, SECTOR, 1);
            SectorRequest c = new SectorRequest().encrypt(cipher, buf, buf, 2, SECTOR, 1);
            assertTrue(queue.trySubmit(a));
            assertTrue(queue.trySubmit(b));
            assertFalse(queue.trySubmit(c), "a ring of 2 holding 2 is full");
            assertFalse(c.isInFlight(), "a refused request is handed back");
            assertEquals(2, queue.metrics().queueDepth());
            TimeoutException timeout = assertThrows(TimeoutException.class,
                    () -> queue.submit(c, Duration.ofMillis(20)));
            assertEquals("the sector queue stayed full for PT0.02S (2 slots); the request was not submitted",
                    timeout.getMessage());
            held.release();
            queue.submit(c, WAIT); // room appears as the worker drains
            join(a.future());
            join(b.future());
            join(c.future());
        }
    }

    @Test
    void submitWaitingOnAFullQueueCanBeInterrupted() throws Exception {
        MemorySegment buf = arena.allocate(SECTOR);
        AtomicInteger ranInterrupted = new AtomicInteger();
        try (SectorQueue queue = SectorQueue.builder().workers(1).capacity(2).build()) {
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            assertTrue(queue.trySubmit(new SectorRequest().encrypt(cipher, buf, buf, 0, SECTOR, 1)));
            assertTrue(queue.trySubmit(new SectorRequest().encrypt(cipher, buf, buf, 1, SECTOR, 1)));
            SectorRequest waiting = new SectorRequest((r, f) -> ranInterrupted.incrementAndGet())
                    .encrypt(cipher, buf, buf, 2, SECTOR, 1);
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            CountDownLatch done = new CountDownLatch(1);
            Thread submitter = new Thread(() -> {
                try {
                    queue.submit(waiting, Duration.ofMinutes(5));
                } catch (Throwable t) {
                    outcome.set(t);
                }
                done.countDown();
            });
            submitter.start();
            // It is waiting once it sleeps between attempts (it also checks before the first one).
            awaitCondition(() -> submitter.getState() == Thread.State.TIMED_WAITING, "the submitter to wait for room");
            submitter.interrupt();
            await(done, "the interrupted submitter to return");
            assertInstanceOf(InterruptedException.class, outcome.get());
            assertEquals("interrupted while waiting for room in the sector queue; the request was not submitted",
                    outcome.get().getMessage());
            assertFalse(waiting.isInFlight());
            held.release();
            queue.shutdown();
            assertTrue(queue.awaitTermination(WAIT));
            assertEquals(0, ranInterrupted.get(), "the interrupted request never ran");
            assertEquals(3, queue.metrics().completed(), "the holding request and the two queued ones");
        }
    }

    @Test
    void aCallbackSubmittingToItsFullQueueRunsTheRequestItselfInsteadOfWaitingForItself() throws Exception {
        MemorySegment buf = arena.allocate(2 * SECTOR);
        MemorySegment expected = encryptedDirectly(arena, cipher, buf.asSlice(SECTOR), 9, SECTOR);
        CompletableFuture<Throwable> submittedFromCallback = new CompletableFuture<>();
        try (SectorQueue queue = SectorQueue.builder().workers(1).capacity(2).coalesce(false).build()) {
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            MemorySegment target = buf.asSlice(SECTOR);
            SectorRequest follower = new SectorRequest().encrypt(cipher, target, arena.allocate(SECTOR), 9, SECTOR, 1);
            SectorRequest first = new SectorRequest((r, f) -> {
                try {
                    // This worker took `first` from the ring, which left one slot: fill it.
                    assertTrue(queue.trySubmit(new SectorRequest().encrypt(cipher, buf, buf, 0, SECTOR, 1)));
                    assertFalse(queue.trySubmit(new SectorRequest().encrypt(cipher, buf, buf, 3, SECTOR, 1)));
                    queue.submit(follower, Duration.ofMinutes(5));
                    submittedFromCallback.complete(null);
                } catch (Throwable t) {
                    submittedFromCallback.complete(t);
                }
            }).encrypt(cipher, buf, buf, 1, SECTOR, 1);
            assertTrue(queue.trySubmit(first));
            assertTrue(queue.trySubmit(new SectorRequest().encrypt(cipher, buf, buf, 2, SECTOR, 1)));
            held.release();
            assertNull(submittedFromCallback.get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS));
            join(follower.future());
            assertSameBytes(expected, follower.dst(), "the request run by the callback's thread");
        }
    }

    // ---- Failures ----

    @Test
    void aThrowingCallbackIsReportedAndTheWorkerCarriesOn() throws Exception {
        AtomicReference<Throwable> reported = new AtomicReference<>();
        AtomicReference<SectorRequest> reportedFor = new AtomicReference<>();
        MemorySegment buf = arena.allocate(SECTOR);
        try (SectorQueue queue = SectorQueue.builder().workers(1).callbackErrorHandler((r, t) -> {
            reportedFor.set(r);
            reported.set(t);
        }).build()) {
            RuntimeException boom = new RuntimeException("callback failure for the test");
            SectorRequest throwing = new SectorRequest((r, f) -> {
                throw boom;
            }).encrypt(cipher, buf, buf, 0, SECTOR, 1);
            queue.submit(throwing, WAIT);
            awaitCondition(() -> queue.metrics().callbackFailures() == 1, "the callback failure to be counted");
            assertSame(boom, reported.get());
            assertSame(throwing, reportedFor.get());
            assertFalse(throwing.isInFlight(), "the request completed before its callback threw");
            // The same (only) worker still runs requests.
            join(queue.encrypt(cipher, buf, buf, 1, SECTOR, 1, WAIT));
            QueueMetrics m = settled(queue);
            assertEquals(2, m.completed(), m.toString());
            assertEquals(0, m.failed(), m.toString());
        }
    }

    @Test
    void aClosedKeyFailsItsRequestAndTheWorkerCarriesOn() throws Exception {
        XtsKey doomed = newKey(99);
        SectorCipher doomedCipher = SectorCipher.of(doomed);
        MemorySegment buf = random(arena, 64L * SECTOR, 5);
        MemorySegment before = arena.allocate(buf.byteSize()).copyFrom(buf);
        doomed.close();
        try (SectorQueue queue = SectorQueue.builder().workers(1).stripeBytes(8 * SECTOR).build()) {
            for (long sectors : new long[] {1, 64}) { // whole, and striped
                CompletionException e = assertThrows(CompletionException.class,
                        () -> queue.encrypt(doomedCipher, buf, buf, 0, SECTOR, sectors, WAIT).join());
                assertInstanceOf(io.sectorcrypt.xts.KeyClosedException.class, e.getCause());
                assertEquals("the XtsKey is closed: its key material was zeroed; open a new XtsKey",
                        e.getCause().getMessage());
            }
            assertSameBytes(before, buf, "nothing written with a closed key");
            join(queue.encrypt(cipher, buf, buf, 0, SECTOR, 64, WAIT));
            assertSameBytes(encryptedDirectly(arena, cipher, before, 0, SECTOR), buf, "the next request");
            assertEquals(2, settled(queue).failed());
        }
    }

    // ---- Coalescing, inline mode, metrics ----

    /** Contiguous means consecutive IVs in the cipher's convention: 1 apart, or 8 for 4096-byte sectors under PLAIN64. */
    @ParameterizedTest(name = "{0}")
    @EnumSource(IvConvention.class)
    void contiguousSmallRequestsShareADowncallAndGiveTheSameResult(IvConvention convention) throws Exception {
        SectorCipher cipher = SectorCipher.of(key, convention);
        long step = convention.ivStep(SECTOR);
        int n = 12;
        MemorySegment plain = random(arena, (long) n * SECTOR, 11);
        MemorySegment expected = encryptedDirectly(arena, cipher, plain, 100 * step, SECTOR);
        MemorySegment sealed = arena.allocate(plain.byteSize());
        MemorySegment elsewhere = arena.allocate(SECTOR);
        try (SectorQueue queue = SectorQueue.builder().workers(1).capacity(32).stripeBytes(8 * SECTOR).build()) {
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            SectorRequest[] requests = new SectorRequest[n + 1];
            for (int i = 0; i < n; i++) {
                requests[i] = new SectorRequest().encrypt(cipher, plain.asSlice((long) i * SECTOR, SECTOR),
                        sealed.asSlice((long) i * SECTOR, SECTOR), (100 + i) * step, SECTOR, 1);
                assertTrue(queue.trySubmit(requests[i]));
            }
            // Contiguous in sectors but not in memory: must not join.
            requests[n] = new SectorRequest().encrypt(cipher, plain.asSlice(0, SECTOR), elsewhere, (100 + n) * step, SECTOR,
                    1);
            assertTrue(queue.trySubmit(requests[n]));
            held.release();
            for (SectorRequest r : requests) {
                join(r.future());
            }
            assertSameBytes(expected, sealed, "coalesced output");
            assertSameBytes(encryptedDirectly(arena, cipher, plain.asSlice(0, SECTOR), (100 + n) * step, SECTOR), elsewhere,
                    "the request that could not join");
            // 12 contiguous sectors in runs of at most 8 (the stripe): 8 + 4, so 7 + 3 joined a run.
            assertEquals(10, settled(queue).coalesced(), queue.metrics().toString());
        }
    }

    @Test
    void noCoalescingWhenTurnedOff() throws Exception {
        MemorySegment plain = random(arena, 4L * SECTOR, 11);
        try (SectorQueue queue = SectorQueue.builder().workers(1).coalesce(false).build()) {
            assertFalse(queue.coalesces());
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            SectorRequest[] requests = new SectorRequest[4];
            for (int i = 0; i < 4; i++) {
                MemorySegment s = plain.asSlice((long) i * SECTOR, SECTOR);
                requests[i] = new SectorRequest().encrypt(cipher, s, s, i, SECTOR, 1);
                assertTrue(queue.trySubmit(requests[i]));
            }
            held.release();
            for (SectorRequest r : requests) {
                join(r.future());
            }
            assertEquals(0, settled(queue).coalesced());
        }
    }

    @Test
    void inlineModeRunsOnTheSubmittingThread() throws Exception {
        AtomicReference<Thread> ranOn = new AtomicReference<>();
        MemorySegment buf = arena.allocate(SECTOR);
        try (SectorQueue queue = SectorQueue.builder().mode(SectorQueue.Mode.INLINE).build()) {
            assertEquals(0, queue.workers());
            assertEquals(0, queue.capacity());
            SectorRequest request = new SectorRequest((r, f) -> ranOn.set(Thread.currentThread()))
                    .encrypt(cipher, buf, buf, 0, SECTOR, 1);
            assertTrue(queue.trySubmit(request));
            assertSame(Thread.currentThread(), ranOn.get(), "the callback ran before trySubmit returned, here");
            assertEquals(1, queue.metrics().completed());
        }
    }

    @Test
    void metricsAreReadableWhileRequestsWait() throws Exception {
        MemorySegment buf = arena.allocate(64L * SECTOR);
        try (SectorQueue queue = SectorQueue.builder().workers(1).capacity(8).stripeBytes(16 * SECTOR).build()) {
            Fixtures.HeldWorker held = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            SectorRequest small = new SectorRequest().encrypt(cipher, buf.asSlice(0, SECTOR), arena.allocate(SECTOR),
                    0, SECTOR, 1);
            SectorRequest striped = new SectorRequest().encrypt(cipher, buf, buf, 0, SECTOR, 64);
            assertTrue(queue.trySubmit(small));
            assertTrue(queue.trySubmit(striped));
            QueueMetrics waiting = queue.metrics();
            assertEquals(3, waiting.submitted(), waiting.toString());
            assertEquals(2, waiting.inFlight(), waiting.toString());
            assertEquals(2, waiting.queueDepth(), "one worker: the striped request is one ring entry");
            assertEquals(1, waiting.completed(), "the holding request is counted before its callback: " + waiting);
            held.release();
            join(small.future());
            join(striped.future());
            queue.shutdown();
            assertTrue(queue.awaitTermination(WAIT));
            QueueMetrics done = queue.metrics();
            assertEquals(3, done.completed(), done.toString());
            assertEquals(0, done.inFlight(), done.toString());
            assertEquals(0, done.queueDepth(), done.toString());
            assertEquals(3, done.latencyNanos().getTotalCount(), "one latency per completion");
            assertTrue(done.latencyNanosAt(100) > 0, done.toString());
        }
    }

    @Test
    void latencyIsSampledOnceInNSubmissionsOfEachRequest() throws Exception {
        MemorySegment buf = arena.allocate(SECTOR);
        try (SectorQueue queue = SectorQueue.builder().workers(1).latencySampling(4).build()) {
            SectorRequest reused = new SectorRequest().encrypt(cipher, buf, buf, 0, SECTOR, 1);
            for (int i = 0; i < 12; i++) {
                queue.submit(reused, WAIT);
                join(reused.future());
            }
            QueueMetrics m = settled(queue);
            assertEquals(12, m.completed(), m.toString());
            assertEquals(3, m.latencyNanos().getTotalCount(), "submissions 0, 4 and 8 of the request are timed");
        }
    }

    @Test
    void toStringNamesNoKeyMaterial() {
        try (SectorQueue queue = twoWorkers().build()) {
            assertEquals("SectorQueue[test, WORKERS, 2 workers, 1024 slots, stripes of 65536 B]", queue.toString());
        }
        MemorySegment buf = arena.allocate(SECTOR);
        SectorRequest r = new SectorRequest().encrypt(cipher, buf, buf, 7, SECTOR, 1);
        assertEquals("SectorRequest[ENCRYPT 1 sectors of 4096 B from IV 7, " + cipher + "]", r.toString());
        assertEquals("SectorRequest[empty]", new SectorRequest().toString());
    }
}
