package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** I/O large enough for the sector queue, from memory its workers may not touch, and back. */
class EncryptedVolumeMemoryTest {
    @TempDir
    Path dir;

    /**
     * A confined arena's memory is only usable on its owner's thread: large reads and writes
     * from it are done on the caller's thread instead of failing on the queue's checks.
     */
    @Test
    void largeIoFromConfinedMemoryWorksWithTheQueue() throws Exception {
        int bytes = 3 << 20; // three bounce buffers' worth, each chunk above the queue threshold
        byte[] data = new byte[bytes];
        new Random(7).nextBytes(data);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(dir.resolve("disk.img"), VolumeSpec.of(8L << 20, "plat"));
             Arena confined = Arena.ofConfined()) {
            MemorySegment src = confined.allocate(bytes, 4096);
            MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, bytes);
            v.write(1 << 20, src);
            MemorySegment dst = confined.allocate(bytes, 4096);
            v.read(1 << 20, dst);
            assertArrayEquals(data, dst.toArray(ValueLayout.JAVA_BYTE));
            byte[] viaHeap = new byte[bytes];
            v.read(1 << 20, viaHeap, 0, bytes);
            assertArrayEquals(data, viaHeap);
            MemorySegment unaligned = confined.allocate(bytes - 1000);
            v.read((1 << 20) + 1000, unaligned);
            assertEquals(data[1000], unaligned.get(ValueLayout.JAVA_BYTE, 0));
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 1000, bytes), unaligned.toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /**
     * The all-zero check reads a sector's first 8 bytes first and compares the rest only when
     * they are zero: never-written sectors around a written one still read as zeros.
     */
    @Test
    void neverWrittenSectorsBesideAWrittenOneReadAsZeros() throws Exception {
        try (VolumeFixture f = new VolumeFixture(dir, b -> b.withoutQueue());
             EncryptedVolume v = f.volumes.create(dir.resolve("disk.img"), VolumeSpec.of(1 << 20, "plat"))) {
            byte[] plain = new byte[4096];
            plain[4095] = 1;
            v.write(8192, plain, 0, plain.length);
            byte[] back = new byte[3 * 4096];
            v.read(4096, back, 0, back.length);
            assertArrayEquals(new byte[4096], java.util.Arrays.copyOfRange(back, 0, 4096));
            assertArrayEquals(plain, java.util.Arrays.copyOfRange(back, 4096, 8192));
            assertArrayEquals(new byte[4096], java.util.Arrays.copyOfRange(back, 8192, 12288));
        }
    }

    /**
     * A read on the caller's thread returns what a read through the queue does (large,
     * aligned or not, across never-written sectors) and hands the queue nothing.
     */
    @Test
    void readOnCallerThreadMatchesReadAndLeavesTheQueueAlone() throws Exception {
        int bytes = 3 << 20;
        byte[] data = new byte[bytes];
        new Random(8).nextBytes(data);
        try (io.sectorcrypt.queue.SectorQueue queue = io.sectorcrypt.queue.SectorQueue.builder().workers(2).build();
             VolumeFixture f = new VolumeFixture(dir, b -> b.queue(queue));
             EncryptedVolume v = f.volumes.create(dir.resolve("disk.img"), VolumeSpec.of(8L << 20, "plat"));
             Arena arena = Arena.ofShared()) {
            v.write(1 << 20, data, 0, bytes);
            MemorySegment viaQueue = arena.allocate(bytes + (2 << 20), 4096);
            v.read(0, viaQueue);
            long submitted = queue.metrics().submitted();
            assertTrue(submitted > 0, "a large read of shared memory goes through the queue");
            MemorySegment onCaller = arena.allocate(bytes + (2 << 20), 4096);
            v.readOnCallerThread(0, onCaller);
            assertEquals(-1, viaQueue.mismatch(onCaller));
            assertArrayEquals(data, onCaller.asSlice(1 << 20, bytes).toArray(ValueLayout.JAVA_BYTE));
            MemorySegment unaligned = arena.allocate(bytes - 1000);
            v.readOnCallerThread((1 << 20) + 1000, unaligned);
            assertArrayEquals(java.util.Arrays.copyOfRange(data, 1000, bytes), unaligned.toArray(ValueLayout.JAVA_BYTE));
            assertEquals(submitted, queue.metrics().submitted(), "the reads on the caller's thread used no queue");
        }
    }

    /**
     * A write in place leaves the file exactly as a copying write of the same data does, on a
     * single-layer disk and a DOUBLE one. On the single-layer disk it encrypts src itself and
     * hands the queue nothing; a DOUBLE disk's write, and one that does not begin and end on
     * a sector boundary, copy as write does and leave src as it was.
     */
    @ParameterizedTest
    @ValueSource(strings = {"plat", "dbl"})
    void writeInPlaceStoresWhatWriteStores(String set) throws Exception {
        int bytes = 3 << 20; // three bounce buffers' worth: large enough for the queue
        long offset = 1 << 20;
        byte[] data = new byte[bytes];
        new Random(9).nextBytes(data);
        byte[] other = new byte[bytes];
        new Random(10).nextBytes(other);
        Path disk = dir.resolve("disk.img");
        try (io.sectorcrypt.queue.SectorQueue queue = io.sectorcrypt.queue.SectorQueue.builder().workers(2).build();
             VolumeFixture f = new VolumeFixture(dir, b -> b.queue(queue));
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(8L << 20, set));
             Arena arena = Arena.ofShared()) {
            v.write(offset, data, 0, bytes);
            byte[] copied = java.nio.file.Files.readAllBytes(disk);
            v.write(offset, other, 0, bytes);
            MemorySegment src = arena.allocate(bytes, 4096);
            MemorySegment.copy(data, 0, src, ValueLayout.JAVA_BYTE, 0, bytes);
            long submitted = queue.metrics().submitted();
            v.writeInPlace(offset, src, false);
            long submittedInPlace = queue.metrics().submitted() - submitted;
            assertArrayEquals(copied, java.nio.file.Files.readAllBytes(disk), "the same bytes in the file");
            byte[] back = new byte[bytes];
            v.read(offset, back, 0, bytes);
            assertArrayEquals(data, back);
            if (set.equals("plat")) {
                assertNotEquals(-1, src.mismatch(MemorySegment.ofArray(data)), "src was encrypted in place");
                assertEquals(0, submittedInPlace, "the write in place used no queue");
            } else {
                assertEquals(-1, src.mismatch(MemorySegment.ofArray(data)), "a DOUBLE disk's write copies");
            }
            MemorySegment unaligned = arena.allocate(bytes - 1000);
            MemorySegment.copy(other, 0, unaligned, ValueLayout.JAVA_BYTE, 0, bytes - 1000);
            v.writeInPlace(offset + 1000, unaligned, false);
            assertEquals(-1, unaligned.mismatch(MemorySegment.ofArray(other).asSlice(0, bytes - 1000)),
                    "an unaligned write copies");
            v.read(offset, back, 0, bytes);
            assertArrayEquals(java.util.Arrays.copyOf(data, 1000), java.util.Arrays.copyOf(back, 1000));
            assertArrayEquals(java.util.Arrays.copyOf(other, bytes - 1000),
                    java.util.Arrays.copyOfRange(back, 1000, bytes));
        }
    }
}
