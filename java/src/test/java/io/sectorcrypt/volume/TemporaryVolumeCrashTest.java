package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test after kill -9: a child JVM holding two normal volumes and a temporary disk
 * writes a recognisable plaintext over the temporary disk, flushes, says READY and goes on
 * writing; the parent kills it (SIGKILL: no shutdown hook, no close) at a random moment and
 * reads the file with every key the system still holds: nothing but noise. The same keys
 * decrypt the normal volumes to the plaintext, so the checks can fail.
 *
 * <p>The seed (printed) makes the kill delays and the child's writes reproducible:
 * {@code -Dsectorcrypt.crash.seed=N}. Default execution only, like {@link VolumeCrashTest}:
 * what a kill tests does not depend on the crypto policy, and the child JVMs take time.
 */
@Tag("default-only")
class TemporaryVolumeCrashTest {
    static final long SEED = Long.getLong("sectorcrypt.crash.seed", System.nanoTime());
    static final int[] SECTOR_SIZES = {4096, 512, 2048};

    @TempDir
    Path dir;

    @Test
    void aTemporaryDiskReadAfterKill9IsNoiseUnderEveryKeyTheSystemHolds() throws Exception {
        System.out.println("TemporaryVolumeCrashTest seed " + SEED);
        Path a = dir.resolve(TemporaryVolumeCrashChild.A);
        Path b = dir.resolve(TemporaryVolumeCrashChild.B);
        Path temporary = dir.resolve(TemporaryVolumeCrashChild.TEMPORARY);
        byte[] pattern = TemporaryDiskForensics.pattern(1 << 20);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume va = f.volumes.create(a, VolumeSpec.of(1 << 20, "plat"));
             EncryptedVolume vb = f.volumes.create(b, VolumeSpec.of(1 << 20, "cust"))) {
            va.write(0, pattern, 0, pattern.length);
            vb.write(0, pattern, 0, pattern.length);
        }
        Random kills = new Random(SEED);
        for (int round = 0; round < SECTOR_SIZES.length; round++) {
            int sectorSize = SECTOR_SIZES[round];
            long delayMs = kills.nextInt(300);
            Process child = start(sectorSize, SEED * 31 + round);
            try (VolumeFixture f = new VolumeFixture(dir)) {
                assertEquals(temporary + " is in use by another process", assertThrows(VolumeInUseException.class,
                        () -> f.volumes.open(temporary)).getMessage());
                Thread.sleep(delayMs);
                if (!child.isAlive()) {
                    fail("the child died by itself: " + Files.readString(dir.resolve("child.err")));
                }
                child.destroyForcibly(); // SIGKILL
                assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not die");

                List<byte[]> keys = TemporaryDiskForensics.keysHeld(f, a, b);
                TemporaryDiskForensics.assertDecryptsToPlaintext(a, keys.get(0), 1 << 20);
                TemporaryDiskForensics.assertDecryptsToPlaintext(b, keys.get(2), 1 << 20);
                TemporaryDiskForensics.assertOnlyNoise(temporary, TemporaryVolumeCrashChild.SIZE, sectorSize, keys);
                // The dead process's lock is gone; the file is nobody's volume.
                assertEquals(temporary + " is not a LUKS2 disk: no LUKS header at its start", assertThrows(
                        Luks2FormatException.class, () -> f.volumes.open(temporary)).getMessage());
            }
            Files.delete(temporary); // what the service does with a dead process's temporary disks
            System.out.println("  round " + round + ": " + sectorSize + "-byte sectors, killed " + delayMs
                    + " ms after READY");
        }
    }

    /** Starts the child and waits until it says READY (the plaintext written and flushed). */
    private Process start(int sectorSize, long seed) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-D" + CryptoPolicy.PROPERTY + "=" + CryptoPolicy.configured().name());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), TemporaryVolumeCrashChild.class.getName(),
                dir.toString(), Integer.toString(sectorSize), Long.toString(seed)));
        Path err = dir.resolve("child.err");
        Process child = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8));
        String line = out.readLine(); // blocks until the child is ready, or dead
        if (!"READY".equals(line)) {
            child.destroyForcibly();
            fail("the child did not get ready (" + line + "): " + Files.readString(err));
        }
        return child;
    }
}
