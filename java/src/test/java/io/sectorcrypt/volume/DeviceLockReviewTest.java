package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A block device (a loop device: root only) holding an open volume whose header is detached
 * has no LUKS magic at its start, only ciphertext; creating a volume on it must respect the
 * open volume's lock, not write a header over its data.
 */
class DeviceLockReviewTest {
    @TempDir
    Path dir;
    private Path device;

    @BeforeEach
    void attachLoopDevice() throws Exception {
        Path image = dir.resolve("backing.img");
        try {
            Files.write(image, new byte[0]);
            try (var ch = java.nio.channels.FileChannel.open(image, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(0);
                ch.write(java.nio.ByteBuffer.wrap(new byte[1]), (24L << 20) - 1);
            }
            Process p = new ProcessBuilder("losetup", "-f", "--show", image.toString()).redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assumeTrue(p.waitFor(20, TimeUnit.SECONDS) && p.exitValue() == 0 && out.startsWith("/dev/loop"),
                    "needs root and losetup: " + out);
            device = Path.of(out);
        } catch (IOException e) {
            assumeTrue(false, "no losetup: " + e);
        }
    }

    @AfterEach
    void detachLoopDevice() throws Exception {
        if (device != null) {
            new ProcessBuilder("losetup", "-d", device.toString()).inheritIO().start().waitFor(20, TimeUnit.SECONDS);
        }
    }

    @Test
    void creatingOnADeviceThatAnOpenVolumeUsesIsRefused() throws Exception {
        byte[] plain = new byte[1 << 20];
        new Random(3).nextBytes(plain);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(device, VolumeSpec.of(16L << 20, "plat")
                     .withDetachedHeader(dir.resolve("header.img")))) {
            v.write(0, plain, 0, plain.length);
            v.flush();
            assertThrows(VolumeInUseException.class, () -> f.volumes.create(device, VolumeSpec.of(8L << 20, "cust"))
                    .close());
            byte[] back = new byte[plain.length];
            v.read(0, back, 0, back.length);
            assertArrayEquals(plain, back, "the open volume's data was overwritten");
        }
    }
}
