package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Argument checks made in Java before any downcall, each with a message that says what
 * was wrong and what is allowed. The kernel checks again, but never has to refuse. The
 * buffer checks ({@link #output}, {@link #arrayRange}) serve the HCTR2 engines too; for the
 * engines, not for applications.
 */
public final class Checks {
    static final int MAX_UNIT_BYTES = XtsLimits.MAX_UNIT_BYTES;
    static final int MIN_UNIT_BYTES = XtsLimits.MIN_UNIT_BYTES;
    static final int TWEAK_BYTES = XtsLimits.TWEAK_BYTES;
    static final String PARTIAL_OVERLAP = "src and dst overlap without being the same memory; pass the same region"
            + " for in-place operation, or regions that do not overlap";

    private Checks() {
    }

    static void sectorSize(int sectorSize) {
        XtsLimits.checkSectorSize(sectorSize);
    }

    static long wholeSectors(String name, long length, int sectorSize) {
        long count = length / sectorSize; // one division: this runs on every call
        if (count * sectorSize != length) {
            throw new IllegalArgumentException(name + " is " + length + " bytes, not a whole number of "
                    + sectorSize + "-byte sectors");
        }
        return count;
    }

    static void unitLength(long length) {
        XtsLimits.checkUnitLength(length);
    }

    static void tweak(MemorySegment tweak) {
        Objects.requireNonNull(tweak, "tweak");
        if (tweak.byteSize() != TWEAK_BYTES) {
            throw new IllegalArgumentException("an XTS tweak is 16 bytes, not " + tweak.byteSize());
        }
    }

    /**
     * dst must be writable and as long as src; the two may be the same memory (in place)
     * but may not overlap otherwise: the output would overwrite input not yet read.
     */
    public static void output(MemorySegment src, MemorySegment dst) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        if (dst.byteSize() != src.byteSize()) {
            throw new IllegalArgumentException("dst is " + dst.byteSize() + " bytes but src is " + src.byteSize()
                    + "; they must be the same length");
        }
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("dst is read-only");
        }
        // Same length, so the overlap covers all of src only if dst starts where src does.
        if (src != dst && src.asOverlappingSlice(dst).filter(overlap -> overlap.byteSize() != src.byteSize()).isPresent()) {
            throw new IllegalArgumentException(PARTIAL_OVERLAP);
        }
    }

    /**
     * As {@link #output}'s overlap rule, for {@code length} bytes at two native addresses:
     * the same address (in place) or disjoint ranges.
     */
    static void noPartialOverlap(long src, long dst, long length) {
        if (src != dst && src < dst + length && dst < src + length) {
            throw new IllegalArgumentException(PARTIAL_OVERLAP);
        }
    }

    /** Offset and length within an array of the given length. */
    public static void arrayRange(String name, byte[] array, int offset, int length) {
        Objects.requireNonNull(array, name);
        if (offset < 0 || length < 0 || offset > array.length - length) {
            throw new IndexOutOfBoundsException(name + " range [" + offset + ", " + offset + " + " + length
                    + ") is outside its array of " + array.length + " bytes");
        }
    }
}
