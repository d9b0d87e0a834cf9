package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.volume.luks2.KdfParameters;
import io.sectorcrypt.volume.luks2.Luks2Header;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** No DEK, no half of it, no recovery passphrase in any log record, message or toString(). */
class VolumeSecretsTest {
    @TempDir
    Path dir;

    @Test
    void secretsNeverAppearInLogsMessagesOrToString() throws Exception {
        LogCapture logs = LogCapture.start();
        List<String> seen = logs.seen();
        String passphrase = "recovery passphrase that must stay secret";
        Path disk = dir.resolve("disk.img");
        byte[] dek;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "cust"), passphrase.toCharArray(),
                    KdfParameters.minimal(CryptoPolicy.configured()))) {
                seen.add(v.toString());
                seen.add(v.info().toString());
                f.vault.newVersion("customer");
                f.volumes.keys().rewrapDisk(v.diskId());
                f.vault.setEnabled("customer", 2, false);
                f.clock.advance(KeyManager.DEFAULT_CACHE_TTL.plusSeconds(1));
                seen.add(assertThrows(KeyUnavailableException.class, () -> v.read(0, new byte[1], 0, 1))
                        .getMessage());
                f.vault.setEnabled("customer", 2, true);
                v.read(0, new byte[1], 0, 1);
            }
            dek = f.dek(disk, null);
            try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ)) {
                Luks2Header h = Luks2Header.read(ch, disk.toString(), CryptoPolicy.configured());
                seen.add(h.toString());
                seen.add(h.metadata().toString());
                seen.add(h.metadata().envelope().orElseThrow().toString());
            }
            try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.WRITE)) {
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {'x'}), 5000); // both copies' JSON broken
                ch.write(java.nio.ByteBuffer.wrap(new byte[] {'x'}), 16384 + 5000);
            }
            seen.add(assertThrows(RuntimeException.class, () -> f.volumes.open(disk)).getMessage());
        } finally {
            logs.close();
        }
        assertFalse(seen.isEmpty());
        String all = String.join("\n", seen);
        assertTrue(all.contains("customer"), "the messages name the key (sanity): " + all);
        for (String secret : forms(dek)) {
            assertFalse(all.contains(secret), "a form of the DEK appears in: " + all);
        }
        assertFalse(all.contains(passphrase), "the recovery passphrase appears");
    }

    /** The key in hex (either case) and base64, and the same for each half and an 8-byte prefix. */
    static List<String> forms(byte[] key) {
        List<String> forms = new ArrayList<>();
        for (byte[] part : new byte[][] {key, java.util.Arrays.copyOf(key, 32), java.util.Arrays.copyOfRange(key, 32,
                64)}) {
            forms.add(HexFormat.of().formatHex(part));
            forms.add(HexFormat.of().withUpperCase().formatHex(part));
            forms.add(Base64.getEncoder().encodeToString(part));
            forms.add(HexFormat.of().formatHex(part, 0, 8)); // even a prefix
        }
        return forms;
    }

}
