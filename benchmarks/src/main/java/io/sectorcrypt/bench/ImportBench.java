package io.sectorcrypt.bench;

import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.VolumeSpec;
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
 * copies chunks t, t + N, ... (default 1, the case). The vault (key file, no passphrase KDF)
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
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--no-queue" -> queue = false;
                case "--threads" -> threads = i + 1 < args.length ? Integer.parseInt(args[++i]) : 0;
                default -> paths.add(args[i]);
            }
        }
        if (paths.size() != 2 || threads < 1 || threads > 64) {
            System.err.println("usage: ImportBench RAW OUT [--no-queue] [--threads N]");
            System.exit(2);
        }
        Path rawPath = Path.of(paths.get(0));
        Path out = Path.of(paths.get(1));
        long bytes = Files.size(rawPath);
        if (bytes == 0 || bytes % VolumeSpec.DEFAULT_SECTOR_SIZE != 0) {
            System.err.println(rawPath + ": " + bytes + " bytes is not a positive whole number of 4096-byte sectors");
            System.exit(2);
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
