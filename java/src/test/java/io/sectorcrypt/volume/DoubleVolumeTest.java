package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.keys.AttachedDisk;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.keys.Permission;
import io.sectorcrypt.volume.luks2.KdfParameters;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import io.sectorcrypt.xts.SectorCipher;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * DOUBLE disks: a stored sector is HCTR2(outer, XTS(inner, plaintext)); the header records
 * both wrapped DEKs and the layers; taking the outer layer off leaves what cryptsetup and
 * OpenSSL read as the single-layer disk; each key rotates and revokes on its own; and the
 * disk never passes for a single-layer one.
 */
class DoubleVolumeTest {
    private static final Path OPENSSL_CHECK = Path.of("..", "ci", "openssl_xts_check.py").toAbsolutePath();

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
    @ValueSource(ints = {4096, 512})
    void aStoredSectorIsHctr2OverXtsAndRoundTrips(int sectorSize) throws Exception {
        Path disk = dir.resolve("disk.img");
        int size = 2 << 20;
        byte[] image = random(size, sectorSize);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "dbl").withSectorSize(sectorSize))) {
                v.write(0, image, 0, size);
                // unaligned writes take the read-modify-write path through both layers
                byte[] patch = random(5000, 1);
                v.write(777, patch, 0, patch.length);
                System.arraycopy(patch, 0, image, 777, patch.length);
                VolumeInfo info = v.info();
                assertEquals("capi:hctr2(aes)-plain64", info.outerCipher());
                assertEquals(List.of("customer", "infrastructure"), info.layers().stream().map(VolumeInfo.Layer::role)
                        .toList());
                AttachedDisk keys = f.volumes.keys().attach(v.diskId());
                byte[] expected = image.clone();
                SectorCipher.of(keys.key()).encrypt(java.nio.ByteBuffer.wrap(image), java.nio.ByteBuffer.wrap(expected),
                        0, sectorSize);
                Hctr2.of(keys.outerKey()).encryptSectors(expected, 0, expected, 0, size, 0, sectorSize);
                v.flush();
                assertArrayEquals(expected, dataArea(disk, v.dataOffset(), size),
                        "the data area is HCTR2(outer, XTS(inner, plaintext)), IVs in 512-byte units");
            }
            try (EncryptedVolume v = f.volumes.open(disk)) {
                byte[] back = new byte[size];
                v.read(0, back, 0, size);
                assertArrayEquals(image, back);
                byte[] odd = new byte[3333];
                v.read(12345, odd, 0, odd.length);
                assertArrayEquals(java.util.Arrays.copyOfRange(image, 12345, 12345 + odd.length), odd);
            }
        }
    }

    @Test
    void takingOffTheOuterLayerLeavesTheDiskCryptsetupAndOpenSslRead() throws Exception {
        Path disk = dir.resolve("disk.img");
        int size = 4 << 20;
        int sectorSize = 4096;
        byte[] image = random(size, 11);
        char[] passphrase = "a recovery passphrase for the inner layer".toCharArray();
        byte[] inner;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "dbl"), passphrase,
                    KdfParameters.minimal(CryptoPolicy.configured()))) {
                v.write(0, image, 0, size);
                v.flush();
                byte[] area = dataArea(disk, VolumeManager.DATA_OFFSET, size);
                Hctr2.of(f.volumes.keys().attach(v.diskId()).outerKey()).decryptSectors(area, 0, area, 0, size, 0,
                        sectorSize);
                Files.write(dir.resolve("inner-layer.img"), area);
            }
            inner = f.dek(disk, null);
        }
        VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", disk.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertTrue(dump.out().contains("Requirements:\t" + Luks2Metadata.OUTER_LAYER_REQUIREMENT), dump.out());
        assertTrue(dump.out().contains("sectorcrypt-outer-layer"), "the layers' token: " + dump.out());
        Path pass = Files.writeString(dir.resolve("pass.txt"), new String(passphrase));
        VolumeFixture.Result test = VolumeFixture.cryptsetup(dir, "open", "--test-passphrase", "--key-file",
                pass.toString(), disk.toString());
        assertEquals(0, test.exit(), test.err());
        Path dumped = dir.resolve("inner.key");
        VolumeFixture.Result key = VolumeFixture.cryptsetup(dir, "luksDump", "--dump-volume-key", "--batch-mode",
                "--key-file", pass.toString(), "--volume-key-file", dumped.toString(), disk.toString());
        assertEquals(0, key.exit(), key.err());
        assertArrayEquals(inner, Files.readAllBytes(dumped), "the keyslot holds the inner (XTS) key");
        Path plain = Files.write(dir.resolve("plain.img"), image);
        VolumeFixture.Result openssl = VolumeFixture.run(dir, "python3", OPENSSL_CHECK.toString(), dumped.toString(),
                Integer.toString(sectorSize), "0", Integer.toString(sectorSize / 512), plain.toString(),
                dir.resolve("inner-layer.img").toString());
        assertEquals(0, openssl.exit(), "without its outer layer the data area is aes-xts-plain64 under the inner"
                + " key: " + openssl.out() + openssl.err());
    }

    @Test
    void eachKeyRotatesItsOwnLayerOnlyAndIoGoesOn() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] image = random(1 << 20, 3);
        try (VolumeFixture f = new VolumeFixture(dir); EncryptedVolume v = f.volumes.create(disk,
                VolumeSpec.of(image.length, "dbl"))) {
            v.write(0, image, 0, image.length);
            KeyManager keys = f.volumes.keys();
            f.vault.newVersion("customer");
            assertEquals(1, keys.rotate("dbl", 2));
            assertEquals(List.of(2, 1), versions(disk), "the customer key re-wrapped the inner DEK only");
            f.vault.newVersion("platform");
            keys.maintain();
            assertEquals(List.of(2, 2), versions(disk), "the platform key re-wrapped the outer DEK");
            f.vault.setEnabled("customer", 1, false);
            f.vault.setEnabled("platform", 1, false);
            f.clock.advance(KeyManager.DEFAULT_CACHE_TTL);
            byte[] back = new byte[image.length];
            v.read(0, back, 0, back.length);
            assertArrayEquals(image, back, "the DEKs did not change: nothing was re-encrypted");
        }
        try (VolumeFixture f = new VolumeFixture(dir); EncryptedVolume v = f.volumes.open(disk)) {
            byte[] back = new byte[image.length];
            v.read(0, back, 0, back.length);
            assertArrayEquals(image, back, "both layers unwrap under their new versions");
        }
    }

    private static List<Integer> versions(Path disk) throws IOException {
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ)) {
            DiskKeys keys = Luks2Header.read(ch, "t", CryptoPolicy.configured()).metadata().envelope().orElseThrow();
            return keys.layers().stream().map(l -> l.current().keyVersion()).toList();
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"customer", "platform"})
    void revokingEitherKeyStopsIoOnceTheCacheEndsAndGrantingBringsItBack(String key) throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] data = random(64 << 10, 5);
        try (VolumeFixture f = new VolumeFixture(dir); EncryptedVolume v = f.volumes.create(disk,
                VolumeSpec.of(1 << 20, "dbl"))) {
            v.write(0, data, 0, data.length);
            f.vault.revoke(key, VolumeFixture.IDENTITY);
            byte[] back = new byte[data.length];
            v.read(0, back, 0, back.length); // still cached
            f.clock.advance(KeyManager.DEFAULT_CACHE_TTL);
            KeyUnavailableException e = assertThrows(KeyUnavailableException.class, () -> v.read(0, back, 0,
                    back.length));
            assertEquals(key, e.keyName());
            assertThrows(KeyUnavailableException.class, () -> v.write(0, data, 0, data.length));
            f.vault.grant(key, VolumeFixture.IDENTITY, Permission.all());
            java.util.Arrays.fill(back, (byte) 0);
            v.read(0, back, 0, back.length);
            assertArrayEquals(data, back, "granting the key again brings the disk back");
        }
    }

    /** Rewrites the header of {@code disk} with {@code edit} applied to its metadata. */
    private static void editHeader(Path disk, UnaryOperator<Luks2Metadata> edit) throws IOException {
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Luks2Header h = Luks2Header.read(ch, disk.toString(), CryptoPolicy.configured());
            h.update(edit.apply(h.metadata()));
        }
    }

    @Test
    void aDoubleDiskNeverPassesForASingleLayerOne() throws Exception {
        Path disk = dir.resolve("disk.img");
        Path other = dir.resolve("other.img");
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.volumes.create(disk, VolumeSpec.of(1 << 20, "dbl")).close();
            f.volumes.create(other, VolumeSpec.of(1 << 20, "dbl")).close();
            Path copy = dir.resolve("copy.img");
            record Damage(String what, UnaryOperator<Luks2Metadata> edit, String message) {
            }
            DiskKeys otherKeys;
            try (FileChannel ch = FileChannel.open(other, StandardOpenOption.READ)) {
                otherKeys = Luks2Header.read(ch, "o", CryptoPolicy.configured()).metadata().envelope().orElseThrow();
            }
            String half = ": its header is half a DOUBLE disk's (sectorcrypt-outer-layer token: %s, outer key in the"
                    + " envelope: %s, sectorcrypt-outer-layer requirement: %s); refusing to guess whether its data has"
                    + " the outer layer";
            for (Damage d : List.of(
                    new Damage("no token", m -> m.withoutToken(OuterLayerToken.TYPE), half.formatted("missing",
                            "present", "present")),
                    new Damage("no requirement", m -> m.withOuterLayerRequirement(false), half.formatted("present",
                            "present", "missing")),
                    new Damage("no outer key", m -> m.withEnvelope(new DiskKeys(m.envelope().orElseThrow().diskId(),
                            "dbl", List.of(m.envelope().orElseThrow().xtsLayer()))), half.formatted("present", "missing",
                                    "present")),
                    new Damage("another disk's outer key", m -> m.withEnvelope(new DiskKeys(
                            m.envelope().orElseThrow().diskId(), "dbl", List.of(m.envelope().orElseThrow().xtsLayer(),
                                    otherKeys.layer(DiskKeys.Role.INFRASTRUCTURE)))), ": the outer key its envelope"
                                    + " token unwraps does not match the digest of its sectorcrypt-outer-layer token (the"
                                    + " token belongs to another disk, or the header was altered)"))) {
                Files.copy(disk, copy, StandardCopyOption.REPLACE_EXISTING);
                editHeader(copy, d.edit());
                Luks2FormatException e = assertThrows(Luks2FormatException.class, () -> f.volumes.open(copy).close(),
                        d.what());
                assertEquals(copy + d.message(), e.getMessage(), d.what());
            }
            try (EncryptedVolume v = f.volumes.open(disk)) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> v.changeEncryptionSet("plat"));
                assertTrue(e.getMessage().contains("it cannot leave its set without re-encrypting its data"),
                        e.getMessage());
            }
        }
    }

    @Test
    void aSnapshotOfADoubleDiskKeepsBothLayers() throws Exception {
        Path disk = dir.resolve("disk.img");
        Path snap = dir.resolve("disk.snap");
        Path restored = dir.resolve("restored.img");
        byte[] image = random(1 << 20, 9);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(image.length, "dbl"))) {
                v.write(0, image, 0, image.length);
                v.snapshot(snap, SnapshotKind.FULL, Progress.NONE);
                v.write(0, new byte[4096], 0, 4096);
            }
            try (EncryptedVolume s = f.volumes.open(snap, null, true)) {
                assertEquals("capi:hctr2(aes)-plain64", s.info().outerCipher());
                byte[] back = new byte[image.length];
                s.read(0, back, 0, back.length);
                assertArrayEquals(image, back);
            }
            try (EncryptedVolume r = f.volumes.restore(List.of(snap), restored, Progress.NONE)) {
                byte[] back = new byte[image.length];
                r.read(0, back, 0, back.length);
                assertArrayEquals(image, back);
                assertFalse(r.info().layers().isEmpty());
                assertEquals("capi:hctr2(aes)-plain64", r.info().outerCipher());
            }
        }
    }
}
