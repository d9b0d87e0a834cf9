package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.volume.luks2.Luks2BinaryHeader;
import io.sectorcrypt.volume.luks2.Luks2Header;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.io.TempDir;

/**
 * One header copy damaged on disk: the reader takes the other (or, for a primary written in
 * full before the crash, the newer one); a read-only open leaves the disk alone; a writable
 * open rewrites both copies from the chosen one, so both are valid afterwards, and
 * cryptsetup reads the result.
 */
class Luks2HeaderDamageTest {
    static final int HDR = (int) Luks2BinaryHeader.DEFAULT_HDR_SIZE;
    /** A write torn after its first page: the binary header. */
    static final int TEAR = 4096;

    enum Damage {
        /** The primary zeroed: the secondary is read. */
        PRIMARY_ZEROED,
        /** The secondary overwritten with garbage: the primary is read. */
        SECONDARY_GARBAGE,
        /**
         * An update torn inside the primary, {@link #TEAR} bytes in: the binary header is new
         * (seqid, checksum), the JSON old: the checksum fails, the (old) secondary is read.
         */
        TORN_PRIMARY,
        /** A crash between the two copies' writes: the primary is new, the secondary old: the primary is read. */
        PRIMARY_WRITTEN_SECONDARY_NOT
    }

    @TempDir
    Path dir;

    @ParameterizedTest
    @EnumSource(Damage.class)
    void theReaderTakesTheValidCopyAndAWritableOpenRepairsTheOther(Damage damage) throws Exception {
        Path disk = dir.resolve("disk.img");
        Path newer = dir.resolve("newer.img");
        byte[] data = new byte[64 << 10];
        new Random(damage.ordinal()).nextBytes(data);
        byte[] dek;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(4L << 20, "plat"))) {
                v.write(4096, data, 0, data.length);
            }
            dek = f.dek(disk, null);
            // A later version of the same header: a rotation (two updates) on a copy of the disk.
            Files.copy(disk, newer);
            f.vault.newVersion("platform");
            try (EncryptedVolume _ = f.volumes.open(newer)) {
                f.volumes.keys().maintain();
            }
        }
        Luks2Header old = VolumeCrashTest.header(disk);
        Luks2Header next = VolumeCrashTest.header(newer);
        assertEquals(old.binary().seqid() + 2, next.binary().seqid());
        byte[] newPrimary = Arrays.copyOf(Files.readAllBytes(newer), HDR);

        try (RandomAccessFile raf = new RandomAccessFile(disk.toFile(), "rw")) {
            switch (damage) {
                case PRIMARY_ZEROED -> raf.write(new byte[HDR]);
                case SECONDARY_GARBAGE -> {
                    byte[] junk = new byte[HDR];
                    new Random(7).nextBytes(junk);
                    System.arraycopy("SKUL".getBytes(), 0, junk, 0, 4); // magic intact, the rest garbage
                    raf.seek(HDR);
                    raf.write(junk);
                }
                case TORN_PRIMARY -> raf.write(newPrimary, 0, TEAR);
                case PRIMARY_WRITTEN_SECONDARY_NOT -> raf.write(newPrimary);
            }
        }
        Luks2Header expected = damage == Damage.PRIMARY_WRITTEN_SECONDARY_NOT ? next : old;
        Luks2Header read = VolumeCrashTest.header(disk);
        assertEquals(expected.binary().seqid(), read.binary().seqid());
        assertArrayEquals(expected.metadata().toJson(), read.metadata().toJson());
        assertTrue(read.needsRepair());

        byte[] damaged = Files.readAllBytes(disk);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.open(disk, null, true)) {
                byte[] back = new byte[data.length];
                v.read(4096, back, 0, back.length);
                assertArrayEquals(data, back);
            }
            assertArrayEquals(damaged, Files.readAllBytes(disk), "a read-only open writes nothing");
            try (EncryptedVolume v = f.volumes.open(disk)) {
                byte[] back = new byte[data.length];
                v.read(4096, back, 0, back.length);
                assertArrayEquals(data, back);
            }
            assertArrayEquals(dek, f.dek(disk, null));
        }
        long[] copies = VolumeCrashTest.copySeqids(disk);
        assertEquals(expected.binary().seqid() + 1, copies[0], "the repaired primary");
        assertEquals(expected.binary().seqid() + 1, copies[1], "the repaired secondary");
        Luks2Header repaired = VolumeCrashTest.header(disk);
        assertTrue(!repaired.needsRepair());
        assertArrayEquals(expected.metadata().toJson(), repaired.metadata().toJson());
        if (Luks2HeaderFuzzTest.cryptsetupPresent() || "true".equals(System.getenv("CI"))) {
            VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", disk.toString());
            assertEquals(0, dump.exit(), dump.err());
            assertEquals(List.of(Long.toString(expected.binary().seqid() + 1)), dump.out().lines()
                    .filter(l -> l.startsWith("Epoch:")).map(l -> l.substring(6).trim()).toList(), dump.out());
        }
    }
}
