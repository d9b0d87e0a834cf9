package io.sectorcrypt.volume.luks2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
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
 * key cryptsetup itself dumps; and the other way round, cryptsetup opens a keyslot and
 * digest of ours put in place of its own. Skips without cryptsetup, except under CI=true, where it fails
 * (ci/setup.sh installs cryptsetup-bin).
 */
class Luks2CryptsetupOracleTest {
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
    @Tag("default-only")
    void opensACryptsetupArgon2iKeyslotWithFourLanes() throws Exception {
        check(List.of("--pbkdf", "argon2i", "--pbkdf-force-iterations", "5", "--pbkdf-memory", "1024",
                "--pbkdf-parallel", "4"), "argon2i");
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

    @Test
    @Tag("default-only")
    void cryptsetupOpensOurArgon2idKeyslotAndDigest() throws Exception {
        cryptsetupOpensOurKeyslot(KdfParameters.argon2id(4, 1024, 4));
    }

    @Test
    void cryptsetupOpensOurPbkdf2KeyslotAndDigest() throws Exception {
        cryptsetupOpensOurKeyslot(KdfParameters.pbkdf2(1000));
    }

    /**
     * The write path, checked by cryptsetup: a cryptsetup image's keyslot 0 and digest 0 are
     * replaced by ours (same volume key, a new passphrase), both header copies rewritten with
     * fresh checksums; cryptsetup must then open it with the new passphrase and dump the same key.
     */
    private void cryptsetupOpensOurKeyslot(KdfParameters kdf) throws Exception {
        CryptoPolicy policy = CryptoPolicy.configured();
        Path image = dir.resolve("ours.img");
        Path keyFile = dir.resolve("passphrase");
        Path newKeyFile = dir.resolve("new-passphrase");
        Path dumped = dir.resolve("volume.key");
        Path dumpedAgain = dir.resolve("volume-again.key");
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            f.setLength(32L << 20);
        }
        Files.writeString(keyFile, PASSPHRASE, StandardCharsets.UTF_8);
        String newPassphrase = "a new recovery passphrase, set by SectorCrypt";
        Files.writeString(newKeyFile, newPassphrase, StandardCharsets.UTF_8);
        run(List.of(cryptsetup, "luksFormat", "--type", "luks2", "--batch-mode", "--key-file", keyFile.toString(),
                "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", image.toString()));
        run(List.of(cryptsetup, "luksDump", "--dump-volume-key", "--volume-key-file", dumped.toString(),
                "--batch-mode", "--key-file", keyFile.toString(), image.toString()));
        byte[] volumeKey = Files.readAllBytes(dumped);

        ObjectNode header = (ObjectNode) readJsonArea(image);
        PassphraseKeyslot.Area old = PassphraseKeyslot.validate(header.at("/keyslots/0"));
        PassphraseKeyslot ours = PassphraseKeyslot.create(MemorySegment.ofArray(volumeKey),
                newPassphrase.toCharArray(), kdf, old.offset(), policy);
        Luks2Digest digest = Luks2Digest.create(MemorySegment.ofArray(volumeKey), policy);
        ((ObjectNode) header.get("keyslots")).set("0", ours.json());
        ((ObjectNode) header.get("digests")).set("0", digest.toJson(List.of("0"), List.of("0")));
        writeHeaders(image, header, ours.area(), old.offset());

        run(List.of(cryptsetup, "open", "--test-passphrase", "--key-file", newKeyFile.toString(), image.toString()));
        run(List.of(cryptsetup, "luksDump", "--dump-volume-key", "--volume-key-file", dumpedAgain.toString(),
                "--batch-mode", "--key-file", newKeyFile.toString(), image.toString()));
        assertArrayEquals(volumeKey, Files.readAllBytes(dumpedAgain));
        // The old passphrase no longer opens anything.
        Process p = new ProcessBuilder(cryptsetup, "open", "--test-passphrase", "--key-file", keyFile.toString(),
                image.toString()).redirectErrorStream(true).start();
        p.getInputStream().readAllBytes();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        assertTrue(p.exitValue() != 0, "the replaced keyslot still opens with the old passphrase");
    }

    /**
     * A test-only writer: the JSON area of both header copies (LUKS2 on-disk format 2.1, 2.2),
     * zero-padded, with the checksum recomputed: SHA-256 over the binary header with its csum
     * field zeroed, then the JSON area.
     */
    private static void writeHeaders(Path image, JsonNode json, byte[] area, long areaOffset) throws Exception {
        try (RandomAccessFile f = new RandomAccessFile(image.toFile(), "rw")) {
            byte[] binary = new byte[4096];
            f.seek(0);
            f.readFully(binary);
            long hdrSize = java.nio.ByteBuffer.wrap(binary, 8, 8).getLong();
            byte[] text = new ObjectMapper().writeValueAsBytes(json);
            byte[] jsonArea = new byte[(int) hdrSize - 4096];
            assertTrue(text.length < jsonArea.length);
            System.arraycopy(text, 0, jsonArea, 0, text.length);
            for (long copy : new long[] {0, hdrSize}) {
                f.seek(copy);
                f.readFully(binary);
                java.util.Arrays.fill(binary, 448, 448 + 64, (byte) 0);
                java.security.MessageDigest sha = java.security.MessageDigest.getInstance("SHA-256");
                sha.update(binary);
                sha.update(jsonArea);
                System.arraycopy(sha.digest(), 0, binary, 448, 32);
                f.seek(copy);
                f.write(binary);
                f.write(jsonArea);
            }
            f.seek(areaOffset);
            f.write(area);
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
