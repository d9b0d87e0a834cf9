package io.sectorcrypt.cli;

import io.sectorcrypt.xts.SectorCipher;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;

/**
 * Streams a raw image through a {@link SectorCipher}: a fixed buffer of whole sectors at a
 * time, so memory stays flat on images of any size. The output appears under its name only
 * once complete and durable (written to a temporary file beside it, fsynced, renamed, the
 * directory fsynced); on any failure, and on SIGINT or SIGTERM ({@link TempFiles}), the
 * temporary file is removed and nothing is left.
 */
final class ImageConverter {
    /** Big enough that each downcall covers many sectors; small enough to stay in L2/L3 on the way through. */
    static final int BUFFER_BYTES = 4 << 20;

    private final SectorCipher cipher;
    private final int sectorSize;
    private final boolean encrypt;

    ImageConverter(SectorCipher cipher, int sectorSize, boolean encrypt) {
        this.cipher = cipher;
        this.sectorSize = sectorSize;
        this.encrypt = encrypt;
    }

    /**
     * Converts {@code in} into {@code out}. An existing {@code out} is replaced keeping its
     * permissions, owner and group (through a symbolic link, the file it names is replaced); {@code out} may be
     * {@code in} itself only with {@code inPlace}, and {@code inPlace} requires that.
     */
    void convert(Path in, Path out, long firstSector, boolean inPlace, ProgressBar progress) throws IOException {
        if (Files.isDirectory(in)) {
            throw new CliException("IN " + in + " is a directory, not an image");
        }
        if (Files.isDirectory(out)) {
            throw new CliException("OUT " + out + " is a directory");
        }
        try (FileChannel src = open(in)) {
            long total;
            try {
                total = Files.isRegularFile(in) ? src.size() : -1;
            } catch (IOException e) {
                throw Main.cannot("read IN", in, e);
            }
            if (total >= 0) {
                checkWholeSectors(in, total);
                checkSectorRange(cipher, firstSector, total / sectorSize, sectorSize);
            }
            if (Files.isSymbolicLink(out) && !Files.exists(out)) {
                // Renaming onto the link would replace the link itself, not create what it names.
                throw new CliException("OUT " + out + " is a symbolic link to " + readLink(out) + ", which does not"
                        + " exist: name the file to write itself");
            }
            Path target = out;
            PosixFileAttributes replaced = null;
            boolean same = false;
            int links = 1;
            try {
                if (Files.exists(out)) {
                    same = Files.isSameFile(in, out);
                    target = out.toRealPath();
                    replaced = Files.readAttributes(target, PosixFileAttributes.class);
                    links = (Integer) Files.getAttribute(target, "unix:nlink");
                }
            } catch (IOException e) {
                throw Main.cannot("write OUT", out, e);
            }
            Set<PosixFilePermission> mode = replaced == null ? null : replaced.permissions();
            if (mode != null && !Files.isRegularFile(target)) {
                // The rename would put a file where a device or pipe was (/dev/null, a disk): never that.
                throw new CliException("OUT " + out + " is not a regular file: the output is a new image file"
                        + " that replaces OUT whole, so OUT must be a file or not exist");
            }
            if (same && !inPlace) {
                throw new CliException("OUT " + out + " is the same file as IN " + in + ": the conversion would replace"
                        + " it; give --in-place to do that on purpose");
            }
            if (same && links > 1) {
                // The new file takes the name; the other names would keep the old bytes (the plaintext).
                throw new CliException("--in-place: IN " + in + " has " + links + " hard links, and only this name"
                        + " would get the converted image: the other links would keep the old contents");
            }
            if (inPlace && !same) {
                throw new CliException("--in-place converts a file into itself, but OUT " + out
                        + " is not the same file as IN " + in);
            }
            Path dir = target.toAbsolutePath().getParent();
            if (!Files.isDirectory(dir)) {
                throw new CliException("cannot write OUT " + out + ": its folder " + dir
                        + (Files.exists(dir) ? " is not a folder" : " does not exist"));
            }
            Path temp;
            try {
                temp = TempFiles.create(dir, "." + target.getFileName() + ".", ".part");
            } catch (IOException e) {
                throw Main.cannot("write OUT", out, e);
            }
            boolean done = false;
            try {
                long bytes = copy(src, in, temp, out, firstSector, total, progress);
                if (total < 0) {
                    checkWholeSectors(in, bytes);
                }
                try {
                    if (replaced != null) {
                        Files.setPosixFilePermissions(temp, mode);
                        PosixFileAttributeView view = Files.getFileAttributeView(temp, PosixFileAttributeView.class);
                        view.setOwner(replaced.owner());
                        view.setGroup(replaced.group());
                    }
                    Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                    TempFiles.release(temp);
                    done = true;
                    fsyncDirectory(dir);
                } catch (IOException e) {
                    throw Main.cannot("write OUT", out, e);
                }
            } finally {
                if (!done) {
                    TempFiles.delete(temp);
                }
                progress.finish();
            }
        }
    }

