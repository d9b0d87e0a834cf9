package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.DiskEncryptionSet;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.WrongPassphraseException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Adopting disks that cryptsetup 2.6 made: each is filled with known plaintext by {@code
 * cryptsetup reencrypt --encrypt} (offline encryption of a plain file), adopted through the
 * API, and read back; afterwards cryptsetup still opens it with its passphrase, parses its
 * header, and its volume key (dumped by cryptsetup) decrypts what we wrote (OpenSSL's
 * EVP_aes_256_xts checks the data area). Refusals leave the disk byte for byte as it was.
 *
 * <p>Under the FIPS policy the argon2id disks are refused (SP 800-132 approves PBKDF2 only):
 * that refusal is what those cases check there.
 */
class AdoptTest {
    static final String PASSPHRASE = "adopt test passphrase"; // 21 bytes: enough for FIPS's 14
    /** cryptsetup 2.6's default data offset, where reencrypt --encrypt moves the plaintext. */
    static final long SHIFT = 32L << 20;
    private static final Path OPENSSL_CHECK = Path.of("..", "ci", "openssl_xts_check.py").toAbsolutePath();

    @TempDir
    Path dir;

    /** The KDF options of small-cost keyslots, as {@code cryptsetup luksFormat} takes them. */
    static List<String> kdf(String type) {
        return type.equals("argon2id")
                ? List.of("--pbkdf", "argon2id", "--pbkdf-memory", "32768", "--pbkdf-force-iterations", "4")
                : List.of("--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000");
    }

    /**
     * Encrypts {@code plain} in place into a LUKS2 disk with cryptsetup's offline
     * reencryption: with {@code header} null the header goes at the start and the data moves
     * up by 16 MiB (the file grows by {@link #SHIFT} first: {@code --reduce-device-size}
     * takes it from the end); otherwise the header goes to {@code header} and the data stays
     * at offset 0.
     */
    static void encrypt(Path dir, Path disk, byte[] plain, String kdf, int sectorSize, Path header)
            throws Exception {
        Files.write(disk, plain);
        Path key = Files.writeString(dir.resolve("pass.key"), PASSPHRASE); // a key file is read whole: no newline
        List<String> args = new ArrayList<>(List.of("reencrypt", "--encrypt", "--type", "luks2", "--batch-mode",
                "--force-offline-reencrypt", "--key-file", key.toString(), "--sector-size",
                Integer.toString(sectorSize)));
        args.addAll(kdf(kdf));
        if (header == null) {
            try (RandomAccessFile f = new RandomAccessFile(disk.toFile(), "rw")) {
                f.setLength(plain.length + SHIFT);
            }
            args.addAll(List.of("--reduce-device-size", SHIFT / (1 << 20) + "M"));
        } else {
            args.addAll(List.of("--header", header.toString()));
        }
        args.add(disk.toString());
        VolumeFixture.Result r = VolumeFixture.cryptsetup(dir, args.toArray(String[]::new));
        assertEquals(0, r.exit(), "cryptsetup " + args + ": " + r.out() + r.err());
    }

    static boolean fips() {
        return CryptoPolicy.configured().isFips();
    }

