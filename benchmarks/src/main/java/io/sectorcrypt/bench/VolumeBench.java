package io.sectorcrypt.bench;

import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.VolumeSpec;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.SplittableRandom;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.infra.ThreadParams;

/**
 * Requests per second of an {@link EncryptedVolume} on a file in the page cache against the
 * same requests on a plain file (FileChannel positional read and write, the same buffers): the
 * cost of encryption as a user of the volume sees it.
 *
 * <ul>
 *   <li>{@code target}: {@code raw} (the plain file), {@code volume} (the manager's sector
 *       queue, its default) or {@code volume-noqueue} ({@code withoutQueue()}: every byte on
 *       the calling thread), {@code volume-double} (a DOUBLE disk: XTS then HCTR2, with the
 *       queue), or {@code raw-xts}: the plain file with the engine called directly
 *       on the calling thread (decrypt in place after the read, encrypt into a second buffer
 *       before the write): what a volume could reach if its own bookkeeping cost nothing.</li>
 *   <li>{@code pattern}: {@code seq-1m}, each thread walks its own half of the file in 1 MiB
 *       requests (wrapping); {@code rand-4k}, 4 KiB requests at random 4 KiB-aligned offsets
 *       over the whole file.</li>
 *   <li>{@code op}: {@code read} or {@code write}.</li>
 * </ul>
 * The file ({@code fileMiB} of data) is written in full before measuring, so reads return
 * real ciphertext (a never-written volume sector would read as zeros without being decrypted)
 * and the pages are in the page cache; it lives in {@code sectorcrypt.bench.dir} (default
 * {@code java.io.tmpdir}) and is deleted afterwards. Nothing is synced: this measures the CPU
 * path, not the disk. Score = requests per second over both threads.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(2)
public class VolumeBench {
    static final int SEQ_BYTES = 1 << 20;
    static final int RAND_BYTES = 4096;
    static final String DIR_PROPERTY = "sectorcrypt.bench.dir";

    @Param({"raw", "raw-xts", "volume", "volume-noqueue", "volume-double"})
    public String target;

    @Param({"seq-1m", "rand-4k"})
    public String pattern;

    @Param({"read", "write"})
    public String op;

    @Param({"256"})
    public int fileMiB;

    private Path dir;
    private BenchVolumes volumes;
    private EncryptedVolume volume;
    private FileChannel raw;
    /** raw-xts only. */
    private SectorCipher xts;
    private XtsKey key;
    long size;
    int requestBytes;
    boolean write;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        size = (long) fileMiB << 20;
        requestBytes = switch (pattern) {
            case "seq-1m" -> SEQ_BYTES;
            case "rand-4k" -> RAND_BYTES;
            default -> throw new IllegalArgumentException("pattern: seq-1m or rand-4k, not " + pattern);
        };
        write = switch (op) {
            case "read" -> false;
            case "write" -> true;
            default -> throw new IllegalArgumentException("op: read or write, not " + op);
        };
        String parent = System.getProperty(DIR_PROPERTY);
        dir = BenchVolumes.tempDir(parent == null ? null : Path.of(parent), "sectorcrypt-volume-bench");
        try {
            fillFile();
        } catch (IOException | RuntimeException e) {
            try {
                tearDown(); // a set-up that failed half-way leaves no vault or file behind
            } catch (IOException | RuntimeException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private void fillFile() throws IOException {
        try (Arena arena = Arena.ofShared()) { // shared: queue workers read it
            MemorySegment chunk = arena.allocate(SEQ_BYTES, 4096);
            fill(chunk, 1);
            switch (target) {
                case "raw", "raw-xts" -> {
                    raw = FileChannel.open(dir.resolve("raw.img"), StandardOpenOption.CREATE_NEW,
                            StandardOpenOption.READ, StandardOpenOption.WRITE);
                    if (target.equals("raw-xts")) {
                        byte[] k = new byte[64];
                        new SplittableRandom(3).nextBytes(k);
                        key = XtsKey.of(k);
                        xts = SectorCipher.of(key, IvConvention.PLAIN64);
                    }
                    for (long pos = 0; pos < size; pos += SEQ_BYTES) {
                        ByteBuffer b = chunk.asByteBuffer();
                        while (b.hasRemaining()) {
                            raw.write(b, pos + b.position());
                        }
                    }
                }
                case "volume", "volume-noqueue", "volume-double" -> {
                    volumes = new BenchVolumes(dir, !target.equals("volume-noqueue"));
                    volume = volumes.volumes.create(dir.resolve("volume.luks"), VolumeSpec.of(size,
                            target.equals("volume-double") ? BenchVolumes.DOUBLE_SET : BenchVolumes.SET));
                    for (long pos = 0; pos < size; pos += SEQ_BYTES) {
                        volume.write(pos, chunk);
                    }
                }
                default -> throw new IllegalArgumentException("target: raw, raw-xts, volume, volume-noqueue or"
                        + " volume-double, not " + target);
            }
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        if (raw != null) {
            raw.close();
        }
        if (key != null) {
            key.close();
        }
        if (volumes != null) {
            volumes.close(); // closes the volume
        } else {
            BenchVolumes.deleteTree(dir);
        }
    }

    /** Non-zero bytes that differ per seed, so no sector is all-zero. */
    static void fill(MemorySegment s, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        for (long i = 0; i < s.byteSize(); i += 8) {
            s.set(ValueLayout.JAVA_LONG_UNALIGNED, i, r.nextLong() | 0x0101010101010101L);
        }
    }

    /** One thread's buffer and place in the file. */
    @State(Scope.Thread)
    public static class Cursor {
        MemorySegment buffer;
        ByteBuffer view;
        /** raw-xts writes: the ciphertext (the caller's buffer must not change). */
        MemorySegment bounce;
        ByteBuffer bounceView;
        SplittableRandom random;
        long regionStart;
        long regionBytes;
        long next;

        @Setup(Level.Trial)
        public void setUp(VolumeBench b, ThreadParams threads) {
            buffer = Arena.ofAuto().allocate(b.requestBytes, 4096);
            fill(buffer, 100 + threads.getThreadIndex());
            view = buffer.asByteBuffer();
            bounce = Arena.ofAuto().allocate(b.requestBytes, 4096);
            bounceView = bounce.asByteBuffer();
            random = new SplittableRandom(200 + threads.getThreadIndex());
            regionBytes = b.size / threads.getThreadCount() / SEQ_BYTES * SEQ_BYTES;
            regionStart = regionBytes * threads.getThreadIndex();
        }

        long nextOffset(VolumeBench b) {
            if (b.requestBytes == RAND_BYTES) {
                return random.nextLong(b.size / RAND_BYTES) * RAND_BYTES;
            }
            long offset = regionStart + next;
            next = (next + SEQ_BYTES) % regionBytes;
            return offset;
        }
    }

    @Benchmark
    public void request(Cursor c) throws IOException {
        long offset = c.nextOffset(this);
        if (raw != null) {
            long iv = offset / 512; // plain64: the IV counts 512-byte units
            if (xts != null && write) {
                xts.encrypt(c.buffer, c.bounce, iv, 4096);
            }
            ByteBuffer b = (xts != null && write ? c.bounceView : c.view).clear();
            while (b.hasRemaining()) {
                int n = write ? raw.write(b, offset + b.position()) : raw.read(b, offset + b.position());
                if (n < 0) {
                    throw new IOException("short read at " + offset);
                }
            }
            if (xts != null && !write) {
                xts.decrypt(c.buffer, c.buffer, iv, 4096);
            }
        } else if (write) {
            volume.write(offset, c.buffer);
        } else {
            volume.read(offset, c.buffer);
        }
    }
}