    private static Path readLink(Path link) {
        try {
            return Files.readSymbolicLink(link);
        } catch (IOException e) {
            throw Main.cannot("write OUT", link, e);
        }
    }

    private long copy(FileChannel src, Path in, Path temp, Path out, long firstSector, long total,
            ProgressBar progress) {
        try (Arena arena = Arena.ofConfined();
             FileChannel dst = openTemp(temp, out)) {
            MemorySegment buffer = arena.allocate(BUFFER_BYTES, 4096);
            ByteBuffer io = buffer.asByteBuffer();
            long iv = firstSector;
            long bytes = 0;
            while (true) {
                io.clear();
                try {
                    while (io.hasRemaining() && src.read(io) >= 0) {
                        // fill the buffer completely unless the input ends
                    }
                } catch (IOException e) {
                    throw Main.cannot("read IN", in, e);
                }
                int n = io.position();
                if (n == 0) {
                    break;
                }
                if (n % sectorSize != 0) {
                    throw new CliException("input ends in a partial sector: " + (bytes + n) + " bytes is not a whole"
                            + " number of " + sectorSize + "-byte sectors");
                }
                checkSectorRange(cipher, firstSector, (bytes + n) / sectorSize, sectorSize);
                MemorySegment chunk = buffer.asSlice(0, n);
                if (encrypt) {
                    cipher.encrypt(chunk, chunk, iv, sectorSize);
                } else {
                    cipher.decrypt(chunk, chunk, iv, sectorSize);
                }
                io.flip();
                try {
                    while (io.hasRemaining()) {
                        dst.write(io);
                    }
                } catch (IOException e) {
                    throw Main.cannot("write OUT", out, e);
                }
                iv = cipher.ivConvention().ivAfter(iv, n / sectorSize, sectorSize);
                bytes += n;
                progress.update(bytes, total);
            }
            try {
                dst.force(true);
            } catch (IOException e) {
                throw Main.cannot("write OUT", out, e);
            }
            return bytes;
        } catch (IOException closing) {
            throw Main.cannot("write OUT", out, closing);
        }
    }

    private static FileChannel openTemp(Path temp, Path out) throws IOException {
        try {
            return FileChannel.open(temp, StandardOpenOption.WRITE);
        } catch (IOException e) {
            throw Main.cannot("write OUT", out, e);
        }
    }

    private static FileChannel open(Path in) throws IOException {
        try {
            return FileChannel.open(in, StandardOpenOption.READ);
        } catch (IOException e) {
            throw Main.cannot("read IN", in, e);
        }
    }

    private void checkWholeSectors(Path in, long bytes) {
        if (bytes % sectorSize != 0) {
            throw new CliException("IN " + in + " is " + bytes + " bytes, not a whole number of " + sectorSize
                    + "-byte sectors");
        }
    }

    /** The library's rule for a run of IVs, reported against the option that set its start. */
    static void checkSectorRange(SectorCipher cipher, long firstSector, long sectors, int sectorSize) {
        try {
            cipher.ivConvention().checkRun(firstSector, sectors, sectorSize);
        } catch (IllegalArgumentException e) {
            throw new CliException("--first-sector " + Long.toUnsignedString(firstSector) + ": " + e.getMessage());
        }
    }

    /** Makes the rename durable: on Linux a directory opened read-only can be fsynced. */
    private static void fsyncDirectory(Path dir) throws IOException {
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        }
    }
}
