package io.sectorcrypt.queue;

import static io.sectorcrypt.queue.Fixtures.assertSameBytes;
import static io.sectorcrypt.queue.Fixtures.newKey;
import static io.sectorcrypt.queue.Fixtures.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
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
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Many producers, more threads than cores, requests of 1 to 2048 sectors: every sector is
 * processed exactly once and the disk ends up as one single-threaded call would leave it.
 *
 * <p>Half the producers work in place (a sector encrypted twice or not at all would differ
 * from the reference), half out of place; half use reusable callback requests, half futures;
 * half submit in address order (so small requests coalesce), half shuffled. Each submission
 * counts its completions: exactly one each.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class ManyProducersTest {
    private static final int PRODUCERS = 6;
    private static final int SECTOR = 512;
    private static final long SECTORS_PER_PRODUCER = 6144; // 3 MiB each
    private static final Duration WAIT = Duration.ofSeconds(Fixtures.WAIT_SECONDS);
    /** Rounds per queue, each with its own cut of the disk: more interleavings, still under a second or two. */
    private static final int ROUNDS = 3;

    static Stream<Arguments> queues() {
        int cores = Runtime.getRuntime().availableProcessors();
        return Stream.of(
                // More workers than cores, a tiny ring (constant back-pressure), small stripes.
                Arguments.of("workers=cores+1, capacity 8, 8 KiB stripes",
                        SectorQueue.builder().workers(cores + 1).capacity(8).stripeBytes(8192)),
                Arguments.of("1 worker, capacity 256, default stripes",
                        SectorQueue.builder().workers(1).capacity(256)),
                Arguments.of("workers=cores, no idle spin (park at once), no coalescing",
                        SectorQueue.builder().workers(cores).idleSpin(Duration.ZERO).coalesce(false)),
                Arguments.of("inline", SectorQueue.builder().mode(SectorQueue.Mode.INLINE)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("queues")
    void everySectorExactlyOnceAndTheSameAsOneThread(String label, SectorQueue.Builder builder) throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            runRound(label, builder, round);
        }
    }

    private void runRound(String label, SectorQueue.Builder builder, int round) throws Exception {
        try (Arena arena = Arena.ofShared(); XtsKey key = newKey(42 + round)) {
            SectorCipher cipher = SectorCipher.of(key);
            long totalSectors = PRODUCERS * SECTORS_PER_PRODUCER;
            long diskFirstSector = 1L << 40;
            MemorySegment plain = random(arena, totalSectors * SECTOR, 7);
            MemorySegment expected = arena.allocate(plain.byteSize(), 64);
            cipher.encrypt(plain, expected, diskFirstSector, SECTOR);
            MemorySegment inPlace = arena.allocate(plain.byteSize(), 64).copyFrom(plain);
            MemorySegment outOfPlace = arena.allocate(plain.byteSize(), 64);

            SplittableRandom rnd = new SplittableRandom(label.hashCode() * 31L + round);
            List<Workload> workloads = new ArrayList<>();
            int submissions = 0;
            for (int p = 0; p < PRODUCERS; p++) {
                Workload w = Workload.cut(diskFirstSector + p * SECTORS_PER_PRODUCER, SECTORS_PER_PRODUCER, rnd,
                        p % 4 >= 2);
                workloads.add(w);
                submissions += w.chunks().size();
            }
            AtomicIntegerArray completions = new AtomicIntegerArray(submissions);
            AtomicReference<Throwable> firstProblem = new AtomicReference<>();
            CyclicBarrier start = new CyclicBarrier(PRODUCERS);

            try (SectorQueue queue = builder.name("many-producers").latencySampling(1).build()) {
                List<Thread> producers = new ArrayList<>();
                int base = 0;
                for (int p = 0; p < PRODUCERS; p++) {
                    Workload w = workloads.get(p);
                    MemorySegment dst = p % 2 == 0 ? inPlace : outOfPlace;
                    MemorySegment src = p % 2 == 0 ? inPlace : plain;
                    boolean callbacks = p % 3 != 0;
                    int firstIndex = base;
                    base += w.chunks().size();
                    Thread t = new Thread(() -> {
                        try {
                            start.await(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
                            if (callbacks) {
                                produceWithCallbacks(queue, cipher, w, src, dst, diskFirstSector, firstIndex, completions,
                                        firstProblem);
                            } else {
                                produceWithFutures(queue, cipher, w, src, dst, diskFirstSector, firstIndex, completions,
                                        firstProblem);
                            }
                        } catch (Throwable e) {
                            firstProblem.compareAndSet(null, e);
                        }
                    }, "producer-" + p);
                    producers.add(t);
                    t.start();
                }
                for (Thread t : producers) {
                    t.join(TimeUnit.SECONDS.toMillis(Fixtures.WAIT_SECONDS * 3));
                    assertTrue(!t.isAlive(), t.getName() + " did not finish: a completion was lost or hung");
                }
                queue.shutdown();
                assertTrue(queue.awaitTermination(WAIT), "the queue did not terminate");
                assertNull(firstProblem.get(), () -> "a producer or completion failed: " + firstProblem.get());
                QueueMetrics m = queue.metrics();
                assertEquals(submissions, m.submitted(), m.toString());
                assertEquals(submissions, m.completed(), m.toString());
                assertEquals(0, m.failed(), m.toString());
                assertEquals(submissions, m.latencyNanos().getTotalCount(), m.toString());
            }
            for (int i = 0; i < submissions; i++) {
                if (completions.get(i) != 1) {
                    fail("submission " + i + " completed " + completions.get(i) + " times");
                }
            }
            for (int p = 0; p < PRODUCERS; p++) {
                long offset = p * SECTORS_PER_PRODUCER * SECTOR;
                long length = SECTORS_PER_PRODUCER * SECTOR;
                MemorySegment actual = (p % 2 == 0 ? inPlace : outOfPlace).asSlice(offset, length);
                assertSameBytes(expected.asSlice(offset, length), actual, "producer " + p + "'s sectors");
            }
        }
    }

    /** Eight reusable requests, each refilled as soon as its callback hands it back. */
    private static void produceWithCallbacks(SectorQueue queue, SectorCipher cipher, Workload w, MemorySegment src,
                                             MemorySegment dst, long diskFirst, int firstIndex,
                                             AtomicIntegerArray completions, AtomicReference<Throwable> problem)
            throws Exception {
        BlockingQueue<SectorRequest> free = new ArrayBlockingQueue<>(8);
        SectorCallback callback = (request, failure) -> {
            if (failure != null) {
                problem.compareAndSet(null, failure);
            }
            completions.incrementAndGet((Integer) request.attachment());
            free.add(request);
        };
        for (int i = 0; i < 8; i++) {
            free.add(new SectorRequest(callback));
        }
        int index = firstIndex;
        for (Workload.Chunk c : w.chunks()) {
            SectorRequest r = free.poll(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
            if (r == null) {
                throw new AssertionError("no request came back within " + Fixtures.WAIT_SECONDS + " s");
            }
            long offset = (c.first() - diskFirst) * SECTOR;
            long length = (long) c.count() * SECTOR;
            r.encrypt(cipher, src.asSlice(offset, length), dst.asSlice(offset, length), c.first(), SECTOR, c.count())
                    .attach(index++);
            queue.submit(r, WAIT);
        }
        for (int i = 0; i < 8; i++) {
            if (free.poll(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS) == null) {
                throw new AssertionError("a request never came back");
            }
        }
    }

    private static void produceWithFutures(SectorQueue queue, SectorCipher cipher, Workload w, MemorySegment src,
                                           MemorySegment dst, long diskFirst, int firstIndex,
                                           AtomicIntegerArray completions, AtomicReference<Throwable> problem)
            throws Exception {
        List<CompletableFuture<Void>> futures = new ArrayList<>();
        int index = firstIndex;
        for (Workload.Chunk c : w.chunks()) {
            long offset = (c.first() - diskFirst) * SECTOR;
            long length = (long) c.count() * SECTOR;
            int mine = index++;
            futures.add(queue.encrypt(cipher, src.asSlice(offset, length), dst.asSlice(offset, length), c.first(),
                    SECTOR, c.count(), WAIT).whenComplete((v, failure) -> {
                        if (failure != null) {
                            problem.compareAndSet(null, failure);
                        }
                        completions.incrementAndGet(mine);
                    }));
        }
        CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new)).get(Fixtures.WAIT_SECONDS * 3,
                TimeUnit.SECONDS);
    }
}
