package io.sectorcrypt.cli;

import io.sectorcrypt.xts.SectorCipher;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Streams a raw image through a {@link SectorCipher}: a fixed buffer of whole sectors at a
 * time, so memory stays flat on images of any size. The output appears under its name only
 * once complete and durable (written to a temporary file beside it, fsynced, renamed, the
 * directory fsynced); on any failure the temporary file is removed and nothing is left.
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

    void convert(Path in, Path out, long firstSector, ProgressBar progress) throws IOException {
        if (Files.isDirectory(out)) {
            throw new CliException("OUT " + out + " is a directory");
        }
        try (FileChannel src = open(in)) {
            long total = Files.isRegularFile(in) ? src.size() : -1;
            if (total >= 0) {
                checkWholeSectors(in, total);
                checkSectorRange(cipher, firstSector, total / sectorSize, sectorSize);
            }
            Path dir = out.toAbsolutePath().getParent();
            Path temp = Files.createTempFile(dir, "." + out.getFileName() + ".", ".part");
            boolean done = false;
            try {
                long bytes = copy(src, temp, firstSector, total, progress);
                if (total < 0) {
                    checkWholeSectors(in, bytes);
                }
                Files.move(temp, out, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                fsyncDirectory(dir);
                done = true;
            } finally {
                if (!done) {
                    Files.deleteIfExists(temp);
                }
                progress.finish();
            }
        }
    }

    private long copy(FileChannel src, Path temp, long firstSector, long total, ProgressBar progress)
            throws IOException {
        try (Arena arena = Arena.ofConfined();
             FileChannel dst = FileChannel.open(temp, StandardOpenOption.WRITE)) {
            MemorySegment buffer = arena.allocate(BUFFER_BYTES, 4096);
            ByteBuffer io = buffer.asByteBuffer();
            long iv = firstSector;
            long bytes = 0;
            while (true) {
                io.clear();
                while (io.hasRemaining() && src.read(io) >= 0) {
                    // fill the buffer completely unless the input ends
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
                while (io.hasRemaining()) {
                    dst.write(io);
                }
                iv = cipher.ivConvention().ivAfter(iv, n / sectorSize, sectorSize);
                bytes += n;
                progress.update(bytes, total);
            }
            dst.force(true);
            return bytes;
        }
    }

    private static FileChannel open(Path in) throws IOException {
        try {
            return FileChannel.open(in, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new CliException("cannot read IN " + in + ": no such file");
        } catch (AccessDeniedException e) {
            throw new CliException("cannot read IN " + in + ": permission denied");
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
