package io.sectorcrypt.hctr2;

import java.lang.foreign.MemorySegment;

/**
 * One HCTR2 implementation: {@link JavaHctr2} or {@link NativeHctr2}. Callers
 * ({@link Hctr2}) have validated every argument (lengths, bounds, overlap, the sector run)
 * and hold the key open for the whole call, so an implementation checks nothing again.
 */
sealed interface Hctr2Impl permits JavaHctr2, NativeHctr2 {

    /** One message of {@code src.byteSize()} bytes (16 .. 2^24) under the given tweak (0 .. 2^24 bytes). */
    void message(boolean encrypt, Hctr2Key key, MemorySegment tweak, MemorySegment src, MemorySegment dst);

    /**
     * {@code count} messages of {@code sectorSize} bytes; message i's tweak is the 32-byte
     * dm-crypt plain64 value: {@code firstIv + i * ivStep} little-endian in bytes 0..7,
     * zeros after.
     */
    void sectors(boolean encrypt, Hctr2Key key, MemorySegment src, MemorySegment dst,
                 long firstIv, long ivStep, int sectorSize, long count);
}
