package io.sectorcrypt.volume;

import java.util.ArrayList;
import java.util.List;

/**
 * Locks ranges of sectors: writers exclusively, readers shared. A read-modify-write of a
 * partial sector holds its range from the read to the write, so two writers to one sector
 * never lose an update (what Ceph calls a protected read-modify-write), and a reader never
 * sees a sector half-written. Ranges are few at a time (one per I/O in flight), so a list
 * under one monitor is enough.
 */
final class SectorRangeLock {
    private record Held(long first, long last, boolean exclusive) {
        boolean conflicts(long f, long l, boolean ex) {
            return (ex || exclusive) && f <= last && first <= l;
        }
    }

    /** A held range; release it exactly once. */
    final class Range implements AutoCloseable {
        private final Held held;

        private Range(Held held) {
            this.held = held;
        }

        @Override
        public void close() {
            synchronized (SectorRangeLock.this) {
                ranges.remove(held);
                SectorRangeLock.this.notifyAll();
            }
        }
    }

    private final List<Held> ranges = new ArrayList<>();

    /** Waits until sectors {@code first..last} (inclusive) can be held, then holds them. */
    Range lock(long first, long last, boolean exclusive) {
        Held h = new Held(first, last, exclusive);
        boolean interrupted = false;
        synchronized (this) {
            while (conflicting(h)) {
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // an I/O in progress finishes; the caller sees the flag
                }
            }
            ranges.add(h);
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
        return new Range(h);
    }

    private boolean conflicting(Held h) {
        for (Held other : ranges) {
            if (other.conflicts(h.first, h.last, h.exclusive)) {
                return true;
            }
        }
        return false;
    }
}
