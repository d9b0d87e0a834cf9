package io.sectorcrypt.queue;

import io.sectorcrypt.xts.XtsLimits;
import java.lang.foreign.MemorySegment;

/**
 * The checks a request passes before it takes a ring slot, each failing with a message that
 * says what was wrong and what is allowed. They cover what the queue itself relies on
 * (lengths for striping, no partial overlap between stripes, memory the workers may touch);
 * the cipher checks its own rules again on every call.
 */
final class RequestChecks {
    private RequestChecks() {
    }

    /**
     * @param worker a worker thread that must be able to reach the memory, or null when the
     *               submitting thread itself does the work (inline mode)
     */
    static void check(SectorRequest r, Thread worker) {
        int sectorSize = r.sectorSize();
        long count = r.sectorCount();
        XtsLimits.checkSectorSize(sectorSize);
        if (count < 0) {
            throw new IllegalArgumentException("sector count " + count + " is negative");
        }
        if (count > Long.MAX_VALUE / sectorSize) {
            throw new IllegalArgumentException(count + " sectors of " + sectorSize + " bytes are more than 2^63 - 1"
                    + " bytes");
        }
        long bytes = count * sectorSize;
        r.cipher().ivConvention().checkRun(r.firstIv(), count, sectorSize);
        long srcSize = r.src().byteSize();
        if (srcSize < bytes) {
            throw new IllegalArgumentException("src holds " + srcSize + " bytes, fewer than the " + bytes + " bytes of "
                    + count + " sectors of " + sectorSize + " bytes");
        }
        long dstSize = r.dst().byteSize();
        if (dstSize < bytes) {
            throw new IllegalArgumentException("dst holds " + dstSize + " bytes, fewer than the " + bytes + " bytes of "
                    + count + " sectors of " + sectorSize + " bytes");
        }
        if (r.dst().isReadOnly()) {
            throw new IllegalArgumentException("dst is read-only");
        }
        if (overlapsPartly(r.src(), r.dst(), bytes)) {
            throw new IllegalArgumentException("src and dst overlap without being the same memory; pass the same"
                    + " region for in-place operation, or regions that do not overlap");
        }
        if (worker != null) {
            reachable("src", r.src(), worker);
            reachable("dst", r.dst(), worker);
        }
    }

    /**
     * Whether the first {@code bytes} of src and dst share memory without starting at the same
     * place: the output would overwrite input not yet read (by another stripe's worker, too).
     */
    static boolean overlapsPartly(MemorySegment src, MemorySegment dst, long bytes) {
        if (bytes == 0 || src.isNative() != dst.isNative()) {
            return false;
        }
        if (src.isNative()) {
            long s = src.address();
            long d = dst.address();
            return s != d && Long.compareUnsigned(s, d + bytes) < 0 && Long.compareUnsigned(d, s + bytes) < 0;
        }
        MemorySegment in = src.asSlice(0, bytes);
        MemorySegment out = dst.asSlice(0, bytes);
        return in.asOverlappingSlice(out).filter(overlap -> overlap.byteSize() != bytes).isPresent();
    }

    private static void reachable(String name, MemorySegment segment, Thread worker) {
        if (!segment.isAccessibleBy(worker)) {
            throw new IllegalArgumentException(name + " belongs to a confined arena that only its owner thread may"
                    + " use; queue workers need memory from a shared, global or automatic arena (Arena.ofShared())"
                    + " or the heap, or a queue in inline mode");
        }
    }
}
