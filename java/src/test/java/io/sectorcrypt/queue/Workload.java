package io.sectorcrypt.queue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.SplittableRandom;

/**
 * A producer's share of a disk: its sectors cut into requests of mixed sizes (one sector up
 * to a few stripes), in address order or shuffled.
 */
record Workload(long firstIv, List<Chunk> chunks) {

    /** Sectors {@code first .. first + count - 1} of the disk. */
    record Chunk(long first, int count) {
    }

    static Workload cut(long firstIv, long sectors, SplittableRandom rnd, boolean shuffled) {
        return cut(firstIv, sectors, rnd, shuffled, 2048);
    }

    /** As above, with no request longer than {@code largest} sectors. */
    static Workload cut(long firstIv, long sectors, SplittableRandom rnd, boolean shuffled, int largest) {
        List<Chunk> chunks = new ArrayList<>();
        long s = firstIv;
        long end = firstIv + sectors;
        while (s < end) {
            int size = switch (rnd.nextInt(10)) {
                case 0, 1, 2, 3 -> 1;
                case 4, 5, 6 -> 2 + rnd.nextInt(15);
                case 7, 8 -> 17 + rnd.nextInt(240);
                default -> 257 + rnd.nextInt(1792);
            };
            int n = (int) Math.min(Math.min(size, largest), end - s);
            chunks.add(new Chunk(s, n));
            s += n;
        }
        if (shuffled) {
            Collections.shuffle(chunks, new java.util.Random(rnd.nextLong()));
        }
        return new Workload(firstIv, List.copyOf(chunks));
    }
}