    @ParameterizedTest(name = "{0}, {1}-byte sectors, detached header: {2}")
    @CsvSource({"argon2id, 512, false, plat", "pbkdf2, 4096, false, cust", "pbkdf2, 512, true, plat",
        "argon2id, 4096, true, cust"})
    void aCryptsetupDiskIsAdoptedWithItsDataAsItWasAndCryptsetupStillOpensIt(String kdf, int sectorSize,
            boolean detached, String set) throws Exception {
        Path disk = dir.resolve("disk.img");
        Path header = detached ? dir.resolve("disk.hdr") : null;
        byte[] plain = new byte[4 << 20];
        new Random(sectorSize).nextBytes(plain);
        encrypt(dir, disk, plain, kdf, sectorSize, header);
        Path luksHeader = detached ? header : disk;
        if (fips() && kdf.equals("argon2id")) {
            String before = sha256(luksHeader);
            try (VolumeFixture f = new VolumeFixture(dir)) {
                assertTrue(assertThrows(IllegalStateException.class, () -> f.volumes.adopt(disk, header, set,
                        PASSPHRASE.toCharArray())).getMessage().contains("argon2id, which FIPS mode does not approve"));
            }
            assertEquals(before, sha256(luksHeader), "a refused adopt leaves the header as it was");
            return;
        }
        byte[] patch = new byte[300_000];
        new Random(1).nextBytes(patch);
        int patchAt = 3 * sectorSize + 17;
        byte[] expected = plain.clone();
        System.arraycopy(patch, 0, expected, patchAt, patch.length);
        byte[] dek;
        long dataOffset;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.adopt(disk, header, set, PASSPHRASE.toCharArray())) {
                assertEquals(set, v.setId());
                assertEquals(sectorSize, v.sectorSize());
                assertEquals(VolumeManager.inspect(disk, header).uuid(), v.diskId(), "the disk id is the LUKS2 UUID");
                byte[] back = new byte[plain.length];
                v.read(0, back, 0, back.length);
                assertArrayEquals(plain, back, "the adopted disk reads what cryptsetup encrypted");
                v.write(patchAt, patch, 0, patch.length);
                dataOffset = v.dataOffset();
            }
            assertEquals(detached ? 0 : SHIFT / 2, dataOffset);
            try (EncryptedVolume v = f.volumes.open(disk, header, true)) {
                byte[] back = new byte[plain.length];
                v.read(0, back, 0, back.length);
                assertArrayEquals(expected, back, "reopened by open()");
            }
            dek = f.dek(disk, header);
        }
        Path key = dir.resolve("pass.key");
        VolumeFixture.Result test = VolumeFixture.cryptsetup(dir, "open", "--test-passphrase", "--key-file",
                key.toString(), luksHeader.toString());
        assertEquals(0, test.exit(), "cryptsetup still opens the disk with its passphrase: " + test.err());
        VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", luksHeader.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertTrue(dump.out().contains("sectorcrypt-envelope"), dump.out());
        Path vk = dir.resolve("vk.bin");
        VolumeFixture.Result dumpKey = VolumeFixture.cryptsetup(dir, "luksDump", "--dump-volume-key", "--batch-mode",
                "--key-file", key.toString(), "--volume-key-file", vk.toString(), luksHeader.toString());
        assertEquals(0, dumpKey.exit(), dumpKey.err());
        assertArrayEquals(dek, Files.readAllBytes(vk), "the envelope wraps the volume key the keyslot holds");
        Path expectedFile = Files.write(dir.resolve("expected.bin"), expected);
        Path dataArea = dir.resolve("data-area.bin");
        try (RandomAccessFile raf = new RandomAccessFile(disk.toFile(), "r")) {
            byte[] area = new byte[expected.length];
            raf.seek(dataOffset);
            raf.readFully(area);
            Files.write(dataArea, area);
        }
        VolumeFixture.Result openssl = VolumeFixture.run(dir, "python3", OPENSSL_CHECK.toString(), vk.toString(),
                Integer.toString(sectorSize), "0", Integer.toString(sectorSize / 512), expectedFile.toString(),
                dataArea.toString());
        assertEquals(0, openssl.exit(), "OpenSSL, under cryptsetup's volume key, reads what we wrote: "
                + openssl.out() + openssl.err());
    }

    @Test
    void refusalsSayWhyAndLeaveTheDiskAsItWas() throws Exception {
        char[] pass = PASSPHRASE.toCharArray();
        Path key = Files.writeString(dir.resolve("pass.key"), PASSPHRASE);
        Path disk = dir.resolve("disk.img");
        byte[] plain = new byte[1 << 20];
        new Random(3).nextBytes(plain);
        encrypt(dir, disk, plain, "pbkdf2", 4096, null);
        String pristine = sha256(disk);
        try (VolumeFixture f = new VolumeFixture(dir);
             VolumeManager withDouble = VolumeManager.builder(KeyManager.builder().vault(f.vault).clock(f.clock)
                     .policy(CryptoPolicy.configured()).platformKey(VolumeFixture.VAULT_ID, "platform",
                             VolumeFixture.IDENTITY)).build()) {
            WrongPassphraseException wrong = assertThrows(WrongPassphraseException.class,
                    () -> f.volumes.adopt(disk, null, "plat", "not the passphrase at all".toCharArray()));
            assertEquals("the passphrase opens no keyslot of " + disk + " (tried keyslots [0])", wrong.getMessage());
            assertEquals(pristine, sha256(disk));

            withDouble.keys().putSet(DiskEncryptionSet.doubleEncryption("both", VolumeFixture.VAULT_ID, "customer",
                    VolumeFixture.IDENTITY));
            assertEquals("cannot adopt " + disk + ": encryption set 'both' is DOUBLE: its disks' data is encrypted"
                    + " under two keys, so a disk encrypted under one existing key cannot join it without re-encrypting"
                    + " its data; use a PLATFORM or CUSTOMER set", assertThrows(IllegalArgumentException.class,
                            () -> withDouble.adopt(disk, null, "both", pass)).getMessage());
            assertEquals("cannot adopt " + disk + ": encryption set 'none' is not registered (putSet first)",
                    assertThrows(IllegalArgumentException.class, () -> f.volumes.adopt(disk, null, "none", pass))
                            .getMessage());
            assertEquals(pristine, sha256(disk));

            try (EncryptedVolume v = f.volumes.adopt(disk, null, "plat", pass)) {
                assertTrue(assertThrows(VolumeInUseException.class, () -> f.volumes.adopt(disk, null, "cust", pass))
                        .getMessage().startsWith(disk + " is already open"));
            }
            String adopted = sha256(disk);
            assertEquals(disk + " already has a SectorCrypt envelope token (encryption set 'plat'): it is adopted;"
                    + " open it", assertThrows(Luks2FormatException.class, () -> f.volumes.adopt(disk, null, "cust",
                            pass)).getMessage());
            assertEquals(adopted, sha256(disk));

            Path luks1 = format(dir, "luks1.img", key, "--type", "luks1", "--pbkdf-force-iterations", "1000");
            refused(f, luks1, luks1 + " is a LUKS1 disk; SectorCrypt reads LUKS2 only (convert it with 'cryptsetup"
                    + " convert --type luks2' first)");
            Path aes128 = format(dir, "aes128.img", key, "--type", "luks2", "--pbkdf", "pbkdf2",
                    "--pbkdf-force-iterations", "1000", "--key-size", "256");
            refused(f, aes128, aes128 + " is encrypted with aes-xts-plain64 under a 256-bit key; SectorCrypt does"
                    + " XTS-AES-256 only (a 512-bit key)");
            Path cbc = format(dir, "cbc.img", key, "--type", "luks2", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations",
                    "1000", "--cipher", "aes-cbc-essiv:sha256", "--key-size", "256");
            refused(f, cbc, "segment 0 is encrypted with 'aes-cbc-essiv:sha256'; SectorCrypt supports only"
                    + " aes-xts-plain64");

            Path halfway = dir.resolve("halfway.img");
            Files.write(halfway, plain);
            try (RandomAccessFile raf = new RandomAccessFile(halfway.toFile(), "rw")) {
                raf.setLength(plain.length + SHIFT);
            }
            List<String> init = new ArrayList<>(List.of("reencrypt", "--encrypt", "--init-only", "--type", "luks2",
                    "--batch-mode", "--force-offline-reencrypt", "--key-file", key.toString(), "--reduce-device-size",
                    "32M"));
            init.addAll(kdf("pbkdf2"));
            init.add(halfway.toString());
            VolumeFixture.Result r = VolumeFixture.cryptsetup(dir, init.toArray(String[]::new));
            assertEquals(0, r.exit(), r.err());
            refused(f, halfway, "a cryptsetup reencryption of this disk is unfinished; finish it first with"
                    + " 'cryptsetup reencrypt DEVICE', which resumes where it stopped (requirement online-reencrypt-v2)");
        }
    }

    @Test
    void everyKeyslotIsTriedAndAllStillOpenTheDiskAfterwards() throws Exception {
        Path key = Files.writeString(dir.resolve("pass.key"), PASSPHRASE);
        Path disk = format(dir, "two-slots.img", key, "--type", "luks2", "--pbkdf", "pbkdf2",
                "--pbkdf-force-iterations", "1000");
        String second = "the second keyslot's passphrase";
        Path secondKey = Files.writeString(dir.resolve("second.key"), second);
        VolumeFixture.Result add = VolumeFixture.cryptsetup(dir, "luksAddKey", "--batch-mode", "--key-file",
                key.toString(), "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", disk.toString(),
                secondKey.toString());
        assertEquals(0, add.exit(), add.err());
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.adopt(disk, null, "cust", second.toCharArray())) {
            assertEquals(List.of(0, 1), v.info().keyslots());
        }
        for (Path k : List.of(key, secondKey)) {
            VolumeFixture.Result test = VolumeFixture.cryptsetup(dir, "open", "--test-passphrase", "--key-file",
                    k.toString(), disk.toString());
            assertEquals(0, test.exit(), "keyslot of " + k + ": " + test.err());
        }
    }

    /** A fresh 20 MiB LUKS disk made by {@code cryptsetup luksFormat} with {@code options}. */
    private static Path format(Path dir, String name, Path key, String... options) throws Exception {
        Path disk = dir.resolve(name);
        try (RandomAccessFile raf = new RandomAccessFile(disk.toFile(), "rw")) {
            raf.setLength(20L << 20);
        }
        List<String> args = new ArrayList<>(List.of("luksFormat", "--batch-mode", "--key-file", key.toString()));
        args.addAll(List.of(options));
        args.add(disk.toString());
        VolumeFixture.Result r = VolumeFixture.cryptsetup(dir, args.toArray(String[]::new));
        assertEquals(0, r.exit(), r.err());
        return disk;
    }

    private static void refused(VolumeFixture f, Path disk, String message) throws Exception {
        String before = sha256(disk);
        Luks2FormatException e = assertThrows(Luks2FormatException.class, () -> f.volumes.adopt(disk, null, "plat",
                PASSPHRASE.toCharArray()));
        assertTrue(e.getMessage().contains(message), e.getMessage());
        assertTrue(e.getMessage().contains(disk.toString()), "the refusal names the disk: " + e.getMessage());
        assertEquals(before, sha256(disk), "a refused adopt leaves " + disk + " as it was");
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0;) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
