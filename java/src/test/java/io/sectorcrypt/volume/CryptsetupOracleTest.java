package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cryptsetup 2.6 judges our volumes: it parses every header, verifies our DEK against the
 * header's digest, dumps it back, and decrypts our data; OpenSSL's EVP_aes_256_xts checks
 * the data area sector by sector.
 */
class CryptsetupOracleTest {
    @TempDir
    Path dir;

    private static final Path OPENSSL_CHECK = Path.of("..", "ci", "openssl_xts_check.py").toAbsolutePath();

    @ParameterizedTest
    @ValueSource(ints = {4096, 512})
    void cryptsetupVerifiesOurKeyAndOpenSslDecryptsOurData(int sectorSize) throws Exception {
        Path disk = dir.resolve("disk.img");
        long size = 4L << 20;
        byte[] plain = new byte[(int) size];
        new Random(sectorSize).nextBytes(plain);
        byte[] dek;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(size, "cust").withSectorSize(sectorSize))) {
                v.write(0, plain, 0, plain.length);
            }
            dek = f.dek(disk, null);
        }
        Path keyFile = dir.resolve("dek.bin");
        Files.write(keyFile, dek);
        Path pass = dir.resolve("pass.txt");
        Files.writeString(pass, "recovery passphrase for the test");
        // cryptsetup adds a keyslot only for a volume key that matches the header's digest.
        VolumeFixture.Result add = VolumeFixture.cryptsetup(dir, "luksAddKey", "--batch-mode", "--key-size", "512", "--volume-key-file",
                keyFile.toString(), "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", disk.toString(),
                pass.toString());
        assertEquals(0, add.exit(), add.err());
        Path dumped = dir.resolve("dumped.bin");
        VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", "--dump-volume-key", "--batch-mode",
                "--key-file", pass.toString(), "--volume-key-file", dumped.toString(), disk.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertArrayEquals(dek, Files.readAllBytes(dumped));

        Path plainFile = dir.resolve("plain.img");
        Files.write(plainFile, plain);
        Path dataArea = dir.resolve("data.img");
        try (RandomAccessFile raf = new RandomAccessFile(disk.toFile(), "r")) {
            byte[] area = new byte[(int) size];
            raf.seek(VolumeManager.DATA_OFFSET);
            raf.readFully(area);
            Files.write(dataArea, area);
        }
        VolumeFixture.Result openssl = VolumeFixture.run(dir, "python3", OPENSSL_CHECK.toString(), keyFile.toString(),
                Integer.toString(sectorSize), "0", Integer.toString(sectorSize / 512), plainFile.toString(),
                dataArea.toString());
        assertEquals(0, openssl.exit(), openssl.out() + openssl.err());
    }

    @Test
    void cryptsetupDecryptsADetachedHeaderVolumeOffline() throws Exception {
        Path data = dir.resolve("data.img");
        Path header = dir.resolve("header.img");
        long size = 8L << 20;
        byte[] plain = new byte[(int) size];
        new Random(7).nextBytes(plain);
        byte[] dek;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(data, VolumeSpec.of(size, "plat").withDetachedHeader(header))) {
                assertEquals(0, v.dataOffset());
                v.write(0, plain, 0, plain.length);
            }
            assertEquals(size, Files.size(data));
            dek = f.dek(data, header);
        }
        Path keyFile = dir.resolve("dek.bin");
        Files.write(keyFile, dek);
        Path pass = dir.resolve("pass.txt");
        Files.writeString(pass, "recovery passphrase for the test");
        VolumeFixture.Result add = VolumeFixture.cryptsetup(dir, "luksAddKey", "--batch-mode", "--key-size", "512", "--volume-key-file",
                keyFile.toString(), "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", header.toString(),
                pass.toString());
        assertEquals(0, add.exit(), add.err());
        VolumeFixture.Result decrypt = VolumeFixture.cryptsetup(dir, "reencrypt", "--decrypt", "--batch-mode",
                "--header", header.toString(), "--force-offline-reencrypt", "--key-file", pass.toString(),
                data.toString());
        assertEquals(0, decrypt.exit(), decrypt.out() + decrypt.err());
        assertTrue(Arrays.equals(plain, Files.readAllBytes(data)), "cryptsetup's decryption differs from what we"
                + " wrote");
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void stockCryptsetupOpensTheDiskWithTheRecoveryPassphrase(boolean productionKdf) throws Exception {
        Path disk = dir.resolve("disk.img");
        char[] passphrase = "a recovery passphrase for the disaster".toCharArray();
        byte[] dek;
        String kdfType;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            io.sectorcrypt.crypto.CryptoPolicy policy = io.sectorcrypt.crypto.CryptoPolicy.configured();
            io.sectorcrypt.volume.luks2.KdfParameters kdf = productionKdf ? null
                    : io.sectorcrypt.volume.luks2.KdfParameters.minimal(policy);
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "cust"), passphrase, kdf)) {
                assertEquals(java.util.List.of(0), v.info().keyslots());
                v.write(0, new byte[] {1, 2, 3}, 0, 3);
            }
            dek = f.dek(disk, null);
            kdfType = (productionKdf ? io.sectorcrypt.volume.luks2.KdfParameters.production(policy) : kdf).type()
                    .jsonName();
        }
        Path pass = dir.resolve("pass.txt");
        Files.writeString(pass, new String(passphrase));
        VolumeFixture.Result dumpHeader = VolumeFixture.cryptsetup(dir, "luksDump", disk.toString());
        assertEquals(0, dumpHeader.exit(), dumpHeader.err());
        assertTrue(dumpHeader.out().contains("PBKDF:      " + kdfType), dumpHeader.out());
        VolumeFixture.Result test = VolumeFixture.cryptsetup(dir, "open", "--test-passphrase", "--key-file",
                pass.toString(), disk.toString());
        assertEquals(0, test.exit(), test.err());
        Path wrong = Files.writeString(dir.resolve("wrong.txt"), "not the passphrase at all");
        assertEquals(2, VolumeFixture.cryptsetup(dir, "open", "--test-passphrase", "--key-file", wrong.toString(),
                disk.toString()).exit(), "cryptsetup refuses a wrong passphrase (exit 2)");
        Path dumped = dir.resolve("dumped.bin");
        VolumeFixture.Result dump = VolumeFixture.cryptsetup(dir, "luksDump", "--dump-volume-key", "--batch-mode",
                "--key-file", pass.toString(), "--volume-key-file", dumped.toString(), disk.toString());
        assertEquals(0, dump.exit(), dump.err());
        assertArrayEquals(dek, Files.readAllBytes(dumped), "the recovery keyslot holds the DEK our envelope holds");
    }
}
