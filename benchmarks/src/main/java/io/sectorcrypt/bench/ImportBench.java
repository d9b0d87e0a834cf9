package io.sectorcrypt.bench;

import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.VolumeSpec;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The library path of {@code sectorcrypt volume import} until the CLI has the command: reads a
 * raw image in 1 MiB chunks on one thread and writes each chunk into a new volume, then syncs
 * it ({@link EncryptedVolume#flush}) and closes it. Used by {@code ci/bench-import.sh}.
 *
 * <p>Usage: {@code ImportBench RAW OUT [--no-queue] [--threads N]}: with N threads, thread t
 * copies chunks t, t + N, ... (default 1, the case). {@code --floor buffered|direct}:
 * the same copy without the volume (see {@link #floor}), through or around the page cache. The vault (key file, no passphrase KDF)
 * is made in a fresh directory beside OUT and deleted afterwards; OUT is left for the caller.
 * Prints one line: {@code import-library seconds=S bytes=N queue=true|false write=W
 * flush+close=F}: S is the time from creating the volume to its close (the vault's setup, in
 * milliseconds, is not in it; the script also times the whole process), W of it until the
 * last write returned (data in the page cache), F the sync to the disk and the close.
 */
public final class ImportBench {
    private static final int CHUNK = 1 << 20;

    private ImportBench() {
    }

    public static void main(String[] args) throws Exception {
        boolean queue = true;
        int threads = 1;
        String floor = null;
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--no-queue" -> queue = false;
                case "--threads" -> threads = i + 1 < args.length ? Integer.parseInt(args[++i]) : 0;
                case "--floor" -> floor = i + 1 < args.length ? args[++i] : "";
                default -> paths.add(args[i]);
            }
        }
        if (paths.size() != 2 || threads < 1 || threads > 64
                || (floor != null && !floor.equals("buffered") && !floor.equals("direct"))) {
            System.err.println("usage: ImportBench RAW OUT [--no-queue] [--threads N] | RAW OUT --floor buffered|direct");
            System.exit(2);
        }
        Path rawPath = Path.of(paths.get(0));
        Path out = Path.of(paths.get(1));
        long bytes = Files.size(rawPath);
        if (bytes == 0 || bytes % VolumeSpec.DEFAULT_SECTOR_SIZE != 0) {
            System.err.println(rawPath + ": " + bytes + " bytes is not a positive whole number of 4096-byte sectors");
            System.exit(2);
        }
        if (floor != null) {
            floor(rawPath, out, bytes, floor.equals("direct"));
            return;
        }
        Path work = BenchVolumes.tempDir(out.toAbsolutePath().getParent(), ".import-bench-vault");
        try (BenchVolumes v = new BenchVolumes(work, queue);
             FileChannel raw = FileChannel.open(rawPath, StandardOpenOption.READ)) {
            long start = System.nanoTime();
            long written;
            try (EncryptedVolume volume = v.volumes.create(out, VolumeSpec.of(bytes, BenchVolumes.SET))) {
                int n = threads;
                List<Thread> workers = new ArrayList<>();
                Throwable[] failure = new Throwable[n];
                for (int t = 0; t < n; t++) {
                    int index = t;
                    workers.add(Thread.ofPlatform().name("import-" + t).start(() -> {
                        try {
                            copy(raw, rawPath, volume, bytes, index, n);
                        } catch (Throwable e) {
                            failure[index] = e;
                        }
                    }));
                }
                for (Thread t : workers) {
                    t.join();
                }
                for (Throwable e : failure) {
                    if (e != null) {
                        throw new IllegalStateException("import failed", e);
                    }
                }
                written = System.nanoTime();
                volume.flush();
            }
            long end = System.nanoTime();
            System.out.printf(Locale.ROOT, "import-library seconds=%.3f bytes=%d queue=%s threads=%d write=%.3f"
                    + " flush+close=%.3f%n", (end - start) / 1e9, bytes, queue, threads, (written - start) / 1e9,
                    (end - written) / 1e9);
        }
    }

    /**
     * The floor under any import on this machine: no volume, no header, no vault; one thread
     * reads 1 MiB, encrypts it with the engine into a second buffer and writes that at the
     * volume's data offset of a new file, then syncs: through the page cache ({@code buffered})
     * or around it ({@code direct}, O_DIRECT: the buffers are 4096-aligned, the writes whole
     * 4096-byte sectors).
     */
    private static void floor(Path rawPath, Path out, long bytes, boolean direct) throws IOException {
        byte[] keyBytes = new byte[64];
        new java.util.SplittableRandom(5).nextBytes(keyBytes);
        java.util.Set<java.nio.file.OpenOption> options = new java.util.HashSet<>(
                List.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        if (direct) {
            options.add(com.sun.nio.file.ExtendedOpenOption.DIRECT);
        }
        try (XtsKey key = XtsKey.of(keyBytes);
             Arena arena = Arena.ofConfined()) {
            SectorCipher xts = SectorCipher.of(key, IvConvention.PLAIN64);
            MemorySegment in = arena.allocate(CHUNK, 4096);
            MemorySegment ciphertext = arena.allocate(CHUNK, 4096);
            long start = System.nanoTime();
            long written;
            try (FileChannel raw = FileChannel.open(rawPath, StandardOpenOption.READ);
                 FileChannel dst = FileChannel.open(out, options)) {
                for (long pos = 0; pos < bytes; pos += CHUNK) {
                    int n = (int) Math.min(CHUNK, bytes - pos);
                    ByteBuffer b = in.asSlice(0, n).asByteBuffer();
                    while (b.hasRemaining()) {
                        if (raw.read(b, pos + b.position()) < 0) {
                            throw new IOException(rawPath + " ended early at byte " + (pos + b.position()));
                        }
                    }
                    xts.encrypt(in.asSlice(0, n), ciphertext, pos / 512, VolumeSpec.DEFAULT_SECTOR_SIZE);
                    ByteBuffer c = ciphertext.asSlice(0, n).asByteBuffer();
                    long at = io.sectorcrypt.volume.VolumeManager.DATA_OFFSET + pos;
                    while (c.hasRemaining()) {
                        dst.write(c, at + c.position());
                    }
                }
                written = System.nanoTime();
                dst.force(false);
            }
            long end = System.nanoTime();
            System.out.printf(Locale.ROOT, "import-floor seconds=%.3f bytes=%d io=%s write=%.3f flush+close=%.3f%n",
                    (end - start) / 1e9, bytes, direct ? "direct" : "buffered", (written - start) / 1e9,
                    (end - written) / 1e9);
        }
    }

    /** Copies chunks {@code index}, {@code index + stride}, ... of the raw file into the volume. */
    private static void copy(FileChannel raw, Path rawPath, EncryptedVolume volume, long bytes, int index, int stride)
            throws IOException {
        try (Arena arena = Arena.ofShared()) { // shared: queue workers read it
            MemorySegment chunk = arena.allocate(CHUNK, 4096);
            for (long pos = (long) index * CHUNK; pos < bytes; pos += (long) stride * CHUNK) {
                MemorySegment piece = chunk.asSlice(0, Math.min(CHUNK, bytes - pos));
                ByteBuffer b = piece.asByteBuffer();
                while (b.hasRemaining()) {
                    if (raw.read(b, pos + b.position()) < 0) {
                        throw new IOException(rawPath + " ended early at byte " + (pos + b.position()));
                    }
                }
                volume.write(pos, piece);
            }
        }
    }
}
