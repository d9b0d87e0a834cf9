package io.sectorcrypt.bench;

import com.sun.management.OperatingSystemMXBean;
import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.VolumeSpec;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToDoubleFunction;
import java.util.function.Consumer;

/**
 * {@code sectorcrypt bench --volume}: the targets of {@link VolumeBench} (raw, raw-xts,
 * volume, volume-noqueue) in one JVM, on files set up once, measured in short slices that
 * take turns (the order rotates every round), so that each round's ratio to raw compares
 * seconds that lie next to each other. On a shared machine that matters more than JMH's
 * fork-per-row isolation (JMH: {@code ci/jmh VolumeBench}). Each slice also counts the
 * process's CPU time: requests per CPU-second show what a target costs even while other
 * processes take cores (a target with more threads, such as a queue's workers, can win wall
 * time on a loaded machine by taking a larger share of it).
 */
public final class VolumeInterleaved {
    static final int THREADS = 2;
    static final List<String> TARGETS = List.of("raw", "raw-xts", "volume", "volume-noqueue");
    static final List<String> PATTERNS = List.of("seq-1m", "rand-4k");
    static final List<String> OPS = List.of("read", "write");

    /** One slice: requests per second of wall time, and per second of this process's CPU time. */
    public record Row(int round, String pattern, String op, String target, int requestBytes, double requestsPerSec,
                      double requestsPerCpuSec) {
        public double bytesPerSec() {
            return requestsPerSec * requestBytes;
        }
    }

    /** What to run; {@code seconds} is about how long the measuring takes (set-up comes on top). */
    public record Plan(int rounds, int fileMiB, double seconds) {
        long sliceMillis() {
            int slices = PATTERNS.size() * OPS.size()
                    * TARGETS.size() * (rounds + 1);
            return Math.max(100, Math.round(seconds * 1000 / slices));
        }
    }

    @FunctionalInterface
    private interface Request {
        void run(long offset, MemorySegment buffer, MemorySegment bounce) throws IOException;
    }

    private static final OperatingSystemMXBean OS =
            (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();

    private VolumeInterleaved() {
    }

    public static List<Row> run(Plan plan, Consumer<String> progress) throws Exception {
        long size = (long) plan.fileMiB() << 20;
        String parent = System.getProperty(VolumeBench.DIR_PROPERTY);
        Path dir = BenchVolumes.tempDir(parent == null ? null : Path.of(parent), "sectorcrypt-volume-bench");
        List<Row> rows = new ArrayList<>();
        progress.accept("volume: writing the files");
        try (BenchVolumes queued = new BenchVolumes(dir.resolve("queue"), true);
             BenchVolumes inline = new BenchVolumes(dir.resolve("noqueue"), false);
             FileChannel raw = FileChannel.open(dir.resolve("raw.img"), StandardOpenOption.CREATE_NEW,
                     StandardOpenOption.READ, StandardOpenOption.WRITE);
             XtsKey key = XtsKey.of(randomKey());
             Arena arena = Arena.ofShared()) {
            EncryptedVolume vq = queued.volumes.create(dir.resolve("queue.luks"), VolumeSpec.of(size, BenchVolumes.SET));
            EncryptedVolume vn = inline.volumes.create(dir.resolve("noqueue.luks"),
                    VolumeSpec.of(size, BenchVolumes.SET));
            SectorCipher xts = SectorCipher.of(key, IvConvention.PLAIN64);
            MemorySegment chunk = arena.allocate(VolumeBench.SEQ_BYTES, 4096);
            VolumeBench.fill(chunk, 1);
            for (long pos = 0; pos < size; pos += chunk.byteSize()) {
                write(raw, chunk, pos);
                vq.write(pos, chunk);
                vn.write(pos, chunk);
            }
            for (String pattern : PATTERNS) {
                int bytes = pattern.equals("seq-1m") ? VolumeBench.SEQ_BYTES : VolumeBench.RAND_BYTES;
                for (String op : OPS) {
                    boolean writes = op.equals("write");
                    List<String> targets = new ArrayList<>(TARGETS);
                    List<Request> requests = new ArrayList<>();
                    for (String target : targets) {
                        requests.add(switch (target) {
                            case "raw" -> (off, buf, bounce) -> {
                                if (writes) {
                                    write(raw, buf, off);
                                } else {
                                    read(raw, buf, off);
                                }
                            };
                            case "raw-xts" -> (off, buf, bounce) -> {
                                if (writes) {
                                    xts.encrypt(buf, bounce, off / 512, 4096);
                                    write(raw, bounce, off);
                                } else {
                                    read(raw, buf, off);
                                    xts.decrypt(buf, buf, off / 512, 4096);
                                }
                            };
                            case "volume" -> volumeRequest(vq, writes);
                            case "volume-noqueue" -> volumeRequest(vn, writes);
                            default -> throw new IllegalStateException(target);
                        });
                    }
                    progress.accept("volume: " + pattern + " " + op + " (warm-up)");
                    for (Request r : requests) {
                        slice(r, plan.sliceMillis(), bytes, size);
                    }
                    for (int round = 1; round <= plan.rounds(); round++) {
                        progress.accept("volume: " + pattern + " " + op + ", round " + round + "/" + plan.rounds());
                        List<Integer> order = new ArrayList<>(List.of(0, 1, 2, 3));
                        Collections.rotate(order, round);
                        for (int i : order) {
                            double[] m = slice(requests.get(i), plan.sliceMillis(), bytes, size);
                            rows.add(new Row(round, pattern, op, targets.get(i), bytes, m[0], m[1]));
                        }
                    }
                }
            }
        } finally {
            BenchVolumes.deleteTree(dir);
        }
        return rows;
    }

    private static Request volumeRequest(EncryptedVolume v, boolean writes) {
        return (off, buf, bounce) -> {
            if (writes) {
                v.write(off, buf);
            } else {
                v.read(off, buf);
            }
        };
    }

    /**
     * Runs {@code request} on {@link #THREADS} threads for about {@code millis}: each thread
     * walks its own part of the file in order (1 MiB requests) or picks random 4 KiB-aligned
     * offsets. Returns requests per second of wall time and per second of process CPU time.
     */
    private static double[] slice(Request request, long millis, int bytes, long size) throws Exception {
        CyclicBarrier start = new CyclicBarrier(THREADS + 1);
        long[] counts = new long[THREADS];
        Throwable[] failure = new Throwable[1];
        AtomicBoolean stop = new AtomicBoolean();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            int index = t;
            threads.add(Thread.ofPlatform().name("volume-bench-" + t).start(() -> {
                MemorySegment buf = Arena.ofAuto().allocate(bytes, 4096);
                MemorySegment bounce = Arena.ofAuto().allocate(bytes, 4096);
                VolumeBench.fill(buf, 100 + index);
                SplittableRandom random = new SplittableRandom(200 + index + System.nanoTime());
                long region = size / THREADS / VolumeBench.SEQ_BYTES * VolumeBench.SEQ_BYTES;
                long next = 0;
                long n = 0;
                try {
                    start.await();
                    while (true) {
                        if (stop.get()) {
                            break;
                        }
                        for (int k = 0; k < 16; k++) {
                            long offset;
                            if (bytes == VolumeBench.RAND_BYTES) {
                                offset = random.nextLong(size / bytes) * bytes;
                            } else {
                                offset = region * index + next;
                                next = (next + bytes) % region;
                            }
                            request.run(offset, buf, bounce);
                            n++;
                        }
                    }
                } catch (Throwable e) {
                    failure[0] = e;
                }
                counts[index] = n;
            }));
        }
        start.await();
        long cpu0 = OS.getProcessCpuTime();
        long t0 = System.nanoTime();
        Thread.sleep(millis);
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        long wall = System.nanoTime() - t0;
        long cpu = OS.getProcessCpuTime() - cpu0;
        if (failure[0] != null) {
            throw new IllegalStateException("a volume benchmark thread failed", failure[0]);
        }
        long total = 0;
        for (long c : counts) {
            total += c;
        }
        return new double[] {total / (wall / 1e9), total / (Math.max(1, cpu) / 1e9)};
    }

