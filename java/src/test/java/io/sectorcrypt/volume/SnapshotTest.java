package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.keys.WrapAlgorithm;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.crypto.CryptoPolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Snapshots: full and incremental, consistent under writers, chains restored exactly, keys kept. */
class SnapshotTest {
    static final int CHUNK = SnapshotInfo.CHUNK_BYTES;

    @TempDir
    Path dir;

    @Test
    void aFullSnapshotIsThePointInTimeDiskOpensReadOnlyAndRestores() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] image = new byte[3 << 20];
        new Random(1).nextBytes(image);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(image.length, "plat"))) {
            v.write(0, image, 0, image.length);
            SnapshotInfo s = v.snapshot(dir.resolve("full.snap"), SnapshotKind.FULL, Progress.NONE);
            assertEquals(SnapshotKind.FULL, s.kind());
            assertNull(s.parent());
            assertEquals(v.diskId(), s.volumeId());
            assertEquals(image.length / CHUNK, s.storedChunks());
            v.write(5000, new byte[300_000], 0, 300_000); // after the snapshot: not in it
            try (EncryptedVolume snap = f.volumes.open(dir.resolve("full.snap"), null, true)) {
                assertArrayEquals(image, readAll(snap));
            }
            IllegalArgumentException rw = assertThrows(IllegalArgumentException.class,
                    () -> f.volumes.open(dir.resolve("full.snap")));
            assertTrue(rw.getMessage().contains("read-only"), rw.getMessage());
            try (EncryptedVolume r = f.volumes.restore(List.of(dir.resolve("full.snap")), dir.resolve("r.img"),
                    Progress.NONE)) {
                assertArrayEquals(image, readAll(r));
                assertFalse(r.diskId().equals(v.diskId()), "a restored disk is a disk of its own");
                r.write(0, new byte[] {1, 2, 3}, 0, 3); // and writable
            }
            assertEquals(List.of(s), VolumeManager.snapshots(disk, null));
            assertEquals(s, VolumeManager.inspectSnapshot(dir.resolve("full.snap")));
        }
    }

    /** Five rounds of writes (unaligned, spanning chunks, discards, a grow), each followed by an incremental. */
    @ParameterizedTest
    @ValueSource(ints = {512, 4096})
    void aChainOfFiveIncrementalsRestoresToExactlyTheDiskAtEachPoint(int sectorSize) throws Exception {
        Path disk = dir.resolve("disk.img");
        int size = 4 << 20;
        Random rnd = new Random(sectorSize);
        List<byte[]> points = new ArrayList<>();
        List<Path> chain = new ArrayList<>();
        List<SnapshotInfo> taken = new ArrayList<>();
        try (VolumeFixture f = new VolumeFixture(dir)) {
            byte[] model = new byte[size];
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "cust").withSectorSize(sectorSize))) {
                rnd.nextBytes(model);
                v.write(0, model, 0, model.length);
                chain.add(dir.resolve("s0"));
                taken.add(v.snapshot(chain.get(0), SnapshotKind.FULL, Progress.NONE));
                points.add(model.clone());
            }
            for (int round = 1; round <= 5; round++) {
                // Reopened every round: the changed-block map persists across close and open.
                try (EncryptedVolume v = f.volumes.open(disk)) {
                    if (round == 3) {
                        v.resize(size + (1 << 20));
                        model = java.util.Arrays.copyOf(model, size + (1 << 20));
                    }
                    java.util.Set<Long> touched = new java.util.TreeSet<>();
                    for (int w = 0; w < 6; w++) {
                        int len = 1 + rnd.nextInt(150_000);
                        int off = rnd.nextInt(model.length - len);
                        byte[] d = new byte[len];
                        rnd.nextBytes(d);
                        v.write(off, d, 0, len);
                        System.arraycopy(d, 0, model, off, len);
                        for (long c = off / CHUNK; c <= (off + len - 1) / CHUNK; c++) {
                            touched.add(c);
                        }
                    }
                    if (round == 4) {
                        v.discard(CHUNK, 2L * CHUNK);
                        java.util.Arrays.fill(model, CHUNK, 3 * CHUNK, (byte) 0);
                        touched.add(1L);
                        touched.add(2L);
                    }
                    Path p = dir.resolve("s" + round);
                    SnapshotInfo s = v.snapshot(p, SnapshotKind.INCREMENTAL, Progress.NONE);
                    assertEquals(taken.get(round - 1).id(), s.parent());
                    assertEquals(touched.size(), s.storedChunks(), "an incremental holds exactly the chunks written");
                    assertTrue(Files.size(p) <= VolumeManager.DATA_OFFSET + (s.storedChunks() + 1) * CHUNK,
                            "its file is the size of what changed: " + Files.size(p));
                    chain.add(p);
                    taken.add(s);
                    points.add(model.clone());
                }
            }
            assertEquals(taken, VolumeManager.snapshots(disk, null));
            for (int k = 0; k < chain.size(); k++) {
                Path r = dir.resolve("restored-" + k + ".img");
                try (EncryptedVolume v = f.volumes.restore(chain.subList(0, k + 1), r, Progress.NONE)) {
                    assertArrayEquals(points.get(k), readAll(v), "the disk at snapshot " + k);
                }
            }
            IllegalArgumentException gap = assertThrows(IllegalArgumentException.class, () -> f.volumes.restore(
                    List.of(chain.get(0), chain.get(2)), dir.resolve("x.img"), Progress.NONE));
            assertTrue(gap.getMessage().contains("missing or out of order"), gap.getMessage());
            IllegalArgumentException noBase = assertThrows(IllegalArgumentException.class, () -> f.volumes.restore(
                    List.of(chain.get(1)), dir.resolve("x.img"), Progress.NONE));
            assertTrue(noBase.getMessage().contains("starts with a full snapshot"), noBase.getMessage());
            IllegalArgumentException incr = assertThrows(IllegalArgumentException.class,
                    () -> f.volumes.open(chain.get(1), null, true));
            assertTrue(incr.getMessage().contains("incremental snapshot"), incr.getMessage());
            assertFalse(Files.exists(dir.resolve("x.img")));
        }
    }

    /**
     * Writers each rewrite their own region (spanning chunks, unaligned) with a growing
     * number while snapshots are taken: every region in a snapshot holds one write wholly,
     * and no write is missing that had finished before a write the snapshot holds began.
     */
    @Test
    void aSnapshotTakenWhileWritersRunIsAConsistentPointInTime() throws Exception {
        Path disk = dir.resolve("disk.img");
        int writers = 4;
        int region = 3 * CHUNK + 1000;
        int size = 16 << 20;
        int snapshots = 6;
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "plat"))) {
            v.snapshot(dir.resolve("base"), SnapshotKind.FULL, Progress.NONE);
            int maxWrites = 100_000;
            long[][] start = new long[writers][maxWrites];
            long[][] end = new long[writers][maxWrites];
            AtomicBoolean stop = new AtomicBoolean();
            CountDownLatch started = new CountDownLatch(writers);
            List<Thread> threads = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                int id = w;
                threads.add(Thread.ofPlatform().start(() -> {
                    long off = 777 + (long) id * (region + 5 * CHUNK);
                    started.countDown();
                    for (int seq = 1; seq < maxWrites && !stop.get(); seq++) {
                        start[id][seq] = System.nanoTime();
                        v.write(off, stamp(region, id, seq), 0, region);
                        end[id][seq] = System.nanoTime();
                    }
                }));
            }
            started.await();
            List<Path> chain = new ArrayList<>(List.of(dir.resolve("base")));
            for (int s = 0; s < snapshots; s++) {
                Thread.sleep(20);
                Path p = dir.resolve("c" + s);
                v.snapshot(p, s % 3 == 2 ? SnapshotKind.FULL : SnapshotKind.INCREMENTAL, Progress.NONE);
                if (s % 3 == 2) {
                    chain = new ArrayList<>();
                }
                chain.add(p);
                try (EncryptedVolume r = f.volumes.restore(chain, dir.resolve("r" + s), Progress.NONE)) {
                    long maxIncludedStart = Long.MIN_VALUE;
                    long minExcludedEnd = Long.MAX_VALUE;
                    for (int w = 0; w < writers; w++) {
                        byte[] got = new byte[region];
                        r.read(777 + (long) w * (region + 5 * CHUNK), got, 0, region);
                        int seq = ByteBuffer.wrap(got).getInt(4);
                        if (!java.util.Arrays.equals(got, seq == 0 ? new byte[region] : stamp(region, w, seq))) {
                            fail("snapshot " + s + ": writer " + w + "'s region holds a torn write (starts as " + seq
                                    + ")");
                        }
                        if (seq > 0) {
                            maxIncludedStart = Math.max(maxIncludedStart, start[w][seq]);
                        }
                        if (end[w][seq + 1] != 0) {
                            minExcludedEnd = Math.min(minExcludedEnd, end[w][seq + 1]);
                        }
                    }
                    assertTrue(minExcludedEnd >= maxIncludedStart, "snapshot " + s + " holds a write that began after"
                            + " another, missing from it, had finished");
                }
            }
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
        }
    }

    private static byte[] stamp(int length, int writer, int seq) {
        ByteBuffer b = ByteBuffer.allocate(length);
        while (b.remaining() >= 8) {
            b.putInt(writer).putInt(seq);
        }
        return b.array();
    }

    @Test
    void badRequestsAreRefusedClearlyAndLeaveNothingBehind() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
            IllegalStateException first = assertThrows(IllegalStateException.class,
                    () -> v.snapshot(dir.resolve("i"), SnapshotKind.INCREMENTAL, Progress.NONE));
            assertTrue(first.getMessage().contains("take a full snapshot first"), first.getMessage());
            Files.writeString(dir.resolve("taken"), "x");
            IllegalArgumentException exists = assertThrows(IllegalArgumentException.class,
                    () -> v.snapshot(dir.resolve("taken"), SnapshotKind.FULL, Progress.NONE));
            assertTrue(exists.getMessage().contains("exists"), exists.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> v.snapshot(dir.resolve("no/such/dir"), SnapshotKind.FULL, Progress.NONE));
            v.snapshot(dir.resolve("s"), SnapshotKind.FULL, Progress.NONE);
            IllegalArgumentException notSnap = assertThrows(IllegalArgumentException.class,
                    () -> VolumeManager.inspectSnapshot(disk));
            assertTrue(notSnap.getMessage().contains("not a snapshot"), notSnap.getMessage());
            assertEquals(List.of("disk.img", "disk.img.changes", "disk.img.snapshots", "s", "taken", "vault",
                    "vault.key"), listing());
        }
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume ro = f.volumes.open(disk, null, true);
             EncryptedVolume temp = f.volumes.createTemporary(dir.resolve("temp.img"), 1 << 20)) {
            assertThrows(IllegalStateException.class,
                    () -> ro.snapshot(dir.resolve("t"), SnapshotKind.FULL, Progress.NONE));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> temp.snapshot(dir.resolve("t"), SnapshotKind.FULL, Progress.NONE));
            assertTrue(e.getMessage().contains("temporary disk"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("t")));
        }
    }

    @Test
    void aDamagedChunkMapOrSnapshotIsRefusedByName() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
            v.snapshot(dir.resolve("s0"), SnapshotKind.FULL, Progress.NONE);
            v.write(0, new byte[10], 0, 10);
            SnapshotToken t;
            v.snapshot(dir.resolve("s1"), SnapshotKind.INCREMENTAL, Progress.NONE);
            try (FileChannel ch = FileChannel.open(dir.resolve("s1"), StandardOpenOption.READ)) {
                t = SnapshotToken.read(Luks2Header.read(ch, "s1", CryptoPolicy.DEFAULT).metadata(), "s1").orElseThrow();
            }
            try (FileChannel ch = FileChannel.open(dir.resolve("s1"), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(new byte[] {2}), t.mapOffset());
            }
            Luks2FormatException e = assertThrows(Luks2FormatException.class, () -> f.volumes.restore(
                    List.of(dir.resolve("s0"), dir.resolve("s1")), dir.resolve("r"), Progress.NONE));
            assertTrue(e.getMessage().contains("s1") && e.getMessage().contains("chunk map"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("r")));
        }
    }

    @Test
    void theChangedBlockMapSurvivesCloseAndIsDistrustedAfterAReboot() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(4 << 20, "plat"))) {
                v.snapshot(dir.resolve("s0"), SnapshotKind.FULL, Progress.NONE);
                v.write(5 * CHUNK + 10, new byte[] {1}, 0, 1);
            }
            try (EncryptedVolume v = f.volumes.open(disk)) {
                assertEquals(1, v.snapshot(dir.resolve("s1"), SnapshotKind.INCREMENTAL, Progress.NONE)
                        .storedChunks(), "the bit written before close is kept");
                v.write(9 * CHUNK, new byte[] {1}, 0, 1);
                // The host dies with the volume open: the map says "open" under another boot.
                Path map = dir.resolve("disk.img.changes");
                ByteBuffer h = ByteBuffer.wrap(Files.readAllBytes(map)).order(ByteOrder.LITTLE_ENDIAN);
                assertEquals(1, h.getInt(12), "the map of an open volume says so");
                h.put(112, "another-boot".getBytes(StandardCharsets.US_ASCII));
                CRC32C crc = new CRC32C();
                crc.update(h.array(), 0, 4092);
                h.putInt(4092, (int) crc.getValue());
                byte[] crashed = h.array();
                v.close();
                Files.write(map, crashed);
            }
            try (EncryptedVolume v = f.volumes.open(disk)) {
                assertEquals(64, v.snapshot(dir.resolve("s2"), SnapshotKind.INCREMENTAL, Progress.NONE)
                        .storedChunks(), "after a reboot every chunk counts as changed");
            }
            Files.write(dir.resolve("disk.img.changes"), new byte[] {1, 2, 3}); // damaged: set aside
            try (EncryptedVolume v = f.volumes.open(disk)) {
                IllegalStateException lost = assertThrows(IllegalStateException.class,
                        () -> v.snapshot(dir.resolve("s3"), SnapshotKind.INCREMENTAL, Progress.NONE));
                assertTrue(lost.getMessage().contains("disk.img.changes"), lost.getMessage());
                v.snapshot(dir.resolve("s3"), SnapshotKind.FULL, Progress.NONE);
                v.snapshot(dir.resolve("s4"), SnapshotKind.INCREMENTAL, Progress.NONE);
            }
        }
    }

    /** The seed's rule: a snapshot of a customer-key disk stays under that key, and is useless without it. */
    @Test
    void aSnapshotKeepsTheCustomerKeyAndCannotBeReadWithoutIt() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] secret = "the plaintext nobody may read without the customer's key. ".repeat(2000)
                .getBytes(StandardCharsets.US_ASCII);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "cust"))) {
                v.write(0, secret, 0, secret.length);
                v.snapshot(dir.resolve("s0"), SnapshotKind.FULL, Progress.NONE);
                v.write(0, new byte[1], 0, 1);
                v.snapshot(dir.resolve("s1"), SnapshotKind.INCREMENTAL, Progress.NONE);
            }
            for (String s : List.of("s0", "s1")) {
                try (FileChannel ch = FileChannel.open(dir.resolve(s), StandardOpenOption.READ)) {
                    DiskKeys keys = Luks2Header.read(ch, s, CryptoPolicy.DEFAULT).metadata().envelope().orElseThrow();
                    assertEquals("cust", keys.setId());
                    assertEquals(WrapAlgorithm.RSA_OAEP_256, keys.layers().get(0).current().algorithm());
                    assertEquals("customer", keys.layers().get(0).current().keyName());
                }
                byte[] file = Files.readAllBytes(dir.resolve(s));
                assertFalse(new String(file, StandardCharsets.ISO_8859_1).contains("nobody may read"),
                        "no plaintext in " + s);
            }
            f.vault.revoke("customer", VolumeFixture.IDENTITY);
            f.clock.advance(KeyManager.DEFAULT_CACHE_TTL.plusSeconds(1));
            KeyUnavailableException e = assertThrows(KeyUnavailableException.class, () -> f.volumes.restore(
                    List.of(dir.resolve("s0"), dir.resolve("s1")), dir.resolve("r.img"), Progress.NONE));
            assertTrue(e.getMessage().contains("cannot restore " + dir.resolve("r.img") + " from "
                    + dir.resolve("s1")) && e.getMessage().contains("/customer/1"), e.getMessage());
            assertFalse(Files.exists(dir.resolve("r.img")), "a refused restore leaves nothing");
            assertThrows(KeyUnavailableException.class, () -> f.volumes.open(dir.resolve("s0"), null, true));
        }
    }

    /** The seed's rule: the customer key cannot be removed from a disk with incremental snapshots. */
    @Test
    void theCustomerKeyCannotBeRemovedFromADiskWithIncrementalSnapshots() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] data = new byte[200_000];
        new Random(9).nextBytes(data);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.vault.createKey("customer2", io.sectorcrypt.keys.KeyType.RSA_3072, null);
            f.vault.grant("customer2", VolumeFixture.IDENTITY, io.sectorcrypt.keys.Permission.all());
            f.volumes.keys().putSet(io.sectorcrypt.keys.DiskEncryptionSet.customer("cust2", VolumeFixture.VAULT_ID,
                    "customer2", VolumeFixture.IDENTITY));
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "cust"))) {
                v.write(1000, data, 0, data.length);
                v.snapshot(dir.resolve("s0"), SnapshotKind.FULL, Progress.NONE);
                v.write(0, new byte[1], 0, 1);
                v.snapshot(dir.resolve("s1"), SnapshotKind.INCREMENTAL, Progress.NONE);
                IllegalStateException e = assertThrows(IllegalStateException.class,
                        () -> v.changeEncryptionSet("plat"));
                assertTrue(e.getMessage().contains("customer key cannot be removed") && e.getMessage().contains("s1"),
                        e.getMessage());
                assertEquals("cust", v.setId());
                v.changeEncryptionSet("cust2"); // another customer key: allowed
                assertEquals("cust2", v.setId());
                Files.move(dir.resolve("s1"), dir.resolve("s1.backup")); // moved away: it still counts
                assertThrows(IllegalStateException.class, () -> v.changeEncryptionSet("plat"));
                String s1 = VolumeManager.snapshots(disk, null).get(1).id();
                IllegalStateException exists = assertThrows(IllegalStateException.class,
                        () -> v.forgetSnapshot(VolumeManager.snapshots(disk, null).get(0).id()));
                assertTrue(exists.getMessage().contains("delete it first"), exists.getMessage());
                Files.delete(dir.resolve("s1.backup"));
                assertTrue(v.forgetSnapshot(s1));
                assertFalse(v.forgetSnapshot(s1));
                assertEquals(1, VolumeManager.snapshots(disk, null).size());
                v.changeEncryptionSet("plat"); // no incremental snapshot left: allowed
                assertEquals("plat", v.setId());
                byte[] back = new byte[data.length];
                v.read(1000, back, 0, back.length);
                assertArrayEquals(data, back, "no data changed");
                v.changeEncryptionSet("cust"); // a customer key may always be added
            }
            try (EncryptedVolume v = f.volumes.open(disk)) {
                assertEquals("cust", v.setId());
                byte[] back = new byte[data.length];
                v.read(1000, back, 0, back.length);
                assertArrayEquals(data, back);
                assertThrows(IllegalArgumentException.class, () -> v.changeEncryptionSet("nope"));
            }
        }
    }

    /** Moving between sets under load: no read or write fails, nothing is lost (the review's finding 9). */
    @Test
    void movingBetweenSetsWhileWritersRunFailsNoIo() throws Exception {
        Path disk = dir.resolve("disk.img");
        int writers = 4;
        int region = 2 * CHUNK + 777;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.volumes.keys().putSet(io.sectorcrypt.keys.DiskEncryptionSet.platform("plat2", VolumeFixture.VAULT_ID,
                    "platform", VolumeFixture.IDENTITY));
            byte[][] model = new byte[writers][region];
            List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(16L << 20, "plat"))) {
                AtomicBoolean stop = new AtomicBoolean();
                List<Thread> threads = new ArrayList<>();
                for (int w = 0; w < writers; w++) {
                    int id = w;
                    threads.add(Thread.ofPlatform().start(() -> {
                        Random r = new Random(id);
                        long off = 100 + (long) id * (region + 5000);
                        while (!stop.get()) {
                            byte[] d = new byte[region];
                            r.nextBytes(d);
                            try {
                                v.write(off, d, 0, d.length);
                                model[id] = d;
                                byte[] back = new byte[region];
                                v.read(off, back, 0, region);
                                if (!java.util.Arrays.equals(back, d)) {
                                    failures.add(new AssertionError("writer " + id + " read back other bytes"));
                                }
                            } catch (RuntimeException e) {
                                failures.add(e);
                            }
                        }
                    }));
                }
                for (int i = 0; i < 30; i++) {
                    v.changeEncryptionSet(i % 2 == 0 ? "plat2" : "plat");
                    Thread.sleep(5);
                }
                stop.set(true);
                for (Thread t : threads) {
                    t.join();
                }
            }
            assertEquals(List.of(), failures.stream().limit(3).map(Throwable::toString).toList());
            try (EncryptedVolume v = f.volumes.open(disk)) {
                for (int w = 0; w < writers; w++) {
                    byte[] back = new byte[region];
                    v.read(100 + (long) w * (region + 5000), back, 0, region);
                    assertArrayEquals(model[w], back, "region " + w);
                }
            }
        }
    }

    @Test
    void cryptsetupParsesEverySnapshotAndOpensAFullOneWithTheRecoveryPassphrase() throws Exception {
        VolumeFixture.cryptsetup();
        Path disk = dir.resolve("disk.img");
        char[] pass = "correct horse battery staple".toCharArray();
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(2 << 20, "plat"), pass,
                     io.sectorcrypt.volume.luks2.KdfParameters.pbkdf2(1000))) {
            v.write(0, new byte[100_000], 0, 100_000);
            v.snapshot(dir.resolve("full.snap"), SnapshotKind.FULL, Progress.NONE);
            v.write(CHUNK, new byte[] {7}, 0, 1);
            v.snapshot(dir.resolve("incr.snap"), SnapshotKind.INCREMENTAL, Progress.NONE);
            for (String s : List.of("full.snap", "incr.snap")) {
                VolumeFixture.Result r = VolumeFixture.cryptsetup(dir, "luksDump", s);
                assertEquals(0, r.exit(), s + ": " + r.err());
                assertTrue(r.out().contains("sectorcrypt-snapshot") && r.out().contains("aes-xts-plain64"), r.out());
            }
            Path keyFile = dir.resolve("pass");
            Files.writeString(keyFile, new String(pass));
            VolumeFixture.Result open = VolumeFixture.cryptsetup(dir, "open", "--test-passphrase", "--key-file",
                    keyFile.toString(), "full.snap");
            assertEquals(0, open.exit(), open.err());
        }
    }

    private List<String> listing() throws IOException {
        try (var s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    static byte[] readAll(EncryptedVolume v) {
        byte[] b = new byte[(int) v.size()];
        v.read(0, b, 0, b.length);
        return b;
    }
}
