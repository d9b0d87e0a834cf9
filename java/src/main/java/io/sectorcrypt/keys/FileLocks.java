package io.sectorcrypt.keys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;

/**
 * An exclusive lock on a file across processes (POSIX record lock) and across threads of
 * this JVM: the JVM holds record locks per process, so two threads locking the same file
 * would otherwise collide with OverlappingFileLockException rather than wait.
 */
final class FileLocks {
    private static final ConcurrentHashMap<Path, ReentrantLock> IN_PROCESS = new ConcurrentHashMap<>();

    private FileLocks() {
    }

    interface Body<T> {
        T run() throws IOException;
    }

    static <T> T withLock(Path lockFile, Body<T> body) {
        Path key = lockFile.toAbsolutePath().normalize();
        ReentrantLock local = IN_PROCESS.computeIfAbsent(key, k -> new ReentrantLock());
        local.lock();
        try {
            if (local.getHoldCount() > 1) {
                return body.run();
            }
            try (FileChannel channel = FileChannel.open(key, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
                FileLock held = channel.lock();
                try {
                    return body.run();
                } finally {
                    held.release();
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } finally {
            local.unlock();
        }
    }
}
