package io.sectorcrypt.volume;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.DiskEncryptionSet;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyType;
import io.sectorcrypt.keys.LocalKeyVault;
import io.sectorcrypt.keys.Permission;
import io.sectorcrypt.volume.luks2.Luks2Header;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;

/**
 * A vault with a platform key and a customer RSA key, a volume manager over it with a
 * settable clock and the sets "plat", "cust" and "dbl" (DOUBLE), and the cryptsetup oracle.
 */
final class VolumeFixture implements AutoCloseable {
    static final String VAULT_ID = "test-vault";
    static final String IDENTITY = "volumes";

    /** A clock tests move forward by hand. */
    static final class SettableClock extends Clock {
        private volatile Instant now = Instant.parse("2026-11-30T12:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    final Path dir;
    final SettableClock clock = new SettableClock();
    final LocalKeyVault vault;
    final VolumeManager volumes;

    VolumeFixture(Path dir) {
        this(dir, b -> b);
    }

    VolumeFixture(Path dir, java.util.function.UnaryOperator<VolumeManager.Builder> tune) {
        this.dir = dir;
        Path keyFile = dir.resolve("vault.key");
        if (!Files.exists(keyFile)) {
            LocalKeyVault.createKeyFile(keyFile, CryptoPolicy.configured());
        }
        vault = LocalKeyVault.open(dir.resolve("vault"), new LocalKeyVault.Credentials.KeyFile(keyFile),
                LocalKeyVault.Options.defaults().withPolicy(CryptoPolicy.configured()).withClock(clock)
                        .withOperator("admin").withNewVaultId(VAULT_ID));
        if (vault.list().isEmpty()) {
            vault.createKey("platform", KeyType.AES_256, null);
            vault.grant("platform", IDENTITY, Permission.all());
            vault.createKey("customer", KeyType.RSA_2048, null);
            vault.grant("customer", IDENTITY, Permission.all());
        }
        volumes = tune.apply(VolumeManager.builder(KeyManager.builder().vault(vault).clock(clock)
                .policy(CryptoPolicy.configured()).platformKey(VAULT_ID, "platform", IDENTITY))
                .reattachInterval(Duration.ZERO)).build();
        volumes.keys().putSet(DiskEncryptionSet.platform("plat", VAULT_ID, "platform", IDENTITY));
        volumes.keys().putSet(DiskEncryptionSet.customer("cust", VAULT_ID, "customer", IDENTITY));
        // DOUBLE: the customer key wraps the inner XTS layer, the platform key the outer HCTR2 one.
        volumes.keys().putSet(DiskEncryptionSet.doubleEncryption("dbl", VAULT_ID, "customer", IDENTITY));
    }

    /** The DEK of a volume, unwrapped from its token through the vault: the test's own oracle. */
    byte[] dek(Path volume, Path header) throws IOException {
        try (FileChannel ch = FileChannel.open(header == null ? volume : header, StandardOpenOption.READ);
             Arena arena = Arena.ofConfined()) {
            DiskKeys keys = Luks2Header.read(ch, "t", CryptoPolicy.configured()).metadata().envelope().orElseThrow();
            MemorySegment dek = vault.unwrap(IDENTITY, keys.layers().get(0).current(), arena);
            return dek.toArray(ValueLayout.JAVA_BYTE);
        }
    }

    @Override
    public void close() {
        volumes.close();
        vault.close();
    }

    // -- cryptsetup ----------------------------------------------------------------------

    static Path cryptsetup() {
        for (String p : new String[] {"/usr/sbin/cryptsetup", "/sbin/cryptsetup", "/usr/bin/cryptsetup"}) {
            if (Files.isExecutable(Path.of(p))) {
                return Path.of(p);
            }
        }
        if ("true".equals(System.getenv("CI"))) {
            throw new AssertionError("cryptsetup is missing: ci/setup.sh installs cryptsetup-bin");
        }
        Assumptions.abort("cryptsetup is not installed (Debian cryptsetup-bin); skipping the oracle");
        return null;
    }

    record Result(int exit, String out, String err) {
    }

    static Result run(Path workDir, String... command) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(command));
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(workDir.toFile());
        Path out = Files.createTempFile(workDir, "out", ".txt");
        Path err = Files.createTempFile(workDir, "err", ".txt");
        pb.redirectOutput(out.toFile()).redirectError(err.toFile());
        Process p = pb.start();
        if (!p.waitFor(120, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd);
        }
        Result r = new Result(p.exitValue(), Files.readString(out), Files.readString(err));
        Files.delete(out);
        Files.delete(err);
        return r;
    }

    static Result cryptsetup(Path workDir, String... args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(cryptsetup().toString());
        cmd.addAll(List.of(args));
        return run(workDir, cmd.toArray(String[]::new));
    }
}
