package io.sectorcrypt.bench;

import io.sectorcrypt.queue.SectorQueue;
import io.sectorcrypt.queue.SectorRequest;
import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Requests per second through {@link SectorQueue} against calling the cipher directly. Each
 * JMH thread is a producer with a window of requests in flight (1 MiB of them, at least 16),
 * each request in place on a buffer of its own, sector numbers spread out so that nothing
 * coalesces: random I/O, the queue's worst case.
 *
 * <ul>
 *   <li>{@code direct}: each JMH thread calls {@link SectorCipher#encrypt} itself.</li>
 *   <li>{@code queue}: JMH threads submit, {@code workers} worker threads encrypt. A producer
 *       whose next slot is still in flight spins briefly, then sleeps until half its window
 *       has come back ({@link RequestWindow}), leaving the cores to the workers.</li>
 *   <li>{@code inline}: the queue in inline mode: each JMH thread runs its own requests inside
 *       {@code trySubmit} (the queue's bookkeeping without the handoff).</li>
 * </ul>
 * Score = requests per second; bytes per second = score x requestBytes. The number of JMH
 * threads (producers) is set with {@code -t} or {@code BenchRunner}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class QueueBenchmark {
    /**
     * Bytes a producer keeps in flight (its I/O depth): 1 MiB, and at least {@link #MIN_WINDOW}
     * requests. It sleeps until half of them are back, so one wake-up serves 128 requests of
     * 4 KiB, and the workers have half the window to do while it wakes and waits for a core
     * (with two busy workers on two cores that wait can be milliseconds). Two workers on 1 MiB
     * requests against one (QueueLoad, 2 vCPUs): 1.49x with 4 in flight, 1.62x with 8, 1.87x
     * with 16.
     */
    static final int WINDOW_BYTES = 1024 * 1024;
    static final int MIN_WINDOW = 16;

    @Param({"direct", "queue", "inline"})
    public String path;

    @Param({"1", "2"})
    public int workers;

    @Param({"4096", "1048576"})
    public int requestBytes;

    @Param({"4096"})
    public int sectorSize;

    @Param({"native"})
    public String engine;

    @Param({"64"})
    public int keyBytes;

    /** The default stripe (64 KiB) unless set; a 1 MiB request is then 16 stripes. */
    @Param({"65536"})
    public int stripeBytes;

    /** Whether workers look for contiguous followers (nothing here is contiguous: its pure cost). */
    @Param({"true"})
    public boolean coalesce;

    /** How long an idle worker spins before it sleeps; the queue's default unless set. */
    @Param({"50"})
    public int idleSpinMicros;

    private XtsKey key;
    SectorCipher cipher;
    SectorQueue queue;

    @Setup(Level.Trial)
    public void setUp() {
        Engine e = Engine.parse(engine);
        if (!e.isAvailable()) {
            throw new IllegalStateException(engine + " cannot run here: " + e.unavailableReason());
        }
        if (requestBytes % sectorSize != 0) {
            throw new IllegalArgumentException("requestBytes " + requestBytes + " is not a whole number of "
                    + sectorSize + "-byte sectors");
        }
        key = XtsKey.of(BenchKeys.key(keyBytes));
        cipher = SectorCipher.of(key, e, BenchKeys.ivConvention(sectorSize));
        queue = switch (path) {
            case "direct" -> null;
            case "queue" -> SectorQueue.builder().workers(workers).stripeBytes(stripeBytes)
                    .idleSpin(Duration.ofNanos(idleSpinMicros * 1000L)).coalesce(coalesce).name("bench").build();
            case "inline" -> SectorQueue.builder().mode(SectorQueue.Mode.INLINE).stripeBytes(stripeBytes).build();
            default -> throw new IllegalArgumentException("path must be direct, queue or inline, not " + path);
        };
    }

    @TearDown(Level.Trial)
    public void tearDown() throws InterruptedException {
        if (queue != null) {
            queue.shutdown();
            if (!queue.awaitTermination(Duration.ofSeconds(30))) {
                throw new IllegalStateException("the queue did not drain: " + queue.metrics());
            }
        }
        key.close();
    }

    /** One producer: its buffers and its window of reusable requests. */
    @State(Scope.Thread)
    public static class Producer {
        private Arena arena;
        private MemorySegment[] buffers;
        private RequestWindow window;
        private int next;
        private long sector;
        private long sectorsPerRequest;

        @Setup(Level.Trial)
        public void setUp(QueueBenchmark b) {
            int size = Math.max(MIN_WINDOW, WINDOW_BYTES / b.requestBytes);
            arena = Arena.ofShared();
            buffers = new MemorySegment[size];
            window = new RequestWindow(size, slot -> { });
            for (int i = 0; i < size; i++) {
                buffers[i] = arena.allocate(b.requestBytes, 4096);
                buffers[i].fill((byte) i);
            }
            sectorsPerRequest = b.requestBytes / b.sectorSize;
            // Each producer on its own stretch of the disk.
            sector = Thread.currentThread().threadId() << 32;
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            window.drain();
            arena.close();
        }

        /** Next request's sector: one sector of gap after the last, so no two requests coalesce. */
        long nextSector() {
            long s = sector;
            sector = s + sectorsPerRequest + 1;
            return s;
        }

    }

    @Benchmark
    public void request(Producer p) {
        int slot = p.next;
        p.next = slot + 1 == p.buffers.length ? 0 : slot + 1;
        MemorySegment buffer = p.buffers[slot];
        long first = cipher.ivConvention().ivAfter(0, p.nextSector(), sectorSize);
        if (queue == null) {
            cipher.encrypt(buffer, buffer, first, sectorSize);
            return;
        }
        SectorRequest r = p.window.claim(slot);
        r.encrypt(cipher, buffer, buffer, first, sectorSize, p.sectorsPerRequest);
        while (!queue.trySubmit(r)) {
            Thread.onSpinWait();
        }
    }
}
