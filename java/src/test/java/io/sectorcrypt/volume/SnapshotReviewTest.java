package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.volume.luks2.Luks2FormatException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Review attacks on snapshots, restore and the changed-block map. */
class SnapshotReviewTest {
    static final int CHUNK = SnapshotInfo.CHUNK_BYTES;

    @TempDir
    Path dir;

    static byte[] readAll(EncryptedVolume v) {
        return SnapshotTest.readAll(v);
    }

    /**
     * Writers at the old end of a volume as it grows must not fail: the changed-block map grew
     * after the new size was published, and a write in between indexed past its bits.
     */
    @Test
    void writesJustPastTheOldEndWhileGrowing() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(64L * 64 * CHUNK, "plat"))) {
            v.snapshot(dir.resolve("s0"), SnapshotKind.FULL, Progress.NONE);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            // Busy markers: new bits keep the map's monitor busy with pwrites.
            Thread busy = Thread.ofPlatform().start(() -> {
                Random r = new Random(1);
                while (!stop.get()) {
                    try {
                        long c = r.nextLong(64L * 64);
                        v.write(c * CHUNK, new byte[1], 0, 1);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                }
            });
            for (int i = 0; i < 60 && failure.get() == null; i++) {
                long old = v.size();
                Thread w = Thread.ofPlatform().start(() -> {
                    while (v.size() == old) {
                        Thread.onSpinWait();
                    }
                    try {
                        v.write(old, new byte[1], 0, 1);
                    } catch (Throwable t) {
                        failure.compareAndSet(null, t);
                    }
                });
                v.resize(old + 64L * CHUNK);
                w.join();
            }
            stop.set(true);
            busy.join();
            if (failure.get() != null) {
                failure.get().printStackTrace();
            }
            assertEquals(null, failure.get());
        }
    }

    /** A full snapshot cut short (its last chunks lost in a copy) must not restore as zeros. */
    @Test
    void aTruncatedFullSnapshotIsRefused() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] image = new byte[2 << 20];
        new Random(2).nextBytes(image);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(image.length, "plat"))) {
            v.write(0, image, 0, image.length);
            Path s = dir.resolve("full.snap");
            v.snapshot(s, SnapshotKind.FULL, Progress.NONE);
            try (RandomAccessFile raf = new RandomAccessFile(s.toFile(), "rw")) {
                raf.setLength(raf.length() - (1 << 20));
            }
            Path r = dir.resolve("r.img");
            Luks2FormatException e = assertThrows(Luks2FormatException.class,
                    () -> f.volumes.restore(List.of(s), r, Progress.NONE).close(),
                    "a full snapshot missing its last MiB restored silently");
            assertTrue(e.getMessage().contains("full.snap") && e.getMessage().contains("cut short"), e.getMessage());
            assertThrows(Luks2FormatException.class, () -> VolumeManager.inspectSnapshot(s));
            assertFalse(Files.exists(r));
        }
    }

    /**
     * A snapshot that fails midway (here its progress callback cancels it) must not fail the
     * volume's own writes: a writer that had picked up the snapshot before it ended went on to
     * copy its chunk into the closed snapshot file and failed with ClosedChannelException.
     */
    @Test
    void aFailingSnapshotNeverFailsAWrite() throws Exception {
        Path disk = dir.resolve("disk.img");
        int chunks = 256;
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of((long) chunks * CHUNK, "plat"))) {
            byte[] fill = new byte[chunks * CHUNK];
            new Random(3).nextBytes(fill);
            v.write(0, fill, 0, fill.length);
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> ts = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                int seed = t;
                ts.add(Thread.ofPlatform().start(() -> {
                    Random r = new Random(seed);
                    byte[] b = new byte[4096];
                    while (!stop.get() && failure.get() == null) {
                        try {
                            v.write(r.nextInt(chunks) * (long) CHUNK, b, 0, b.length);
                        } catch (Throwable x) {
                            failure.compareAndSet(null, x);
                        }
                    }
                }));
            }
            for (int i = 0; i < 100 && failure.get() == null; i++) {
                int failAt = 1 + (i % 50);
                try {
                    v.snapshot(dir.resolve("s" + i), SnapshotKind.FULL, (done, total) -> {
                        if (done >= (long) failAt * CHUNK) {
                            throw new IllegalStateException("cancelled");
                        }
                    });
                } catch (IllegalStateException expected) {
                    // the snapshot was cancelled
                }
            }
            stop.set(true);
            for (Thread t : ts) {
                t.join();
            }
            if (failure.get() != null) {
                failure.get().printStackTrace();
            }
            assertEquals(null, failure.get());
            try (var files = Files.list(dir)) {
                assertEquals(List.of(), files.map(p -> p.getFileName().toString())
                        .filter(n -> n.startsWith("s") || n.startsWith(".s")).toList(), "cancelled snapshots leave nothing");
            }
        }
    }

    /**
     * Sidecars left by a deleted volume at the same path make its catalogue another volume's:
     * the snapshot is refused, and was refused only after the whole disk had been copied.
     */
    @Test
    void aCatalogueThatCannotTakeTheSnapshotRefusesItBeforeTheCopy() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
                v.snapshot(dir.resolve("old.snap"), SnapshotKind.FULL, Progress.NONE);
            }
            Files.delete(disk);
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
                v.write(0, new byte[] {1}, 0, 1);
                List<Long> calls = new ArrayList<>();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> v.snapshot(dir.resolve("new.snap"), SnapshotKind.FULL, (d, t) -> calls.add(d)));
                assertTrue(e.getMessage().contains("disk.img.snapshots"), e.getMessage());
                assertEquals(List.of(), calls, "refused before any chunk was copied");
                assertFalse(Files.exists(dir.resolve("new.snap")));
            }
        }
    }

    /**
     * A first snapshot taken to the volume's own map path was listed and reported taken, then
     * replaced by the map its commit renamed over it: the snapshot was gone.
     */
    @Test
    void aSnapshotOrDiskNamedAsASidecarIsRefused() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
            v.write(0, new byte[] {7}, 0, 1);
            for (String n : List.of("disk.img.changes", "disk.img.snapshots", "other.img.changes")) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> v.snapshot(dir.resolve(n), SnapshotKind.FULL, Progress.NONE));
                assertTrue(e.getMessage().contains(n) && e.getMessage().contains("choose another name"),
                        e.getMessage());
                assertFalse(Files.exists(dir.resolve(n)));
            }
            v.snapshot(dir.resolve("s0"), SnapshotKind.FULL, Progress.NONE);
            assertEquals("s0", Path.of(VolumeManager.inspectSnapshot(dir.resolve("s0")).path()).getFileName()
                    .toString());
            assertThrows(IllegalArgumentException.class, () -> f.volumes.restore(List.of(dir.resolve("s0")),
                    dir.resolve("r.img.changes"), Progress.NONE));
            assertThrows(IllegalArgumentException.class, () -> f.volumes.create(dir.resolve("d.snapshots"),
                    VolumeSpec.of(1 << 20, "plat")));
        }
    }

    /**
     * An interrupt during a JDK FileChannel call closes the channel: a snapshot cancelled by
     * interrupting its thread (Future.cancel(true)) closed the volume's data channel, its lock
     * went with it, and every later I/O failed with ClosedChannelException. The volume's files
     * are now {@link PosixFileChannel}s, which an interrupt does not close.
     */
    @Test
    void anInterruptedSnapshotLeavesTheVolumeUsable() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(8L << 20, "plat"))) {
            v.write(0, new byte[8 << 20], 0, 8 << 20);
            Thread t = Thread.ofPlatform().start(() -> {
                try {
                    v.snapshot(dir.resolve("s"), SnapshotKind.FULL, (d, total) -> {
                        if (d == 4L * CHUNK) {
                            Thread.currentThread().interrupt(); // as Future.cancel(true) would
                        }
                    });
                } catch (RuntimeException expected) {
                    // the snapshot may fail
                }
            });
            t.join();
            v.write(0, new byte[4096], 0, 4096); // failed with ClosedChannelException
            byte[] back = new byte[4096];
            v.read(0, back, 0, 4096);
            assertArrayEquals(new byte[4096], back);
        }
    }
}
