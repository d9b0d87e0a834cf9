package io.sectorcrypt.bench;

import io.sectorcrypt.queue.SectorQueue;
import io.sectorcrypt.queue.SectorRequest;
import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * A worker's own cost per request, with no producer running beside it: the ring is filled
 * with {@value #REQUESTS} requests of 4 KiB (random sectors, nothing coalesces) while the one
 * worker is held, then the worker is let go and the benchmark waits for the last completion.
 * {@code direct} encrypts the same buffers with direct calls. Score = nanoseconds per request;
 * queue minus direct = the worker's overhead per request (poll, look-ahead, completion,
 * counters, sampled latency) including the cache-line transfers of each request from the
 * submitting core.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@OperationsPerInvocation(QueueDrainBenchmark.REQUESTS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 5, time = 1)
public class QueueDrainBenchmark {
    static final int REQUESTS = 1000;
    private static final int BYTES = 4096;

    @Param({"queue", "direct"})
    public String path;

    @Param({"true", "false"})
    public boolean coalesce;

    private XtsKey key;
    private SectorCipher cipher;
    private Arena arena;
    private SectorQueue queue;
    private MemorySegment[] buffers;
    private SectorRequest[] requests;
    private final AtomicInteger completed = new AtomicInteger();
    /** The held worker spins on this rather than sleeping, so that letting it go costs no wake-up. */
    private volatile boolean released;
    private long sector;

    @Setup(Level.Trial)
    public void setUp() {
        key = XtsKey.of(BenchKeys.key(64));
        cipher = SectorCipher.of(key, Engine.selected());
        arena = Arena.ofShared();
        queue = SectorQueue.builder().workers(1).capacity(2 * REQUESTS).coalesce(coalesce).name("drain").build();
        buffers = new MemorySegment[REQUESTS];
        requests = new SectorRequest[REQUESTS];
        for (int i = 0; i < REQUESTS; i++) {
            buffers[i] = arena.allocate(BYTES, 4096);
            requests[i] = new SectorRequest((r, f) -> completed.incrementAndGet());
        }
    }

    /** Holds the worker in a callback and fills the ring behind it (untimed). */
    @Setup(Level.Invocation)
    public void fill() throws InterruptedException {
        if (!path.equals("queue")) {
            return;
        }
        CountDownLatch entered = new CountDownLatch(1);
        released = false;
        MemorySegment one = buffers[0];
        SectorRequest holder = new SectorRequest((r, f) -> {
            entered.countDown();
            while (!released) {
                Thread.onSpinWait();
            }
        }).encrypt(cipher, one, one, 0, BYTES, 1);
        if (!queue.trySubmit(holder) || !entered.await(10, TimeUnit.SECONDS)) {
            throw new IllegalStateException("the worker could not be held");
        }
        completed.set(0);
        for (int i = 0; i < REQUESTS; i++) {
            requests[i].encrypt(cipher, buffers[i], buffers[i], cipher.ivConvention().ivAfter(0, nextSector(), BYTES), BYTES,
                    1);
            if (!queue.trySubmit(requests[i])) {
                throw new IllegalStateException("the ring is full");
            }
        }
    }

    private long nextSector() {
        long s = sector;
        sector = s + 2; // a gap: nothing coalesces
        return s;
    }

    @Benchmark
    public void requests() {
        if (path.equals("queue")) {
            released = true;
            while (completed.get() < REQUESTS) {
                Thread.onSpinWait();
            }
            return;
        }
        for (int i = 0; i < REQUESTS; i++) {
            cipher.encrypt(buffers[i], buffers[i], cipher.ivConvention().ivAfter(0, nextSector(), BYTES), BYTES);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        queue.shutdown();
        if (!queue.awaitTermination(Duration.ofSeconds(30))) {
            throw new IllegalStateException("the queue did not drain");
        }
        arena.close();
        key.close();
    }
}
