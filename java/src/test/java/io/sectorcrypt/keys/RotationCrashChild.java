package io.sectorcrypt.keys;

import java.nio.file.Path;
import java.time.Clock;

/**
 * Child JVM of {@link RotationCrashTest}: rotates the test disk's key and, on reaching
 * step {@code args[1]} of writing the disk's key file, says so and waits to be killed.
 */
public final class RotationCrashChild {
    private RotationCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int stopAt = Integer.parseInt(args[1]);
        Path disks = dir.resolve("disks").toAbsolutePath().normalize();
        int[] reached = {0};
        AtomicFiles.stepListener = (target, step) -> {
            if (!target.toAbsolutePath().normalize().getParent().equals(disks)) {
                return;
            }
            reached[0]++;
            if (reached[0] == stopAt) {
                System.out.println("AT " + stopAt + " " + step);
                System.out.flush();
                try {
                    Thread.sleep(Long.MAX_VALUE);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        };
        try (LocalKeyVault vault = TestVaults.local(dir, Clock.systemUTC());
                KeyManager manager = RotationCrashTest.manager(vault, disks)) {
            manager.maintain();
        }
        System.out.println("DONE " + reached[0]);
    }
}
