package io.sectorcrypt.bench;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.DiskEncryptionSet;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyType;
import io.sectorcrypt.keys.LocalKeyVault;
import io.sectorcrypt.keys.Permission;
import io.sectorcrypt.volume.VolumeManager;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A throw-away local vault (key-file credentials: no passphrase KDF) with one platform key, a
 * single-layer set {@value #SET} and a DOUBLE set {@value #DOUBLE_SET} (XTS then HCTR2, both
 * under the platform key), and a volume manager over it: what the volume benchmarks need, set up in
 * milliseconds. Everything lives in one directory that {@link #close} deletes.
 */
final class BenchVolumes implements AutoCloseable {
    static final String SET = "bench";
    static final String DOUBLE_SET = "bench-double";
    private static final String VAULT_ID = "bench-vault";
    private static final String IDENTITY = "bench";

    final Path dir;
    final LocalKeyVault vault;
    final VolumeManager volumes;

    /** With {@code queue}, the manager's own sector queue (the default); without, all I/O on the caller. */
    BenchVolumes(Path dir, boolean queue) {
        this.dir = dir;
        Path keyFile = dir.resolve("vault.key");
        LocalKeyVault.createKeyFile(keyFile, CryptoPolicy.configured());
        vault = LocalKeyVault.open(dir.resolve("vault"), new LocalKeyVault.Credentials.KeyFile(keyFile),
                LocalKeyVault.Options.defaults().withOperator("bench").withNewVaultId(VAULT_ID));
        vault.createKey("platform", KeyType.AES_256, null);
        vault.grant("platform", IDENTITY, Permission.all());
        VolumeManager.Builder b = VolumeManager.builder(KeyManager.builder().vault(vault).platformKey(VAULT_ID,
                "platform", IDENTITY));
        volumes = (queue ? b : b.withoutQueue()).build();
        volumes.keys().putSet(DiskEncryptionSet.platform(SET, VAULT_ID, "platform", IDENTITY));
        volumes.keys().putSet(DiskEncryptionSet.doubleEncryption(DOUBLE_SET, VAULT_ID, "platform", IDENTITY));
    }

    /** A fresh directory under {@code parent} (the system temporary directory if null). */
    static Path tempDir(Path parent, String prefix) {
        try {
            return parent == null ? Files.createTempDirectory(prefix) : Files.createTempDirectory(parent, prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    public void close() {
        try {
            volumes.close();
        } finally {
            vault.close();
            deleteTree(dir);
        }
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
