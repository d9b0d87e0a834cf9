package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class EncryptedVolumeTest {
    @TempDir
    Path dir;

    @Test
    void writesAtAnyOffsetReadBackAfterReopen() throws Exception {
        Path disk = dir.resolve("disk.img");
        long size = 8L << 20;
        byte[] model = new byte[(int) size];
        Random r = new Random(1);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "plat"))) {
                assertEquals(size, v.size());
                byte[] fresh = new byte[8192];
                v.read(4096, fresh, 0, fresh.length);
                assertArrayEquals(new byte[8192], fresh, "a new disk reads zeros");
                for (int i = 0; i < 300; i++) {
                    int len = 1 + r.nextInt(i % 10 == 0 ? 3 << 20 : 10_000);
                    int off = r.nextInt((int) size - len);
                    byte[] b = new byte[len];
                    r.nextBytes(b);
                    v.write(off, b, 0, len);
                    System.arraycopy(b, 0, model, off, len);
                }
                byte[] all = new byte[(int) size];
                v.read(0, all, 0, all.length);
                assertArrayEquals(model, all);
            }
            assertEquals(VolumeManager.DATA_OFFSET + size, Files.size(disk));
            try (EncryptedVolume v = f.volumes.open(disk)) {
                byte[] all = new byte[(int) size];
                v.read(0, all, 0, all.length);
                assertArrayEquals(model, all);
                byte[] part = new byte[777];
                v.read(12345, part, 0, part.length);
                assertArrayEquals(java.util.Arrays.copyOfRange(model, 12345, 12345 + 777), part);
            }
        }
        VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", disk.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertTrue(dump.out().contains("sectorcrypt-envelope"), dump.out());
    }

    @Test
    void outOfRangeAndInUseAreClearErrors() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> v.write((1 << 20) - 10, new byte[11], 0, 11));
            assertEquals("a write of 11 bytes at offset 1048566 lies outside " + disk + " (1048576 bytes)",
                    e.getMessage());
            VolumeInUseException busy = assertThrows(VolumeInUseException.class, () -> f.volumes.open(disk));
            assertEquals(disk + " is already open in this process", busy.getMessage());
            assertEquals(disk + " exists; refusing to overwrite it", assertThrows(IllegalArgumentException.class,
                    () -> f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))).getMessage());
        }
    }
}
