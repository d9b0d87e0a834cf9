package io.sectorcrypt.volume;

import io.sectorcrypt.keys.AtomicFiles;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * How a file made under a hidden name gets its real one: never replacing a file that is there,
 * and durably. Volumes, imports and exports appear at their path only when complete.
 */
public final class VolumeFiles {
    private VolumeFiles() {
    }

    /** A hidden sibling of {@code target} for work in progress: {@code .NAME.WHAT}. */
    public static Path hiddenBeside(Path target, String what) {
        Path abs = target.toAbsolutePath();
        return abs.resolveSibling("." + abs.getFileName() + "." + what);
    }

    /**
     * Gives the finished {@code tmp} the name {@code target} (a hard link, then the hidden
     * name removed; a plain rename where the file system has no hard links), then syncs the
     * directory.
     *
     * @throws IllegalArgumentException if {@code target} exists (it appeared meanwhile): left alone
     * @throws IOException on an I/O error
     */
    public static void publish(Path tmp, Path target) throws IOException {
        try {
            Files.createLink(target, tmp);
            Files.delete(tmp);
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException(target + " appeared meanwhile; it was not replaced");
        } catch (UnsupportedOperationException e) {
            Files.move(tmp, target); // refuses an existing target too
        }
        AtomicFiles.syncDirectory(target.toAbsolutePath().getParent());
    }

    /**
     * Grows a file to {@code length} bytes, sparse, and syncs it: a FileChannel grows a file
     * by writing past its end, so one zero byte goes at the new last position.
     */
    static void extend(FileChannel ch, long length) throws IOException {
        if (ch.size() < length) {
            ch.write(ByteBuffer.wrap(new byte[1]), length - 1);
        }
        ch.force(true);
    }

    /**
     * Refuses a new file named as a volume's changed-block map or snapshot catalogue: the
     * volume it sits beside would replace it (a map commit renames over it) or fail to read it.
     */
    static void checkNotSidecar(Path path, String what) {
        String n = String.valueOf(path.getFileName());
        if (n.endsWith(ChangedBlockMap.SUFFIX) || n.endsWith(SnapshotCatalog.SUFFIX)) {
            throw new IllegalArgumentException(what + " " + path + " is named as a volume's " + (n.endsWith(
                    ChangedBlockMap.SUFFIX) ? "changed-block map" : "snapshot catalogue") + ", which its volume"
                    + " replaces or reads as its own; choose another name");
        }
    }

    /** Refuses a path whose directory does not exist, naming what the path is for. */
    static void checkDirectory(Path path, String what) {
        Path dir = path.toAbsolutePath().getParent();
        if (dir == null || !Files.isDirectory(dir)) {
            throw new IllegalArgumentException("the directory of " + what + " " + path + " does not exist");
        }
    }
}
