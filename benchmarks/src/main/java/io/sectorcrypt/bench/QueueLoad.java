package io.sectorcrypt.bench;

import io.sectorcrypt.queue.SectorQueue;
import io.sectorcrypt.queue.SectorRequest;
import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Drives a {@link SectorQueue} (or direct calls) from producer threads for a fixed time and
 * measures what JMH cannot: latency at a fixed offered rate, and the CPU time every thread of
 * the pipeline spent, so that throughput can be stated per core actually used.
 *
 * <ul>
 *   <li>Closed loop ({@code rate = 0}): each producer keeps a window of requests in flight and
 *       submits as fast as they come back: the peak.</li>
 *   <li>Open loop ({@code rate > 0}): producers send on a fixed schedule, spinning until each
 *       send time. Latency runs from the <em>scheduled</em> send time to the callback, so a
 *       stall delays every request behind it and shows in the percentiles (no coordinated
 *       omission).</li>
 * </ul>
 * Requests are in place, each on its own buffer, with one sector of gap between consecutive
 * requests so that nothing coalesces (random I/O).
 */
public final class QueueLoad {
    /** What to run. {@code rate} is total requests per second over all producers; 0 = as fast as possible. */
    public record Config(String path, int workers, int producers, int requestBytes, int sectorSize, double rate,
                         Duration warmup, Duration measure, Engine engine) {
        public Config {
            if (!List.of("direct", "queue", "inline").contains(path)) {
                throw new IllegalArgumentException("path must be direct, queue or inline, not " + path);
            }
            if (producers < 1 || workers < 0 || requestBytes % sectorSize != 0 || rate < 0) {
                throw new IllegalArgumentException("bad load: " + this);
            }
        }

        Config withRate(double r) {
            return new Config(path, workers, producers, requestBytes, sectorSize, r, warmup, measure, engine);
        }
    }