    private static byte[] randomKey() {
        byte[] k = new byte[64];
        new SplittableRandom(3).nextBytes(k);
        return k;
    }

    private static void write(FileChannel ch, MemorySegment src, long position) {
        ByteBuffer b = src.asByteBuffer();
        try {
            while (b.hasRemaining()) {
                ch.write(b, position + b.position());
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void read(FileChannel ch, MemorySegment dst, long position) {
        ByteBuffer b = dst.asByteBuffer();
        try {
            while (b.hasRemaining()) {
                if (ch.read(b, position + b.position()) < 0) {
                    throw new IOException("short read at " + position);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Median, minimum and maximum over rounds. */
    record Spread(double median, double min, double max, int n) {
        static Spread of(double[] values) {
            double[] v = values.clone();
            Arrays.sort(v);
            double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
            return new Spread(median, v[0], v[v.length - 1], v.length);
        }

        String format() {
            return n == 1 ? String.format(Locale.ROOT, "%.2f", median)
                    : String.format(Locale.ROOT, "%.2f (%.2f..%.2f)", median, min, max);
        }
    }

    /** One target's rows of one (pattern, op), by round. */
    static List<Row> rows(List<Row> rows, String pattern, String op, String target) {
        return rows.stream().filter(r -> r.pattern().equals(pattern) && r.op().equals(op)
                && r.target().equals(target)).sorted(java.util.Comparator.comparingInt(Row::round)).toList();
    }

    /** Each round's ratio of {@code target} to raw in {@code metric}, each from the same round. */
    static double[] ratios(List<Row> rows, String pattern, String op, String target, ToDoubleFunction<Row> metric) {
        List<Row> t = rows(rows, pattern, op, target);
        List<Row> raw = rows(rows, pattern, op, "raw");
        double[] r = new double[Math.min(t.size(), raw.size())];
        for (int i = 0; i < r.length; i++) {
            r[i] = metric.applyAsDouble(t.get(i)) / metric.applyAsDouble(raw.get(i));
        }
        return r;
    }

    static String json(Row r) {
        return String.format(Locale.ROOT, "{\"volume\":\"%s\",\"pattern\":\"%s\",\"op\":\"%s\",\"round\":%d,"
                + "\"threads\":%d,\"requestBytes\":%d,\"requestsPerSec\":%.4g,\"requestsPerCpuSec\":%.4g,"
                + "\"bytesPerSec\":%.4g}", r.target(), r.pattern(), r.op(), r.round(), THREADS, r.requestBytes(),
                r.requestsPerSec(), r.requestsPerCpuSec(), r.bytesPerSec());
    }
}
