package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.sun.management.HotSpotDiagnosticMXBean;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.xts.KeyClosedException;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Temporary disks ({@link VolumeManager#createTemporary}): the same I/O as any volume, stored
 * as dm-crypt's plain mode stores it, under a key that lives only in the volume and is
 * zeroed on close, after which the file is noise under every key the system still holds.
 */
class TemporaryVolumeTest {
    private static final Path OPENSSL_CHECK = Path.of("..", "ci", "openssl_xts_check.py").toAbsolutePath();

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(ints = {512, 1024, 2048, 4096})
    void writesAtAnyOffsetReadBackAndTheFileIsDmCryptPlainMode(int sectorSize) throws Exception {
        Path disk = dir.resolve("temp.img");
        int size = 8 << 20;
        byte[] model = new byte[size];
        Random r = new Random(sectorSize);
        r.nextBytes(model);
        byte[] key;
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.createTemporary(disk, size, sectorSize)) {
            assertTrue(v.isTemporary());
            assertEquals(size, v.size());
            assertEquals(sectorSize, v.sectorSize());
            assertEquals(0, v.dataOffset());
            assertEquals(size, Files.size(disk), "no header: the file is the data");
            byte[] fresh = new byte[3 * sectorSize + 5];
            v.read(sectorSize - 3, fresh, 0, fresh.length);
            assertArrayEquals(new byte[fresh.length], fresh, "a new temporary disk reads zeros");
            v.write(0, model, 0, size); // every sector stored, so the whole file can be checked below
            for (int i = 0; i < 200; i++) {
                int len = 1 + r.nextInt(i % 10 == 0 ? 3 << 20 : 10_000);
                int off = r.nextInt(size - len);
                byte[] b = new byte[len];
                r.nextBytes(b);
                v.write(off, b, 0, len);
                System.arraycopy(b, 0, model, off, len);
            }
            byte[] all = new byte[size];
            v.read(0, all, 0, size);
            assertArrayEquals(model, all);
            byte[] part = new byte[777];
            v.read(12345, part, 0, part.length);
            assertArrayEquals(Arrays.copyOfRange(model, 12345, 12345 + 777), part);
            v.flush();
            key = v.currentKey().withKeyBytes(k -> k.toArray(ValueLayout.JAVA_BYTE));
        }
        assertEquals(size, Files.size(disk), "close keeps the file");
        assertEquals(64, key.length, "a 512-bit key: XTS-AES-256");
        assertFalse(Arrays.equals(key, 0, 32, key, 32, 64), "key1 differs from key2 (IEEE 1619-2018 5.1)");
        byte[] stored = Files.readAllBytes(disk);
        assertArrayEquals(model, TemporaryDiskForensics.decrypt(key, stored, sectorSize),
                "the file is aes-xts-plain64 from offset 0, IV in 512-byte units");
        // OpenSSL, sector by sector, as dm-crypt plain mode: first IV 0, IV step sectorSize / 512.
        Path keyFile = Files.write(dir.resolve("key.bin"), key);
        Path plainFile = Files.write(dir.resolve("plain.img"), model);
        VolumeFixture.Result openssl = VolumeFixture.run(dir, "python3", OPENSSL_CHECK.toString(), keyFile.toString(),
                Integer.toString(sectorSize), "0", Integer.toString(sectorSize / 512), plainFile.toString(),
                disk.toString());
        assertEquals(0, openssl.exit(), openssl.out() + openssl.err());
    }

    /** Writers of bytes interleaved in the same sectors: every read-modify-write keeps the others' bytes. */
    @Test
    void concurrentWritersOfOneSectorLoseNoUpdate() throws Exception {
        int threads = 8;
        int chunk = 100;
        int span = 64 << 10;
        byte[] model = new byte[span];
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.createTemporary(dir.resolve("temp.img"), 1 << 20, 512)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> writers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int me = t;
                    writers.add(pool.submit(() -> {
                        Random r = new Random(me);
                        for (int i = 0; i < 500; i++) {
                            // Chunk c belongs to thread c % threads: the threads share every sector.
                            int c = (r.nextInt(span / chunk / threads) * threads + me);
                            byte[] b = new byte[chunk];
                            r.nextBytes(b);
                            v.write((long) c * chunk, b, 0, chunk);
                            System.arraycopy(b, 0, model, c * chunk, chunk);
                        }
                        return null;
                    }));
                }
                for (Future<?> w : writers) {
                    w.get();
                }
            } finally {
                pool.shutdownNow();
            }
            byte[] back = new byte[span];
            v.read(0, back, 0, span);
            assertArrayEquals(model, back);
        }
    }

    @Test
    void fuaDiscardWriteZeroesFlushAndGrowWorkAsOnAnyVolume() throws Exception {
        Path disk = dir.resolve("temp.img");
        byte[] data = new byte[8192];
        new Random(3).nextBytes(data);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.createTemporary(disk, 1 << 20)) {
            assertEquals(VolumeSpec.DEFAULT_SECTOR_SIZE, v.sectorSize());
            v.write(4096, MemorySegment.ofArray(data), true); // FUA: synced before it returns
            byte[] stored = stored(disk, 4096, 8192);
            assertFalse(Arrays.equals(new byte[8192], stored), "the write reached the file");
            assertFalse(Arrays.equals(data, stored), "as ciphertext");

            v.discard(4096 + 100, 8192);
            byte[] back = new byte[12288];
            v.read(4096, back, 0, back.length);
            assertArrayEquals(Arrays.copyOf(data, 100), Arrays.copyOf(back, 100), "before the range: kept");
            assertArrayEquals(new byte[8192], Arrays.copyOfRange(back, 100, 8292), "the range reads zeros");
            assertArrayEquals(new byte[4096], stored(disk, 8192, 4096), "its whole sector is stored as zeros");
            assertFalse(Arrays.equals(new byte[4096], stored(disk, 4096, 4096)), "its partial sectors are rewritten");

            v.writeZeroes(16384, 4096, false);
            byte[] zeros = new byte[4096];
            v.read(16384, zeros, 0, zeros.length);
            assertArrayEquals(new byte[4096], zeros);
            assertFalse(Arrays.equals(new byte[4096], stored(disk, 16384, 4096)), "zeros encrypted like any data");
            v.flush();

            v.resize(2 << 20);
            assertEquals(2 << 20, v.size());
            assertEquals(2 << 20, Files.size(disk), "no header to update: only the file grows");
            byte[] grown = new byte[4096];
            v.read((2 << 20) - 4096, grown, 0, grown.length);
            assertArrayEquals(new byte[4096], grown);
            v.write((2 << 20) - 10, data, 0, 10);
            v.read((2 << 20) - 10, grown, 0, 10);
            assertArrayEquals(Arrays.copyOf(data, 10), Arrays.copyOf(grown, 10));
            assertEquals(disk + " is 2097152 bytes; shrinking to 1048576 would lose data and is not supported",
                    assertThrows(IllegalArgumentException.class, () -> v.resize(1 << 20)).getMessage());
            assertThrows(IllegalArgumentException.class, () -> v.resize((3 << 20) + 1));
            assertEquals("a write of 11 bytes at offset 2097142 lies outside " + disk + " (2097152 bytes)",
                    assertThrows(IllegalArgumentException.class, () -> v.write((2 << 20) - 10, new byte[11], 0, 11))
                            .getMessage());
        }
    }

    private static byte[] stored(Path disk, long offset, int length) throws Exception {
        ByteBuffer b = ByteBuffer.allocate(length);
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ)) {
            while (b.hasRemaining() && ch.read(b, offset + b.position()) >= 0) {
                // until full
            }
        }
        return b.array();
    }

    @Test
    void badInputIsAClearErrorAndLeavesNothingBehind() throws Exception {
        Path existing = Files.write(dir.resolve("existing.img"), new byte[] {1, 2, 3});
        Path disk = dir.resolve("temp.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            List<Path> before = listing();
            assertEquals(existing + " exists; refusing to overwrite it", assertThrows(IllegalArgumentException.class,
                    () -> f.volumes.createTemporary(existing, 1 << 20)).getMessage());
            assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(existing));
            assertEquals("a volume size must be a positive whole number of 4096-byte sectors (at most 2^60 bytes), not"
                    + " 0 bytes", assertThrows(IllegalArgumentException.class,
                            () -> f.volumes.createTemporary(disk, 0)).getMessage());
            assertEquals("a volume size must be a positive whole number of 4096-byte sectors (at most 2^60 bytes), not"
                    + " 1000 bytes", assertThrows(IllegalArgumentException.class,
                            () -> f.volumes.createTemporary(disk, 1000)).getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.volumes.createTemporary(disk, (1L << 60) + 4096));
            assertEquals("the sector size is 512, 1024, 2048 or 4096 bytes, not 8192", assertThrows(
                    IllegalArgumentException.class, () -> f.volumes.createTemporary(disk, 1 << 20, 8192)).getMessage());
            Path nowhere = dir.resolve("missing").resolve("temp.img");
            assertEquals("the directory of the volume " + nowhere + " does not exist", assertThrows(
                    IllegalArgumentException.class, () -> f.volumes.createTemporary(nowhere, 1 << 20)).getMessage());
            assertEquals(before, listing(), "a refused create leaves no file behind");
        }
    }

    private List<Path> listing() throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> !p.getFileName().toString().startsWith("vault")).sorted().toList();
        }
    }

    @Test
    void lockedWhileOpenClosedWithTheManagerAndNeverOpenedAgain() throws Exception {
        Path disk = dir.resolve("temp.img");
        XtsKey key;
        EncryptedVolume v;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            v = f.volumes.createTemporary(disk, 1 << 20);
            v.write(0, new byte[] {42}, 0, 1);
            key = v.currentKey();
            assertEquals(disk + " is already open in this process", assertThrows(VolumeInUseException.class,
                    () -> f.volumes.open(disk)).getMessage());
            assertThrows(VolumeInUseException.class, () -> f.volumes.open(disk, null, true));
            assertEquals(disk + " exists; refusing to overwrite it", assertThrows(IllegalArgumentException.class,
                    () -> f.volumes.createTemporary(disk, 1 << 20)).getMessage());
        } // closes the manager, and with it the temporary disk
        assertTrue(key.isClosed(), "the manager's close zeroed the key");
        assertEquals(disk + " is closed", assertThrows(IllegalStateException.class,
                () -> v.read(0, new byte[1], 0, 1)).getMessage());
        assertTrue(v.toString().endsWith(", temporary, closed]"), v.toString());
        v.close(); // idempotent
        assertEquals(1 << 20, Files.size(disk), "the file is kept: the caller deletes it");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            assertEquals(disk + " is not a LUKS2 disk: no LUKS header at its start", assertThrows(
                    Luks2FormatException.class, () -> f.volumes.open(disk)).getMessage());
            Files.delete(disk);
            try (EncryptedVolume again = f.volumes.createTemporary(disk, 1 << 20)) {
                byte[] b = new byte[1];
                again.read(0, b, 0, 1);
                assertEquals(0, b[0], "a new temporary disk at the same path starts empty");
            }
        }
    }

    @Test
    void theKeyManagerKnowsNothingOfATemporaryDiskAndItsKeyNeverStops() throws Exception {
        Path disk = dir.resolve("temp.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume normal = f.volumes.create(dir.resolve("normal.img"), VolumeSpec.of(1 << 20, "plat"));
             EncryptedVolume v = f.volumes.createTemporary(disk, 1 << 20, 512)) {
            assertFalse(normal.isTemporary());
            assertEquals(disk + " is a temporary disk: its key is in no encryption set",
                    assertThrows(IllegalStateException.class, v::setId).getMessage());
            VolumeInfo info = v.info();
            assertEquals(new VolumeInfo(disk.toString(), v.diskId(), "", false, 1 << 20, 512, 0, 0, 0,
                    "aes-xts-plain64", null, null, List.of(), List.of(), Map.of()), info);
            assertEquals("disk '" + v.diskId() + "' has no keys in the store", assertThrows(
                    IllegalArgumentException.class, () -> f.volumes.keys().attach(v.diskId())).getMessage());
            assertThrows(IllegalArgumentException.class, () -> f.volumes.keys().rewrapDisk(v.diskId()));
            assertTrue(v.toString().contains(", temporary"), v.toString());

            byte[] data = "still readable".getBytes(java.nio.charset.StandardCharsets.US_ASCII);
            v.write(1000, data, 0, data.length);
            // Revoke the platform key: the normal volume stops, the temporary disk does not care.
            f.vault.setEnabled("platform", 1, false);
            f.clock.advance(KeyManager.DEFAULT_CACHE_TTL.plusSeconds(1));
            f.volumes.keys().maintain();
            assertThrows(KeyUnavailableException.class, () -> normal.read(0, new byte[1], 0, 1));
            byte[] back = new byte[data.length];
            v.read(1000, back, 0, back.length);
            assertArrayEquals(data, back);
            assertEquals(info, v.info(), "nothing about it changed");
        }
    }

    /**
     * Close zeroes the key in place (the off-heap bytes the volume encrypted with), leaves no
     * copy on the heap (a heap dump of live objects holds no 8 bytes of it), and no form of it
     * is in a log record, message or toString.
     */
    @Test
    void closeZeroesTheKeyAndNoCopyIsOnTheHeapOrInAnyMessage() throws Exception {
        LogCapture logs = LogCapture.start();
        List<String> seen = logs.seen();
        Path disk = dir.resolve("temp.img");
        byte[] decoy = new byte[64]; // a heap copy the dump must find: shows the search works
        new Random(5).nextBytes(decoy);
        try (Arena arena = Arena.ofConfined(); VolumeFixture f = new VolumeFixture(dir)) {
            MemorySegment saved = arena.allocate(64); // the test's own copy, off-heap: not in the dump
            MemorySegment inVolume;
            XtsKey key;
            try (EncryptedVolume v = f.volumes.createTemporary(disk, 4 << 20)) {
                v.write(100, TemporaryDiskForensics.pattern(3 << 20), 0, 3 << 20); // through the queue, too
                key = v.currentKey();
                inVolume = key.withKeyBytes(k -> k); // kept past the loan only to see it zeroed
                saved.copyFrom(inVolume);
                seen.add(v.toString());
                seen.add(v.info().toString());
                seen.add(key.toString());
                seen.add(assertThrows(IllegalStateException.class, v::setId).getMessage());
                seen.add(assertThrows(IllegalArgumentException.class, () -> v.read(4 << 20, new byte[1], 0, 1))
                        .getMessage());
                v.close();
                seen.add(v.toString());
                seen.add(assertThrows(IllegalStateException.class, () -> v.read(0, new byte[1], 0, 1)).getMessage());
            }
            assertTrue(key.isClosed());
            assertArrayEquals(new byte[64], inVolume.toArray(ValueLayout.JAVA_BYTE), "the key's bytes were zeroed");
            assertThrows(KeyClosedException.class, () -> key.withKeyBytes(k -> k));

            Path dump = dir.resolve("heap.hprof");
            ManagementFactory.getPlatformMXBean(HotSpotDiagnosticMXBean.class).dumpHeap(dump.toString(), true);
            try (FileChannel ch = FileChannel.open(dump, StandardOpenOption.READ)) {
                MemorySegment heap = ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
                assertTrue(contains(heap, MemorySegment.ofArray(decoy)), "the heap search misses a live array");
                assertFalse(contains(heap, saved), "a copy of the closed temporary disk's key is on the heap");
            }
            Files.delete(dump);

            List<String> forms = VolumeSecretsTest.forms(saved.toArray(ValueLayout.JAVA_BYTE));
            String all = String.join("\n", seen);
            assertTrue(all.contains("temporary"), "the messages name the disk (sanity): " + all);
            for (String secret : forms) {
                assertFalse(all.contains(secret), "a form of the key appears in: " + all);
            }
        } finally {
            logs.close();
        }
        java.lang.ref.Reference.reachabilityFence(decoy); // live until after the dump
    }

    /** Whether any of the 8 aligned 8-byte pieces of {@code key} occurs anywhere in {@code heap}. */
    private static boolean contains(MemorySegment heap, MemorySegment key) {
        long[] pieces = new long[(int) key.byteSize() / 8];
        for (int i = 0; i < pieces.length; i++) {
            pieces[i] = key.get(ValueLayout.JAVA_LONG_UNALIGNED, 8L * i);
        }
        for (long at = 0; at + 8 <= heap.byteSize(); at++) {
            long word = heap.get(ValueLayout.JAVA_LONG_UNALIGNED, at);
            for (long p : pieces) {
                if (word == p) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The test: a temporary disk's file read after close, with every key the system
     * still holds, yields nothing but noise. Two normal volumes hold the same plaintext and
     * stay open, their DEKs cached by the key manager; decrypting them with those DEKs finds
     * the plaintext (the control), decrypting the temporary disk with them finds noise.
     */
    @ParameterizedTest
    @ValueSource(ints = {512, 4096})
    void aTemporaryDiskReadAfterCloseIsNoiseUnderEveryKeyTheSystemHolds(int sectorSize) throws Exception {
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");
        Path disk = dir.resolve("temp.img");
        int size = 4 << 20;
        byte[] pattern = TemporaryDiskForensics.pattern(size);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume va = f.volumes.create(a, VolumeSpec.of(1 << 20, "plat"));
             EncryptedVolume vb = f.volumes.create(b, VolumeSpec.of(1 << 20, "cust"))) {
            va.write(0, pattern, 0, 1 << 20);
            vb.write(0, pattern, 0, 1 << 20);
            va.flush();
            vb.flush();
            try (EncryptedVolume v = f.volumes.createTemporary(disk, size, sectorSize)) {
                v.write(0, pattern, 0, size);
                v.write(333, pattern, 333, 100_000); // and unaligned, read-modify-write
                v.flush();
            }
            List<byte[]> keys = TemporaryDiskForensics.keysHeld(f, a, b);
            TemporaryDiskForensics.assertDecryptsToPlaintext(a, keys.get(0), 1 << 20);
            TemporaryDiskForensics.assertDecryptsToPlaintext(b, keys.get(2), 1 << 20);
            TemporaryDiskForensics.assertOnlyNoise(disk, size, sectorSize, keys);
        }
    }
}
