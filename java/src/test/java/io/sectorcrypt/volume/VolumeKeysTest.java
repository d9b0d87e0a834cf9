package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyUnavailableException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The seed's managed-disk key behaviours, seen through a volume's I/O. */
class VolumeKeysTest {
    @TempDir
    Path dir;

    enum Revocation {
        DISABLE(f -> f.vault.setEnabled("customer", 1, false), f -> f.vault.setEnabled("customer", 1, true)),
        DELETE(f -> f.vault.delete("customer"), f -> f.vault.recover("customer")),
        REVOKE_ACCESS(f -> f.vault.revoke("customer", VolumeFixture.IDENTITY),
                f -> f.vault.grant("customer", VolumeFixture.IDENTITY, io.sectorcrypt.keys.Permission.all()));

        final Consumer<VolumeFixture> revoke;
        final Consumer<VolumeFixture> restore;

        Revocation(Consumer<VolumeFixture> revoke, Consumer<VolumeFixture> restore) {
            this.revoke = revoke;
            this.restore = restore;
        }
    }

    @ParameterizedTest
    @EnumSource(Revocation.class)
    void ioStopsOnceTheCacheEndsOnARevokedKeyAndResumesWhenItIsBack(Revocation how) throws Exception {
        byte[] data = new byte[10_000];
        new Random(3).nextBytes(data);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(dir.resolve("disk.img"), VolumeSpec.of(1 << 20, "cust"))) {
            v.write(100, data, 0, data.length);
            how.revoke.accept(f);
            byte[] back = new byte[data.length];
            v.read(100, back, 0, back.length); // the cached key serves until the TTL ends
            assertArrayEquals(data, back);
            f.clock.advance(KeyManager.DEFAULT_CACHE_TTL.plusSeconds(1));
            KeyUnavailableException e = assertThrows(KeyUnavailableException.class,
                    () -> v.read(100, back, 0, back.length));
            assertTrue(e.getMessage().contains("customer"), e.getMessage());
            assertThrows(KeyUnavailableException.class, () -> v.write(0, data, 0, 10));
            how.restore.accept(f);
            v.read(100, back, 0, back.length);
            assertArrayEquals(data, back);
            v.write(0, data, 0, 10);
        }
    }

    @Test
    void rotationRewrapsTheTokenWithoutTouchingDataOrStoppingIo() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] data = new byte[3 << 20];
        new Random(4).nextBytes(data);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(4 << 20, "cust"))) {
                v.write(0, data, 0, data.length);
                long seqid = v.info().seqid();
                assertEquals(1, v.info().layers().get(0).wrapped().get(0).version());
                f.vault.newVersion("customer");
                f.volumes.keys().maintain(); // the set follows "latest"
                VolumeInfo after = v.info();
                assertEquals(2, after.layers().get(0).wrapped().get(0).version());
                assertEquals(1, after.layers().get(0).wrapped().size());
                assertTrue(after.seqid() >= seqid + 2, "the rotation wrote the header (twice: beside, then alone)");
                byte[] back = new byte[data.length];
                v.read(0, back, 0, back.length);
                assertArrayEquals(data, back);
            }
            f.vault.setEnabled("customer", 1, false); // the old version is no longer needed
            try (EncryptedVolume v = f.volumes.open(disk)) {
                byte[] back = new byte[data.length];
                v.read(0, back, 0, back.length);
                assertArrayEquals(data, back);
            }
        }
        VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", disk.toString());
        assertEquals(0, dump.exit(), dump.err());
    }

    @Test
    void aVolumeOpensOnlyWithItsOwnKey() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat")).close();
            f.vault.setEnabled("platform", 1, false);
            KeyUnavailableException e = assertThrows(KeyUnavailableException.class, () -> f.volumes.open(disk));
            assertTrue(e.getMessage().contains("platform"), e.getMessage());
        }
    }

    @Test
    void resizeGrowsOnlineAndCryptsetupSeesIt() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
                v.write(0, new byte[] {1, 2, 3}, 0, 3);
                assertThrows(IllegalArgumentException.class, () -> v.resize(1000));
                assertEquals(disk + " is 1048576 bytes; shrinking to 524288 would lose data and is not supported",
                        assertThrows(IllegalArgumentException.class, () -> v.resize(512 << 10)).getMessage());
                v.resize(3 << 20);
                assertEquals(3 << 20, v.size());
                v.write((3 << 20) - 5, new byte[] {9, 9, 9, 9, 9}, 0, 5);
            }
            try (EncryptedVolume v = f.volumes.open(disk)) {
                assertEquals(3 << 20, v.size());
                byte[] b = new byte[5];
                v.read((3 << 20) - 5, b, 0, 5);
                assertArrayEquals(new byte[] {9, 9, 9, 9, 9}, b);
            }
        }
        VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", disk.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertTrue(dump.out().contains("length: 3145728 [bytes]"), dump.out());
    }

    @Test
    void concurrentWritersToOneSectorLoseNoUpdate() throws Exception {
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(dir.resolve("disk.img"), VolumeSpec.of(1 << 20, "plat"))) {
            int threads = 8;
            int perThread = 200;
            Thread[] workers = new Thread[threads];
            for (int t = 0; t < threads; t++) {
                int id = t;
                workers[t] = new Thread(() -> {
                    for (int i = 0; i < perThread; i++) {
                        // Each thread owns bytes id*8 .. id*8+7 of sector 0 (and of sector 1, via a
                        // write across the boundary).
                        byte[] b = new byte[8];
                        java.util.Arrays.fill(b, (byte) (i + 1));
                        v.write(id * 8L, b, 0, 8);
                        v.write(4096 - 4 + (id == 0 ? 0 : 4096 + id * 8L - 4), b, 0, 8);
                    }
                });
                workers[t].start();
            }
            for (Thread w : workers) {
                w.join(Duration.ofMinutes(1));
            }
            byte[] sector = new byte[8192];
            v.read(0, sector, 0, sector.length);
            for (int t = 0; t < threads; t++) {
                for (int j = 0; j < 8; j++) {
                    assertEquals((byte) perThread, sector[t * 8 + j], "thread " + t + " byte " + j + " of sector 0");
                }
            }
        }
    }
}
