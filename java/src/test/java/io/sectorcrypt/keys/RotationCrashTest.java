package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A rotation killed (SIGKILL) at each step of its two durable writes (new copy beside the
 * old, then the new copy alone; each write: temp written, temp synced, renamed, directory
 * synced) leaves a disk that opens with the same DEK, and the next maintenance run
 * completes the rotation.
 */
class RotationCrashTest {
    /** Two writes of four steps each. */
    static final int STEPS = 8;

    @TempDir
    Path tmp;

    static KeyManager manager(LocalKeyVault vault, Path disks) {
        KeyManager m = KeyManager.builder().vault(vault).store(new DirectoryDiskKeyStore(disks)).clock(Clock.systemUTC())
                .policy(TestVaults.policy()).build();
        m.putSet(DiskEncryptionSet.platform("set", "test-vault", "platform", "engine"));
        return m;
    }

    @Test
    void aRotationKilledAtAnyStepLeavesADiskThatOpens() throws Exception {
        for (int stopAt = 1; stopAt <= STEPS + 1; stopAt++) {
            Path dir = tmp.resolve("run-" + stopAt);
            Path disks = dir.resolve("disks");
            byte[] sealed;
            try (LocalKeyVault vault = TestVaults.local(dir, Clock.systemUTC())) {
                vault.createKey("platform", KeyType.AES_256, null);
                vault.grant("platform", "engine", Permission.all());
                try (KeyManager m = manager(vault, disks)) {
                    m.createDisk("disk", "set");
                    sealed = KeyManagerTest.seal(m.attach("disk").key());
                }
                vault.newVersion("platform");
            }

            String said = runChild(dir, stopAt);
            assertTrue(stopAt <= STEPS ? said.startsWith("AT " + stopAt + " ") : said.equals("DONE " + STEPS), said);

            try (LocalKeyVault vault = TestVaults.local(dir, Clock.systemUTC()); KeyManager m = manager(vault, disks)) {
                int version = new DirectoryDiskKeyStore(disks).read("disk").orElseThrow()
                        .layer(DiskKeys.Role.PLATFORM).current().keyVersion();
                assertTrue(version == 1 || version == 2, "opens with the old or the new version, not " + version);
                assertArrayEquals(sealed, KeyManagerTest.seal(m.attach("disk").key()), "killed at " + said);
                m.maintain();
                DiskKeys.Layer layer = new DirectoryDiskKeyStore(disks).read("disk").orElseThrow()
                        .layer(DiskKeys.Role.PLATFORM);
                assertEquals(1, layer.copies().size());
                assertEquals(2, layer.current().keyVersion());
                m.detach("disk");
                assertArrayEquals(sealed, KeyManagerTest.seal(m.attach("disk").key()));
                assertTrue(vault.auditLog().verify().intact(), "the audit log survives the kill too");
            }
        }
    }

    private static String runChild(Path dir, int stopAt) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-D" + CryptoPolicy.PROPERTY + "=" + TestVaults.policy().name());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), RotationCrashChild.class.getName(),
                dir.toString(), Integer.toString(stopAt)));
        Process child = new ProcessBuilder(cmd).redirectError(dir.resolve("child.err").toFile()).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line = out.readLine();
            if (line != null && line.startsWith("AT ")) {
                child.destroyForcibly(); // SIGKILL: no shutdown hooks, no finally blocks
            }
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not finish");
            return line == null ? "nothing; stderr: " + Files.readString(dir.resolve("child.err")) : line;
        }
    }
}
