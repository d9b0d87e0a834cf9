package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

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
            for (int i = 0; i < 150 && failure.get() == null; i++) {
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
}
