package io.sectorcrypt.volume.luks2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.sectorcrypt.crypto.CryptoPolicy;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * cryptsetup as the oracle: it formats a small LUKS2 image file (no device-mapper needed),
 * we open its keyslot 0 from the raw JSON area and keyslot area, and compare with the volume
 * key cryptsetup itself dumps. Skips without cryptsetup, except under CI=true, where it fails
 * (ci/setup.sh installs cryptsetup-bin).
 */
class CryptsetupOracleTest {
    /** Where the primary binary header ends and its JSON area starts (LUKS2 on-disk format 2.1). */
    private static final int JSON_AREA_OFFSET = 4096;
    private static final String PASSPHRASE = "an operator's recovery passphrase";

    private static String cryptsetup;

    @TempDir
    Path dir;

    @BeforeAll
    static void findCryptsetup() {
        for (String candidate : new String[] {"/usr/sbin/cryptsetup", "/sbin/cryptsetup", "/usr/bin/cryptsetup"}) {
            if (Files.isExecutable(Path.of(candidate))) {
                cryptsetup = candidate;
                return;
            }
        }
        if ("true".equals(System.getenv("CI"))) {
            fail("CI=true but cryptsetup is missing: ci/setup.sh installs cryptsetup-bin");
        }
        assumeTrue(false, "cryptsetup is not installed (apt-get install cryptsetup-bin): skipping the oracle tests");
    }

    @Test
    @Tag("default-only")
    void opensACryptsetupArgon2idKeyslot() throws Exception {
        check(List.of("--pbkdf", "argon2id", "--pbkdf-force-iterations", "4", "--pbkdf-memory", "32",
                "--pbkdf-parallel", "1"), "argon2id");
    }

    @Test
    void opensACryptsetupPbkdf2Keyslot() throws Exception {
        check(List.of("--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000"), "pbkdf2");
    }

    @Test
    void opensACryptsetupPbkdf2Sha512KeyslotWithA256BitKey() throws Exception {
        check(List.of("--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--hash", "sha512", "--key-size",
                "256"), "pbkdf2");
    }

    private void check(List<String> kdfOptions, String kdfType) throws Exception {
        CryptoPolicy policy = CryptoPolicy.configured();
        Path image = dir.resolve("disk.img");
        Path keyFile = dir.resolve("passphrase");
        Path dumped = dir.resolve("volume.key");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        Files.writeString(keyFile, PASSPHRASE, StandardCharsets.UTF_8);
        List<String> format = new ArrayList<>(List.of(cryptsetup, "luksFormat", "--type", "luks2", "--batch-mode",
                "--key-file", keyFile.toString()));
        format.addAll(kdfOptions);
        format.add(image.toString());
        run(format);
        run(List.of(cryptsetup, "luksDump", "--dump-volume-key", "--volume-key-file", dumped.toString(),
                "--batch-mode", "--key-file", keyFile.toString(), image.toString()));
        byte[] expected = Files.readAllBytes(dumped);

        JsonNode header = readJsonArea(image);
        JsonNode keyslot = header.at("/keyslots/0");
        assertEquals(kdfType, keyslot.at("/kdf/type").asText());
        PassphraseKeyslot.Area area = PassphraseKeyslot.validate(keyslot);
        byte[] areaBytes = new byte[(int) area.size()];
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            f.seek(area.offset());
            f.readFully(areaBytes);
        }
        Luks2Digest digest = Luks2Digest.fromJson(header.at("/digests/0"));
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = PassphraseKeyslot.open(keyslot, MemorySegment.ofArray(areaBytes),
                    PASSPHRASE.toCharArray(), policy, arena);
            assertArrayEquals(expected, key.toArray(ValueLayout.JAVA_BYTE));
            assertTrue(digest.matches(key, policy));
            MemorySegment unlocked = PassphraseKeyslot.unlock(keyslot, MemorySegment.ofArray(areaBytes),
                    PASSPHRASE.toCharArray(), digest, policy, arena);
            assertArrayEquals(expected, unlocked.toArray(ValueLayout.JAVA_BYTE));
            assertThrows(WrongPassphraseException.class, () -> PassphraseKeyslot.unlock(keyslot,
                    MemorySegment.ofArray(areaBytes), (PASSPHRASE + "!").toCharArray(), digest, policy, arena));
        }
    }

    /** A test-only reader: the primary JSON area, up to its first NUL (LUKS2 on-disk format 2.2). */
    private static JsonNode readJsonArea(Path image) throws IOException {
        byte[] area = new byte[12288];
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "r")) {
            f.seek(JSON_AREA_OFFSET);
            f.readFully(area);
        }
        int end = 0;
        while (end < area.length && area[end] != 0) {
            end++;
        }
        return new ObjectMapper().readTree(new String(area, 0, end, StandardCharsets.UTF_8));
    }

    private static void run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "cryptsetup did not finish: " + command);
        assertEquals(0, p.exitValue(), "cryptsetup " + command.get(1) + " failed: " + output);
    }
}
