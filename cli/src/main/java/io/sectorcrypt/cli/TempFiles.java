package io.sectorcrypt.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * Temporary files removed on every way out: the caller deletes its file on an error; a
 * shutdown hook deletes every live one when the JVM exits on SIGINT (Ctrl-C), SIGTERM or
 * System.exit while a conversion runs. Only SIGKILL or a crash can leave one behind.
 */
final class TempFiles {
    private static final Set<Path> LIVE = new LinkedHashSet<>();
    private static boolean exiting;

    static {
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("sectorcrypt-temp-cleanup").unstarted(
                TempFiles::removeAll));
    }

    private TempFiles() {
    }

    /** A new empty file (mode 0600) in {@code dir}, deleted at exit unless {@link #release}d first. */
    static synchronized Path create(Path dir, String prefix, String suffix) throws IOException {
        if (exiting) {
            throw new IOException("the command is being stopped");
        }
        Path temp = Files.createTempFile(dir, prefix, suffix);
        LIVE.add(temp);
        return temp;
    }

    /** A path the caller is about to create: deleted at exit unless {@link #release}d first. */
    static synchronized void register(Path temp) {
        LIVE.add(temp);
    }

    /** Deletes {@code temp} now. */
    static synchronized void delete(Path temp) throws IOException {
        LIVE.remove(temp);
        Files.deleteIfExists(temp);
    }

    /** {@code temp} was renamed to its final name: no longer removed at exit. */
    static synchronized void release(Path temp) {
        LIVE.remove(temp);
    }

    private static synchronized void removeAll() {
        exiting = true;
        for (Path temp : LIVE) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException | RuntimeException e) {
                // Exiting: nothing more can be done; the path is in the (hidden) name pattern.
            }
        }
        LIVE.clear();
    }
}
