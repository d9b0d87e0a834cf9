package io.sectorcrypt.queue;

import java.lang.foreign.MemorySegment;

/**
 * When several queued requests can be one downcall. Only when the result is exactly what the
 * separate calls would produce and no memory rule is bent:
 * <ul>
 *   <li>same cipher (the same object, so the same key and engine), direction and sector size;</li>
 *   <li>each one's first sector follows the last one's last sector (XTS tweaks are sector
 *       numbers, so a contiguous run is one call), with no wrap past 2^64 - 1;</li>
 *   <li>native memory, contiguous in src and in dst, each side in one arena (the merged view
 *       keeps the first segment's scope, which must therefore cover all of them);</li>
 *   <li>all in place, or all out of place with the merged src and dst not overlapping;</li>
 *   <li>single-stripe requests only, and at most a stripe's bytes in total, so a run never
 *       costs more latency than a stripe does.</li>
 * </ul>
 */
final class Coalescing {
    private Coalescing() {
    }

    /** Whether a run may start with this request. */
    static boolean canLead(SectorRequest head) {
        return head.srcBytes.isNative() && head.dstBytes.isNative();
    }

    /** Whether {@code next} may join the run {@code head .. tail} of {@code runBytes} bytes. */
    static boolean canFollow(SectorRequest head, SectorRequest tail, SectorRequest next, long runBytes,
                             long maxRunBytes) {
        if (next.stripeCount != 1 || next.cipher() != head.cipher() || next.direction() != head.direction()
                || next.sectorSize() != head.sectorSize() || runBytes + next.byteCount > maxRunBytes) {
            return false;
        }
        long expectedFirst = head.cipher().ivConvention().ivAfter(tail.firstIv(), tail.sectorCount(), tail.sectorSize());
        // A run that reached IV 2^64 - 1 wraps here, and nothing may follow it.
        if (Long.compareUnsigned(expectedFirst, tail.firstIv()) <= 0 || next.firstIv() != expectedFirst) {
            return false;
        }
        MemorySegment src = next.srcBytes;
        MemorySegment dst = next.dstBytes;
        if (!src.isNative() || !dst.isNative()
                || src.address() != tail.srcBytes.address() + tail.byteCount
                || dst.address() != tail.dstBytes.address() + tail.byteCount
                || !src.scope().equals(head.srcBytes.scope()) || !dst.scope().equals(head.dstBytes.scope())) {
            return false;
        }
        boolean inPlace = head.srcBytes.address() == head.dstBytes.address();
        if (inPlace) {
            return src.address() == dst.address();
        }
        long s = head.srcBytes.address();
        long d = head.dstBytes.address();
        long total = runBytes + next.byteCount;
        return s + total <= d || d + total <= s;
    }

    /** One call over the whole run {@code head ..}, which {@link #canFollow} built. */
    @SuppressWarnings("restricted") // reinterpret: the run's memory is live and in head's scope (see above)
    static void cryptRun(SectorRequest head, long runBytes) {
        // reinterpret keeps head's scope: a downcall keeps that arena open, and canFollow made
        // sure every request of the run lives in it.
        MemorySegment src = head.srcBytes.reinterpret(runBytes);
        MemorySegment dst = head.dstBytes.reinterpret(runBytes);
        head.crypt(src, dst, head.firstIv());
    }
}
