package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * {@link EncryptedVolume#writeConsuming}: what it stores is byte for byte what {@code write}
 * stores (so every reader of the disk, dm-crypt included, sees no difference), on single-layer
 * and DOUBLE disks, for pieces that are whole sectors (encrypted in place, across the 1 MiB
 * chunking and the sector queue's threshold) and pieces with partial sectors at their edges
 * (merged through the volume's own buffer); and it does encrypt in the caller's memory.
 */
class ConsumingWriteTest {
    private static final int SIZE = 4 << 20;

    @TempDir
    Path dir;

    private static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    private static byte[] dataArea(Path disk, long offset, int size) throws IOException {
        try (RandomAccessFile raf = new RandomAccessFile(disk.toFile(), "r")) {
            byte[] area = new byte[size];
            raf.seek(offset);
            raf.readFully(area);
            return area;
        }
    }

    @ParameterizedTest
    @CsvSource({"plat, 4096", "plat, 512", "dbl, 4096", "dbl, 512"})
    void storesWhatWriteStoresAndEncryptsInTheCallersMemory(String set, int sectorSize) throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] image = random(SIZE, sectorSize);
        // {offset, length}: whole sectors across the 1 MiB chunks (and over the queue's 256 KiB
        // threshold), one sector, and pieces with a partial sector at one edge or both.
        long[][] pieces = {{0, (2 << 20) + 3 * 4096}, {3 << 20, 4096}, {(3 << 20) + 8192, 777},
            {(3 << 20) + 20_000, 70_000}, {SIZE - 4096 - 300, 4096 + 300}};
        try (VolumeFixture f = new VolumeFixture(dir);
                EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(SIZE, set).withSectorSize(sectorSize))) {
            for (long[] p : pieces) {
                v.write(p[0], image, (int) p[0], (int) p[1]);
            }
            v.flush();
            byte[] byWrite = dataArea(disk, v.dataOffset(), SIZE);

            v.writeZeroes(0, SIZE, false);
            try (Arena arena = Arena.ofShared()) {
                for (long[] p : pieces) {
                    MemorySegment src = arena.allocate(p[1]);
                    MemorySegment.copy(image, (int) p[0], src, ValueLayout.JAVA_BYTE, 0, (int) p[1]);
                    v.writeConsuming(p[0], src, false);
                    if (p[0] % sectorSize == 0 && p[1] % sectorSize == 0) {
                        assertFalse(Arrays.equals(Arrays.copyOfRange(image, (int) p[0], (int) (p[0] + p[1])),
                                src.toArray(ValueLayout.JAVA_BYTE)), "whole sectors are encrypted where they are");
                    }
                }
            }
            v.flush();
            byte[] byConsuming = dataArea(disk, v.dataOffset(), SIZE);
            for (long[] p : pieces) {
                // The sectors each piece touches (the bytes around it read as zeros both times:
                // never written, then written as encrypted zeros).
                int from = (int) (p[0] / sectorSize * sectorSize);
                int to = (int) ((p[0] + p[1] + sectorSize - 1) / sectorSize * sectorSize);
                assertArrayEquals(Arrays.copyOfRange(byWrite, from, to), Arrays.copyOfRange(byConsuming, from, to),
                        "the ciphertext write() stores, at " + p[0]);
            }
            for (long[] p : pieces) {
                byte[] back = new byte[(int) p[1]];
                v.read(p[0], back, 0, back.length);
                assertArrayEquals(Arrays.copyOfRange(image, (int) p[0], (int) (p[0] + p[1])), back);
            }
        }
    }

    @ParameterizedTest
    @CsvSource({"plat", "dbl"})
    void aReadOnlySourceIsRefused(String set) throws Exception {
        try (VolumeFixture f = new VolumeFixture(dir);
                EncryptedVolume v = f.volumes.create(dir.resolve("disk.img"), VolumeSpec.of(SIZE, set))) {
            MemorySegment readOnly = MemorySegment.ofArray(new byte[4096]).asReadOnly();
            assertThrows(IllegalArgumentException.class, () -> v.writeConsuming(0, readOnly, false));
        }
    }
}
