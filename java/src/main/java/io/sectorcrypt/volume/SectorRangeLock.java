package io.sectorcrypt.volume;

import java.util.concurrent.locks.StampedLock;

/**
 * Locks ranges of sectors: writers exclusively, readers shared. A read-modify-write of a
 * partial sector holds its range from the read to the write, so two writers to one sector
 * never lose an update (what Ceph calls a protected read-modify-write), and a reader never
 * sees a sector half-written.
 *
 * <p>The volume is cut into blocks of {@value #BLOCK_BYTES} bytes, block b guarded by stripe
 * b mod {@value #STRIPES}: two I/Os that share a sector share a stripe and so exclude each
 * other (I/Os that merely share a stripe wait too, harmlessly and rarely). A range takes its
 * stripes in ascending order, so no two ranges can deadlock. A 4 KiB I/O takes one
 * uncontended lock and a 1 MiB I/O sixteen, where one monitor for all ranges made every I/O
 * of every thread meet on it.
 */
final class SectorRangeLock {
    static final int STRIPES = 1024;
    static final int BLOCK_BYTES = 64 * 1024;

    private final StampedLock[] stripes = new StampedLock[STRIPES];
    private final long sectorsPerBlock;

    SectorRangeLock(int sectorSize) {
        this.sectorsPerBlock = Math.max(1, BLOCK_BYTES / sectorSize);
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new StampedLock();
        }
    }

    /** A held range; release it exactly once. */
    final class Range implements AutoCloseable {
        private final int from;
        private final int count;
        private final boolean exclusive;
        private final long[] stamps;

        private Range(int from, int count, boolean exclusive) {
            this.from = from;
            this.count = count;
            this.exclusive = exclusive;
            this.stamps = new long[count];
        }

        /** The k-th stripe in ascending order (the range may wrap past the last stripe). */
        private int stripe(int k) {
            int wrapped = from + count - STRIPES; // stripes 0 .. wrapped-1 come first when > 0
            return wrapped > 0 ? (k < wrapped ? k : from + k - wrapped) : from + k;
        }

        @Override
        public void close() {
            for (int k = count - 1; k >= 0; k--) {
                int i = stripe(k);
                if (exclusive) {
                    stripes[i].unlockWrite(stamps[k]);
                } else {
                    stripes[i].unlockRead(stamps[k]);
                }
            }
        }
    }

    /** Waits until sectors {@code first..last} (inclusive) can be held, then holds them. */
    Range lock(long first, long last, boolean exclusive) {
        long firstBlock = first / sectorsPerBlock;
        long blocks = last / sectorsPerBlock - firstBlock + 1;
        Range r = blocks >= STRIPES ? new Range(0, STRIPES, exclusive)
                : new Range((int) Long.remainderUnsigned(firstBlock, STRIPES), (int) blocks, exclusive);
        for (int k = 0; k < r.count; k++) {
            int i = r.stripe(k);
            r.stamps[k] = exclusive ? stripes[i].writeLock() : stripes[i].readLock();
        }
        return r;
    }
}
