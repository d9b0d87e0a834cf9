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

    @Test
    void aHeaderWhoseTokenBelongsToAnotherDiskIsRefused() throws Exception {
        Path a = dir.resolve("a.img");
        Path b = dir.resolve("b.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            String diskA;
            try (EncryptedVolume v = f.volumes.create(a, VolumeSpec.of(1 << 20, "plat"))) {
                diskA = v.diskId();
            }
            f.volumes.create(b, VolumeSpec.of(1 << 20, "plat")).close();
            // b's header with a's JSON (token and digest) in its place: the UUIDs differ.
            byte[] headerA = java.util.Arrays.copyOf(Files.readAllBytes(a), 32768);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(b,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(headerA), 0);
            }
            // Now b carries a's header entirely: it opens as disk a (same key, same digest)...
            try (EncryptedVolume v = f.volumes.open(b)) {
                assertEquals(diskA, v.diskId());
            }
            // ...but a token naming another disk than the header's UUID is refused.
            io.sectorcrypt.volume.luks2.Luks2FormatException e = assertThrows(
                    io.sectorcrypt.volume.luks2.Luks2FormatException.class, () -> {
                        com.fasterxml.jackson.databind.ObjectMapper m = new com.fasterxml.jackson.databind.ObjectMapper();
                        com.fasterxml.jackson.databind.node.ObjectNode root = (com.fasterxml.jackson.databind.node
                                .ObjectNode) m.readTree(json(a));
                        ((com.fasterxml.jackson.databind.node.ObjectNode) root.at("/tokens/0")).put("disk",
                                "00000000-0000-0000-0000-000000000000");
                        rewriteJson(a, m.writeValueAsString(root));
                        f.volumes.open(a).close();
                    });
            assertTrue(e.getMessage().contains("its envelope token belongs to disk"), e.getMessage());
        }
    }

    static String json(Path disk) throws Exception {
        byte[] whole = Files.readAllBytes(disk);
        int end = 4096;
        while (whole[end] != 0) {
            end++;
        }
        return new String(whole, 4096, end - 4096, java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Replaces the JSON of both copies and re-seals their checksums, as a forger would. */
    static void rewriteJson(Path disk, String json) throws Exception {
        byte[] whole = Files.readAllBytes(disk);
        for (int copy = 0; copy < 2; copy++) {
            int base = copy * 16384;
            byte[] area = new byte[12288];
            byte[] j = json.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            System.arraycopy(j, 0, area, 0, j.length);
            System.arraycopy(area, 0, whole, base + 4096, area.length);
            java.util.Arrays.fill(whole, base + 448, base + 512, (byte) 0);
            byte[] sum = java.security.MessageDigest.getInstance("SHA-256").digest(java.util.Arrays.copyOfRange(whole,
                    base, base + 16384));
            System.arraycopy(sum, 0, whole, base + 448, 32);
        }
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(disk,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.write(java.nio.ByteBuffer.wrap(whole, 0, 32768), 0);
        }
    }

    @Test
    void notOursOrBrokenIsOneClearError() throws Exception {
        try (VolumeFixture f = new VolumeFixture(dir)) {
            Path plain = Files.write(dir.resolve("plain.img"), new byte[1 << 20]);
            assertEquals(plain + " is not a LUKS2 disk: no LUKS header at its start", assertThrows(
                    io.sectorcrypt.volume.luks2.Luks2FormatException.class, () -> f.volumes.open(plain)).getMessage());
            Path disk = dir.resolve("disk.img");
            f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat")).close();
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(disk,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {'x'}), 5000); // primary JSON
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {'x'}), 16384 + 5000); // secondary JSON
            }
            String message = assertThrows(io.sectorcrypt.volume.luks2.Luks2FormatException.class,
                    () -> f.volumes.open(disk)).getMessage();
            assertEquals(disk + ": neither copy of its LUKS2 header is valid (primary: the primary header's checksum"
                    + " does not match its contents (seqid 1); secondary: the secondary header's checksum does not"
                    + " match its contents (seqid 1))", message);
        }
        Path luks = dir.resolve("cryptsetup.img");
        Files.write(luks, new byte[20 << 20]);
        Path pass = Files.writeString(dir.resolve("pass"), "a passphrase");
        VolumeFixture.Result made = VolumeFixture.cryptsetup(dir, "luksFormat", "--type", "luks2", "--batch-mode",
                "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--key-file", pass.toString(), luks.toString());
        assertEquals(0, made.exit(), made.err());
        try (VolumeFixture f = new VolumeFixture(dir)) {
            assertEquals(luks + " is a LUKS2 disk without a SectorCrypt envelope token: its key is not managed by"
                    + " SectorCrypt", assertThrows(io.sectorcrypt.volume.luks2.Luks2FormatException.class,
                            () -> f.volumes.open(luks)).getMessage());
        }
    }
}
