package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/**
 * One XTS implementation. Callers ({@link SectorCipher}) have validated every argument:
 * sizes, bounds, overlap, sector range, and hold the key open for the whole call.
 */
sealed interface XtsImpl permits NativeXts, JavaXts {

    /**
     * {@code count} units of {@code unitSize} bytes; unit i's tweak is {@code firstIv + i * ivStep}
     * as a little-endian number (dm-crypt plain64; the step is {@link IvConvention#ivStep}).
     */
    void crypt(boolean encrypt, XtsKey key, MemorySegment src, MemorySegment dst,
               long firstIv, long ivStep, int unitSize, long count);

    /**
     * As {@link #crypt}, on heap arrays: {@code count * unitSize} bytes from {@code src[srcOff..]}
     * to {@code dst[dstOff..]}. A separate entry so the Java engine never wraps arrays in
     * segments, which escape into its (large, not inlined) body and cost an allocation per call.
     */
    void cryptArrays(boolean encrypt, XtsKey key, byte[] src, int srcOff, byte[] dst, int dstOff,
                     long firstIv, long ivStep, int unitSize, long count);

    /**
     * As {@link #crypt}, on direct buffers: {@code count * unitSize} bytes from {@code src}'s
     * index {@code srcIndex} to {@code dst}'s index {@code dstIndex} (the same buffer and index
     * for in place); positions are the caller's. A separate entry for the same reason as
     * {@link #cryptArrays}: no segment view made before the call to escape into it.
     */
    void cryptBuffers(boolean encrypt, XtsKey key, ByteBuffer src, int srcIndex, ByteBuffer dst, int dstIndex,
                      long firstIv, long ivStep, int unitSize, long count);

    /** One unit of {@code src.byteSize()} bytes with the caller's 16-byte tweak. */
    void cryptUnit(boolean encrypt, XtsKey key, MemorySegment tweak, MemorySegment src, MemorySegment dst);
}
