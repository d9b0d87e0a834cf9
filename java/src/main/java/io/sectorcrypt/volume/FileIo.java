package io.sectorcrypt.volume;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * Positional I/O the volume's files need whole: a FileChannel may read or write less than
 * asked, so each call here loops until done. {@code position} is where the buffer's remaining
 * bytes go, or come from, in the file.
 */
final class FileIo {
    /** What {@link #copyUnlessZero} compares with: a chunk of zeros, its longest copy. */
    private static final MemorySegment ZEROS = Arena.global().allocate(ChangedBlockMap.CHUNK_BYTES, 4096);

    private FileIo() {
    }

    /** Reads until {@code b} is full or the file ends; returns the bytes read. */
    static int readAt(FileChannel ch, ByteBuffer b, long position) throws IOException {
        int start = b.position();
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position() - start) < 0) {
                break;
            }
        }
        return b.position() - start;
    }

    /** Writes all of {@code b}'s remaining bytes. */
    static void writeAt(FileChannel ch, ByteBuffer b, long position) throws IOException {
        int start = b.position();
        while (b.hasRemaining()) {
            ch.write(b, position + b.position() - start);
        }
    }

    /**
     * Copies {@code length} bytes (at most a chunk) from {@code from} to {@code to} through
     * {@code buf}, unless they are all zeros: a chunk stored as zeros (never written, or
     * discarded) stays a hole in the new file. Past the end of a shorter source the rest reads
     * as zeros.
     *
     * @return the bytes the source held (less than {@code length} only at its end)
     */
    static int copyUnlessZero(FileChannel from, long fromPosition, int length, ByteBuffer buf, FileChannel to,
            long toPosition) throws IOException {
        buf.clear().limit(length);
        int got = readAt(from, buf, fromPosition);
        buf.flip();
        if (got > 0 && MemorySegment.mismatch(MemorySegment.ofBuffer(buf), 0, got, ZEROS, 0, got) != -1) {
            writeAt(to, buf, toPosition);
        }
        return got;
    }
}
