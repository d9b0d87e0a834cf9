package io.sectorcrypt.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * How often the platform takes a running thread off its core, with no queue involved: N
 * threads spin reading the clock and count the gaps. What this shows bounds the latency any
 * pipeline of N busy threads can have here.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar io.sectorcrypt.bench.Hiccups [threads] [seconds]</pre>
 */
public final class Hiccups {
    private Hiccups() {
    }

    public static void main(String[] args) throws InterruptedException {
        int threads = args.length > 0 ? Integer.parseInt(args[0]) : 1;
        long seconds = args.length > 1 ? Long.parseLong(args[1]) : 4;
        long[][] results = new long[threads][];
        List<Thread> all = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread thread = new Thread(() -> results[id] = spin(seconds), "hiccups-" + t);
            all.add(thread);
            thread.start();
        }
        for (Thread t : all) {
            t.join();
        }
        for (long[] r : results) {
            System.out.printf(Locale.ROOT, "gaps > 20 us: %d, > 200 us: %d, > 1 ms: %d; longest %.2f ms; %.2f ms"
                    + " (%.1f %%) lost in %d s%n", r[0], r[1], r[2], r[3] / 1e6, r[4] / 1e6, r[4] / (seconds * 1e7),
                    seconds);
        }
    }

    /** Counts of gaps over 20 µs, 200 µs and 1 ms, the longest gap, and the time lost in gaps over 20 µs. */
    private static long[] spin(long seconds) {
        long end = System.nanoTime() + seconds * 1_000_000_000L;
        long last = System.nanoTime();
        long over20us = 0;
        long over200us = 0;
        long over1ms = 0;
        long longest = 0;
        long lost = 0;
        while (last < end) {
            long now = System.nanoTime();
            long gap = now - last;
            if (gap > 20_000) {
                over20us++;
                lost += gap;
                if (gap > 200_000) {
                    over200us++;
                }
                if (gap > 1_000_000) {
                    over1ms++;
                }
            }
            longest = Math.max(longest, gap);
            last = now;
        }
        return new long[] {over20us, over200us, over1ms, longest, lost};
    }
}
