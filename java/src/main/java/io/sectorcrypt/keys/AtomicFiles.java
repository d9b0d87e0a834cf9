package io.sectorcrypt.keys;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Set;

/**
 * Replaces a file so that a crash at any instant leaves either the old content or the new,
 * never a mix, and so that the new content survives a power loss once this returns: write a
 * temporary file beside it, fsync it, rename it over the target (atomic on POSIX), fsync the
 * directory so the rename itself is durable.
 */
public final class AtomicFiles {
    /** A hook the crash tests use to stop a process between the steps; null otherwise. */
    static volatile StepListener stepListener;

    /** The steps of {@link #replace}, in order. */
    enum Step { TEMP_WRITTEN, TEMP_SYNCED, RENAMED, DIRECTORY_SYNCED }

    interface StepListener {
        void reached(Path target, Step step);
    }

    private AtomicFiles() {
    }

    /** Replaces {@code target} with {@code content} (a new file is made mode 0600), durably. */
    public static void replace(Path target, byte[] content) throws IOException {
        Path dir = target.toAbsolutePath().getParent();
        Path temp = dir.resolve("." + target.getFileName() + ".tmp");
        try (FileChannel out = FileChannel.open(temp, Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING), PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rw-------")))) {
            ByteBuffer buffer = ByteBuffer.wrap(content);
            while (buffer.hasRemaining()) {
                out.write(buffer);
            }
            step(target, Step.TEMP_WRITTEN);
            out.force(true);
        }
        step(target, Step.TEMP_SYNCED);
        try {
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.deleteIfExists(temp);
            throw new IOException("the file system of " + dir + " cannot rename atomically; keep vaults and key files"
                    + " on a local POSIX file system", e);
        }
        step(target, Step.RENAMED);
        syncDirectory(dir);
        step(target, Step.DIRECTORY_SYNCED);
    }

    /** Makes a directory's entries (creations, renames) durable. */
    public static void syncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }

    private static void step(Path target, Step step) {
        StepListener listener = stepListener;
        if (listener != null) {
            listener.reached(target, step);
        }
    }
}
