package io.sectorcrypt.volume;

import java.util.concurrent.locks.StampedLock;

/**
 * Locks ranges of sectors: writers exclusively, readers shared. A read-modify-write of a
 * partial sector holds its range from the read to the write, so two writers to one sector
 * never lose an update (what Ceph calls a protected read-modify-write), and a reader never
 * sees a sector half-written.
 *
 * <p>Sector s is guarded by stripe s mod {@value #STRIPES}: two I/Os that share a sector share
 * a stripe and so exclude each other (I/Os that merely share a stripe wait too, harmlessly). A
 * range takes its stripes in ascending order, so no two ranges can deadlock; a 4 KiB I/O
 * takes one uncontended lock, where one monitor for all ranges made every I/O of every
 * thread meet on it.
 */
final class SectorRangeLock {
    static final int STRIPES = 64;

    private final StampedLock[] stripes = new StampedLock[STRIPES];

    SectorRangeLock() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new StampedLock();
        }
    }

    /** A held range; release it exactly once. */
    final class Range implements AutoCloseable {
        private final long mask;
        private final boolean exclusive;
        private final long[] stamps = new long[STRIPES];

        private Range(long mask, boolean exclusive) {
            this.mask = mask;
            this.exclusive = exclusive;
        }

        @Override
        public void close() {
            for (long m = mask; m != 0; m &= m - 1) {
                int i = Long.numberOfTrailingZeros(m);
                if (exclusive) {
                    stripes[i].unlockWrite(stamps[i]);
                } else {
                    stripes[i].unlockRead(stamps[i]);
                }
            }
        }
    }

    /** Waits until sectors {@code first..last} (inclusive) can be held, then holds them. */
    Range lock(long first, long last, boolean exclusive) {
        long mask = 0;
        if (last - first + 1 >= STRIPES) {
            mask = -1L;
        } else {
            for (long s = first; s <= last; s++) {
                mask |= 1L << (int) Long.remainderUnsigned(s, STRIPES);
            }
        }
        Range r = new Range(mask, exclusive);
        for (long m = mask; m != 0; m &= m - 1) {
            int i = Long.numberOfTrailingZeros(m);
            r.stamps[i] = exclusive ? stripes[i].writeLock() : stripes[i].readLock();
        }
        return r;
    }
}
