package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Drives every path that logs or throws (attach, refresh, revocation, stop, resume,
 * rotation, expiry, bad wrapped keys) and checks that no captured log line, exception
 * message, event or toString carries the DEK, the key file or the audit log's key bytes.
 */
class NoKeyMaterialInLogsTest {
    @TempDir
    Path tmp;

    @Test
    void noKeyBytesAnywhere() throws Exception {
        List<String> seen = new ArrayList<>();
        Handler capture = new Handler() {
            @Override
            public void publish(LogRecord r) {
                seen.add(new java.util.logging.SimpleFormatter().format(r));
            }

            @Override
            public void flush() {
            }

            @Override
            public void close() {
            }
        };
        Logger root = Logger.getLogger("");
        Level before = root.getLevel();
        root.setLevel(Level.ALL);
        root.addHandler(capture);
        MutableClock clock = MutableClock.atTestEpoch();
        byte[] dek;
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            vault.createKey("c", KeyType.RSA_2048, clock.instant().plus(Duration.ofDays(5)));
            vault.grant("c", "set", Permission.all());
            DirectoryDiskKeyStore store = new DirectoryDiskKeyStore(tmp.resolve("disks"));
            try (KeyManager m = KeyManager.builder().vault(vault).store(store).clock(clock).policy(TestVaults.policy())
                    .listener(e -> seen.add(e.toString())).build()) {
                m.putSet(DiskEncryptionSet.customer("set", "test-vault", "c", "set"));
                m.createDisk("d", "set");
                AttachedDisk disk = m.attach("d");
                seen.add(disk.toString());
                seen.add(disk.key().toString());
                try (Arena arena = Arena.ofConfined()) {
                    WrappedKey w = store.read("d").orElseThrow().layer(DiskKeys.Role.CUSTOMER).current();
                    seen.add(w.toString());
                    MemorySegment clear = vault.unwrap("set", w, arena);
                    dek = clear.toArray(ValueLayout.JAVA_BYTE);
                    byte[] damaged = w.wrapped();
                    damaged[10] ^= 1;
                    seen.add(assertThrows(KeyVaultException.class, () -> vault.unwrap("set", new WrappedKey(
                            w.algorithm(), w.vaultId(), w.keyName(), w.keyVersion(), damaged), arena)).getMessage());
                    byte[] encoded = w.encode();
                    encoded[encoded.length - 1] ^= 1;
                    seen.add(assertThrows(InvalidWrappedKeyException.class, () -> WrappedKey.decode(encoded))
                            .getMessage());
                }
                vault.newVersion("c");
                m.maintain();
                vault.setEnabled("c", 2, false);
                clock.advance(KeyManager.DEFAULT_CACHE_TTL);
                seen.add(assertThrows(KeyUnavailableException.class, disk::key).getMessage());
                vault.setEnabled("c", 2, true);
                m.attach("d");
                m.maintain();
            }
            seen.addAll(Files.readAllLines(vault.auditLog().file()));
        } finally {
            root.removeHandler(capture);
            root.setLevel(before);
        }
        byte[] keyFile = Files.readAllBytes(tmp.resolve("vault.key"));
        assertTrue(seen.size() > 10, "the scenario produced output to check: " + seen.size());
        assertTrue(seen.stream().anyMatch(s -> s.contains("stopped")), "the stop was logged");
        for (byte[] secret : List.of(dek, keyFile, java.util.Arrays.copyOf(dek, 32),
                java.util.Arrays.copyOfRange(dek, 32, 64))) {
            for (String form : List.of(HexFormat.of().formatHex(secret), HexFormat.of().withUpperCase()
                    .formatHex(secret), Base64.getEncoder().encodeToString(secret), java.util.Arrays.toString(secret))) {
                String probe = form.substring(0, Math.min(form.length(), 16));
                for (String line : seen) {
                    assertFalse(line.contains(probe), "key material in: " + line);
                }
            }
        }
    }
}