    /**
     * @param requestsPerSec completed requests per second
     * @param cpuCores       CPU seconds of all pipeline threads per second of wall time
     * @param latency        nanoseconds, from send (or scheduled send) to callback
     */
    public record Result(Config config, double requestsPerSec, double cpuCores, double producerCores,
                         Histogram latency) {
        public double bytesPerSec() {
            return requestsPerSec * config.requestBytes();
        }

        /** Bytes per second per core of CPU time the producers and workers used. */
        public double bytesPerCpuSecond() {
            return bytesPerSec() / cpuCores;
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%s %d workers %d producers %d B rate %.0f: %.0f req/s %.2f GB/s"
                            + " %.2f cores (producers %.2f) %.2f GB/s/core p50 %d p99 %d p99.9 %d ns", config.path(),
                    config.workers(), config.producers(), config.requestBytes(), config.rate(), requestsPerSec,
                    bytesPerSec() / 1e9, cpuCores, producerCores, bytesPerCpuSecond() / 1e9, latency.getValueAtPercentile(50),
                    latency.getValueAtPercentile(99), latency.getValueAtPercentile(99.9));
        }
    }

    private static final ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();
    /** How often latency is swapped out of the producers' recorders. */
    private static final long FLIP_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    /** Room comes back within microseconds; this only bounds a broken run. */
    private static final Duration MAX_SUBMIT_WAIT = Duration.ofSeconds(10);

    private QueueLoad() {
    }

    public static Result run(Config c) throws Exception {
        try (XtsKey key = XtsKey.of(BenchKeys.key(64)); Arena arena = Arena.ofShared()) {
            SectorCipher cipher = SectorCipher.of(key, c.engine(), BenchKeys.ivConvention(c.sectorSize()));
            SectorQueue queue = switch (c.path()) {
                case "queue" -> SectorQueue.builder().workers(c.workers()).name("load").build();
                case "inline" -> SectorQueue.builder().mode(SectorQueue.Mode.INLINE).build();
                default -> null;
            };
            try {
                return drive(c, cipher, queue, arena);
            } finally {
                if (queue != null) {
                    queue.shutdown();
                    if (!queue.awaitTermination(Duration.ofSeconds(30))) {
                        throw new IllegalStateException("the queue did not drain: " + queue.metrics());
                    }
                }
            }
        }
    }

    private static Result drive(Config c, SectorCipher cipher, SectorQueue queue, Arena arena) throws Exception {
        // The open loop needs room for bursts; the closed loop a window that covers a wake-up.
        int window = c.rate() > 0 ? Math.max(64, (4 << 20) / c.requestBytes())
                : Math.max(QueueBenchmark.MIN_WINDOW, QueueBenchmark.WINDOW_BYTES / c.requestBytes());
        // Found before the load starts: listing threads takes a safepoint, a pause for everyone.
        List<Long> workers = workerThreads();
        Producer[] producers = new Producer[c.producers()];
        CyclicBarrier start = new CyclicBarrier(c.producers() + 1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        long warmupNanos = c.warmup().toNanos();
        long measureNanos = c.measure().toNanos();
        // Producers run on a little past the measured interval, so that they are alive when
        // their CPU time is read at its end.
        long runNanos = warmupNanos + measureNanos + TimeUnit.MILLISECONDS.toNanos(100);
        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < producers.length; i++) {
            int index = i;
            Thread t = new Thread(() -> {
                try {
                    // Made here: its request window wakes the thread that made it.
                    producers[index] = new Producer(c, cipher, queue, arena, window, index);
                    start.await();
                    producers[index].run(runNanos);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    start.reset();
                }
            }, "load-producer-" + i);
            t.start();
            threads.add(t);
        }
        start.await();
        List<Long> pipeline = new ArrayList<>(workers);
        List<Long> producerIds = new ArrayList<>();
        for (Thread t : threads) {
            producerIds.add(t.threadId());
        }
        pipeline.addAll(producerIds);
        long t0 = System.nanoTime();
        long from = t0 + warmupNanos;
        long to = from + measureNanos;
        // Latency is swapped out of the recorders every 50 ms from the start, so that a swap is
        // part of the warmed-up steady state: the first swap of a recorder makes C2 deoptimise
        // the code that records into it (an uncommon trap), and the worker then ran interpreted
        // code for ~100 ms, which showed as milliseconds of latency at the start of the interval.
        Histogram latency = new Histogram(3);
        long cpuBefore = 0;
        long producerCpuBefore = 0;
        long measuredStart = 0;
        boolean measuring = false;
        for (long tick = t0 + FLIP_NANOS; ; tick += FLIP_NANOS) {
            long now = Math.min(tick, to);
            sleepUntil(now);
            if (!measuring && now >= from) {
                for (Producer p : producers) {
                    p.latency.getIntervalHistogram(); // the warm-up's
                }
                cpuBefore = cpuNanos(pipeline);
                producerCpuBefore = cpuNanos(producerIds);
                measuredStart = System.nanoTime();
                measuring = true;
            } else {
                for (Producer p : producers) {
                    Histogram h = p.latency.getIntervalHistogram();
                    if (measuring) {
                        latency.add(h);
                    }
                }
            }
            if (now >= to) {
                break;
            }
        }
        long cpuAfter = cpuNanos(pipeline);
        long producerCpuAfter = cpuNanos(producerIds);
        long measuredEnd = System.nanoTime();
        for (Thread t : threads) {
            t.join(TimeUnit.MINUTES.toMillis(1));
            if (t.isAlive()) {
                throw new IllegalStateException(t.getName() + " did not finish");
            }
        }
        if (failure.get() != null) {
            throw new IllegalStateException("the load failed", failure.get());
        }
        if (producerCpuAfter <= producerCpuBefore) {
            throw new IllegalStateException("a producer ended before the measured interval did");
        }
        double seconds = (measuredEnd - measuredStart) / 1e9;
        return new Result(c, latency.getTotalCount() / seconds, (cpuAfter - cpuBefore) / 1e9 / seconds,
                (producerCpuAfter - producerCpuBefore) / 1e9 / seconds, latency);
    }

    /** The queue's workers, found by the name the queue gives them. */
    private static List<Long> workerThreads() {
        List<Long> ids = new ArrayList<>();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("load-worker-")) {
                ids.add(t.threadId());
            }
        }
        return ids;
    }

    private static long cpuNanos(List<Long> ids) {
        long sum = 0;
        for (long id : ids) {
            long n = THREADS.getThreadCpuTime(id);
            if (n > 0) {
                sum += n;
            }
        }
        return sum;
    }

    private static void sleepUntil(long deadline) throws InterruptedException {
        for (long left = deadline - System.nanoTime(); left > 0; left = deadline - System.nanoTime()) {
            Thread.sleep(Math.max(1, left / 1_000_000));
        }
    }

    /** One producer thread: its buffers, requests, schedule and latency record. */
    private static final class Producer {
        final int index;
        /** Every completion, from (scheduled) send to callback; read by interval. */
        final Recorder latency = new Recorder(3);
        private final Config c;
        private final SectorCipher cipher;
        private final SectorQueue queue;
        private final MemorySegment[] buffers;
        private final RequestWindow window;
        private final long[] sentNanos;
        private final long sectorsPerRequest;
        private long sector;

        /** Created on the producer's own thread: the window wakes the thread that made it. */
        Producer(Config c, SectorCipher cipher, SectorQueue queue, Arena arena, int size, int index) {
            this.index = index;
            this.c = c;
            this.cipher = cipher;
            this.queue = queue;
            this.buffers = new MemorySegment[size];
            this.sentNanos = new long[size];
            this.sectorsPerRequest = c.requestBytes() / c.sectorSize();
            this.sector = (long) index << 40;
            this.window = new RequestWindow(size, slot -> latency.recordValue(System.nanoTime() - sentNanos[slot]));
            for (int i = 0; i < size; i++) {
                buffers[i] = arena.allocate(c.requestBytes(), 4096);
                buffers[i].fill((byte) i);
            }
        }

        void run(long runNanos) throws Exception {
            long start = System.nanoTime();
            long end = start + runNanos;
            double interval = c.rate() > 0 ? 1e9 * c.producers() / c.rate() : 0;
            long sent = 0;
            int slot = 0;
            while (true) {
                long scheduled = interval > 0 ? start + (long) (sent * interval) : System.nanoTime();
                if (scheduled >= end) {
                    break;
                }
                if (interval > 0) {
                    while (System.nanoTime() < scheduled) {
                        Thread.onSpinWait();
                    }
                }
                MemorySegment buffer = buffers[slot];
                long first = cipher.ivConvention().ivAfter(0, sector, c.sectorSize());
                sector += sectorsPerRequest + 1;
                if (queue == null) {
                    // Direct calls complete here, so they are recorded here.
                    cipher.encrypt(buffer, buffer, first, c.sectorSize());
                    latency.recordValue(System.nanoTime() - scheduled);
                } else {
                    SectorRequest r = window.claim(slot);
                    sentNanos[slot] = scheduled;
                    r.encrypt(cipher, buffer, buffer, first, c.sectorSize(), sectorsPerRequest);
                    queue.submit(r, MAX_SUBMIT_WAIT);
                }
                sent++;
                slot = slot + 1 == buffers.length ? 0 : slot + 1;
            }
            if (queue != null) {
                window.drain();
            }
        }
    }

    /** {@code java -cp benchmarks.jar io.sectorcrypt.bench.QueueLoad path workers producers bytes [rate] [seconds]} */
    public static void main(String[] args) throws Exception {
        String path = args[0];
        int workers = Integer.parseInt(args[1]);
        int producers = Integer.parseInt(args[2]);
        int bytes = Integer.parseInt(args[3]);
        double rate = args.length > 4 ? Double.parseDouble(args[4]) : 0;
        double seconds = args.length > 5 ? Double.parseDouble(args[5]) : 3;
        Config c = new Config(path, workers, producers, bytes, 4096, rate, Duration.ofSeconds(1),
                Duration.ofMillis((long) (seconds * 1000)), Engine.selected());
        System.out.println(run(c));
    }
}
