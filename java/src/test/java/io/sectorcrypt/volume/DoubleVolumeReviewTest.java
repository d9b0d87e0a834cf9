package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.keys.AttachedDisk;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.volume.luks2.KdfParameters;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.StandardOpenOption;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Review of DOUBLE volumes: attempts to break the data path, headers and snapshots. */
class DoubleVolumeReviewTest {
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

    /** HCTR2(outer, XTS(inner, plain)) of the whole image, the test's own oracle. */
    private static byte[] expected(AttachedDisk keys, byte[] plain, int sectorSize) {
        byte[] out = plain.clone();
        SectorCipher.of(keys.key()).encrypt(ByteBuffer.wrap(plain), ByteBuffer.wrap(out), 0, sectorSize);
        Hctr2.of(keys.outerKey()).encryptSectors(out, 0, out, 0, out.length, 0, sectorSize);
        return out;
    }

    /**
     * Large unaligned writes from several threads (through the sector queue), writeZeroes,
     * discard, resize, then a read-only reopen: every stored sector is both layers, or (only
     * where discarded) zero bytes.
     */
    @ParameterizedTest
    @ValueSource(ints = {512, 4096})
    void concurrentLargeIoZeroesDiscardAndResizeKeepBothLayers(int sectorSize) throws Exception {
        Path disk = dir.resolve("disk.img");
        int size = 8 << 20;
        int grown = 10 << 20;
        byte[] image = new byte[grown];
        boolean[] discarded = new boolean[grown / sectorSize];
        boolean[] written = new boolean[grown / sectorSize];
        java.util.function.BiConsumer<Long, Long> mark = (o, n) -> {
            for (long s = o / sectorSize; s <= (o + n - 1) / sectorSize; s++) {
                written[(int) s] = true;
                discarded[(int) s] = false;
            }
        };
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "dbl").withSectorSize(sectorSize))) {
                ExecutorService pool = Executors.newFixedThreadPool(4);
                try {
                    List<Future<?>> done = new ArrayList<>();
                    for (int t = 0; t < 4; t++) {
                        int region = t * (2 << 20);
                        int off = region + 123 * (t + 1);
                        byte[] chunk = random((1 << 20) + 777 * t, 100 + t);
                        System.arraycopy(chunk, 0, image, off, chunk.length);
                        mark.accept((long) off, (long) chunk.length);
                        done.add(pool.submit(() -> {
                            v.write(off, chunk, 0, chunk.length);
                            return null;
                        }));
                    }
                    for (Future<?> d : done) {
                        d.get();
                    }
                } finally {
                    pool.shutdown();
                }
                v.writeZeroes(1000, 300_000, false);
                Arrays.fill(image, 1000, 301_000, (byte) 0);
                mark.accept(1000L, 300_000L);
                long dStart = 2 * (1 << 20) + 5;
                long dLen = 700_000;
                v.discard(dStart, dLen);
                Arrays.fill(image, (int) dStart, (int) (dStart + dLen), (byte) 0);
                for (long s = (dStart + sectorSize - 1) / sectorSize; s < (dStart + dLen) / sectorSize; s++) {
                    discarded[(int) s] = true;
                }
                v.resize(grown);
                byte[] tail = random(1 << 20, 7);
                v.write(size - 5000, tail, 0, tail.length);
                System.arraycopy(tail, 0, image, size - 5000, tail.length);
                mark.accept(size - 5000L, (long) tail.length);
                v.flush();
                byte[] back = new byte[grown];
                v.read(0, back, 0, grown);
                assertArrayEquals(image, back);
                AttachedDisk keys = f.volumes.keys().attach(v.diskId());
                byte[] want = expected(keys, image, sectorSize);
                for (int s = 0; s < discarded.length; s++) {
                    if (discarded[s] || !written[s]) {
                        Arrays.fill(want, s * sectorSize, (s + 1) * sectorSize, (byte) 0);
                    }
                }
                byte[] area = dataArea(disk, v.dataOffset(), grown);
                for (int s = 0; s < discarded.length; s++) {
                    assertArrayEquals(Arrays.copyOfRange(want, s * sectorSize, (s + 1) * sectorSize),
                            Arrays.copyOfRange(area, s * sectorSize, (s + 1) * sectorSize), "sector " + s);
                }
            }
            try (EncryptedVolume v = f.volumes.open(disk, null, true)) {
                assertEquals(grown, v.size());
                byte[] back = new byte[grown];
                v.read(0, back, 0, grown);
                assertArrayEquals(image, back);
            }
        }
    }

    /**
     * The disk's keys are detached (zeroed) over and over while large writes go on: every
     * write either completes with both layers or fails, never leaving a sector with one layer.
     */
    @Test
    void detachingTheKeysDuringIoNeverStoresOneLayerOnly() throws Exception {
        Path disk = dir.resolve("disk.img");
        int size = 4 << 20;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "dbl").withSectorSize(4096))) {
                byte[] pattern = random(size, 3);
                AtomicBoolean stop = new AtomicBoolean();
                Thread detacher = new Thread(() -> {
                    while (!stop.get()) {
                        f.volumes.keys().detach(v.diskId());
                        Thread.onSpinWait();
                    }
                });
                detacher.start();
                int failures = 0;
                try {
                    for (int i = 0; i < 40; i++) {
                        try {
                            v.write(0, pattern, 0, size);
                        } catch (RuntimeException e) {
                            failures++;
                        }
                    }
                } finally {
                    stop.set(true);
                    detacher.join();
                }
                AttachedDisk keys = f.volumes.keys().attach(v.diskId());
                byte[] want = expected(keys, pattern, 4096);
                v.flush();
                byte[] area = dataArea(disk, v.dataOffset(), size);
                for (int s = 0; s < size / 4096; s++) {
                    byte[] got = Arrays.copyOfRange(area, s * 4096, (s + 1) * 4096);
                    boolean never = true;
                    for (byte b : got) {
                        never &= b == 0;
                    }
                    assertTrue(never || Arrays.equals(Arrays.copyOfRange(want, s * 4096, (s + 1) * 4096), got),
                            "sector " + s + " holds both layers (or was never written); " + failures + " writes failed");
                }
            }
        }
    }

    /** Detached header, full + incremental snapshots, restore of the chain. */
    @Test
    void detachedHeaderAndAnIncrementalChainRestore() throws Exception {
        Path disk = dir.resolve("disk.img");
        Path hdr = dir.resolve("disk.hdr");
        Path full = dir.resolve("full.snap");
        Path inc = dir.resolve("inc.snap");
        Path restored = dir.resolve("restored.img");
        int size = 4 << 20;
        byte[] image = random(size, 11);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "dbl").withDetachedHeader(hdr))) {
                v.write(0, image, 0, size);
                v.snapshot(full, SnapshotKind.FULL, Progress.NONE);
                byte[] patch = random(300_000, 12);
                v.write(1_000_001, patch, 0, patch.length);
                System.arraycopy(patch, 0, image, 1_000_001, patch.length);
                v.snapshot(inc, SnapshotKind.INCREMENTAL, Progress.NONE);
                v.write(0, new byte[8192], 0, 8192);
            }
            try (EncryptedVolume v = f.volumes.open(disk, hdr, true)) {
                assertEquals("capi:hctr2(aes)-plain64", v.info().outerCipher());
            }
            try (EncryptedVolume r = f.volumes.restore(List.of(full, inc), restored, Progress.NONE)) {
                byte[] back = new byte[size];
                r.read(0, back, 0, size);
                assertArrayEquals(image, back);
                assertEquals("capi:hctr2(aes)-plain64", r.info().outerCipher());
            }
        }
    }

    private static void editHeader(Path disk, java.util.function.UnaryOperator<Luks2Metadata> edit) throws IOException {
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Luks2Header h = Luks2Header.read(ch, disk.toString(), CryptoPolicy.configured());
            h.update(edit.apply(h.metadata()));
        }
    }

    /**
     * A DOUBLE disk whose envelope token was lost (hand-edited, or restored from an old header
     * backup) still has its outer-layer token and requirement, and its data still has the
     * outer layer. adopt() only checks that there is no envelope: it unlocks the recovery
     * keyslot (the inner key), imports it into a single-layer set and writes a one-layer
     * envelope into the header, and only then does open() refuse the half-DOUBLE header. The
     * header was changed by an operation that failed, and the disk can no longer even be
     * adopted again ("already has a SectorCrypt envelope token"). adopt should refuse up front.
     */
    @Test
    void adoptingADoubleDiskThatLostItsEnvelopeIsRefusedBeforeTheHeaderIsWritten() throws Exception {
        Path disk = dir.resolve("disk.img");
        char[] passphrase = "a recovery passphrase for the inner layer".toCharArray();
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.volumes.create(disk, VolumeSpec.of(1 << 20, "dbl"), passphrase.clone(),
                    KdfParameters.minimal(CryptoPolicy.configured())).close();
            editHeader(disk, m -> m.withoutToken(Luks2Metadata.ENVELOPE_TOKEN_TYPE));
            byte[] before = dataArea(disk, 0, 64 * 1024);
            RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(RuntimeException.class,
                    () -> f.volumes.adopt(disk, null, "plat", passphrase.clone()).close());
            assertArrayEquals(before, dataArea(disk, 0, 64 * 1024),
                    "a refused adopt leaves the header as it was (it threw " + e + ")");
        }
    }

    /** Closing a DOUBLE volume zeroes both of its cached keys, the outer HCTR2 key included. */
    @Test
    void closingAVolumeClosesItsOuterKey() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            io.sectorcrypt.hctr2.Hctr2Key outer;
            io.sectorcrypt.xts.XtsKey inner;
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "dbl"))) {
                v.write(0, new byte[4096], 0, 4096);
                AttachedDisk keys = f.volumes.keys().attach(v.diskId());
                outer = keys.outerKey();
                inner = keys.key();
            }
            assertTrue(outer.isClosed(), "the outer key was zeroed");
            assertTrue(inner.isClosed(), "the inner key was zeroed");
            assertTrue(!outer.toString().matches(".*[0-9a-f]{32}.*"), outer.toString());
        }
    }
}
