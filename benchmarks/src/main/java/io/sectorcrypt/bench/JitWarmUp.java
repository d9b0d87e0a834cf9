package io.sectorcrypt.bench;

import java.lang.management.CompilationMXBean;
import java.lang.management.ManagementFactory;

/**
 * Runs a benchmark's operation until the JIT has stopped compiling, before JMH's own warm-up
 * iterations start. A fixed warm-up time is too short somewhere: pinned to one core
 * ({@code taskset -c 1}), C2 compiles on the core the benchmark runs on, and the {@code java}
 * engine took about 0.7 s to reach full speed where unpinned it took 0.2 s; short iterations
 * then measured interpreted code (0.06 GB/s instead of 5). Settled means no compilation
 * finished (the JVM's total compilation time stood still) for {@value #QUIET_SLICES}
 * consecutive slices of {@value #SLICE_MILLIS} ms.
 */
final class JitWarmUp {
    static final int SLICE_MILLIS = 50;
    static final int QUIET_SLICES = 4;
    /** Gives up waiting after this long: a JIT that never settles must not hang the run. */
    static final long LIMIT_MILLIS = 10_000;

    /** An operation to warm; checked exceptions pass through. */
    interface Operation {
        void run() throws Exception;
    }

    private JitWarmUp() {
    }

    /**
     * Runs {@code op} in slices until the JIT is quiet or {@link #LIMIT_MILLIS} has passed.
     *
     * @return the milliseconds it took
     * @throws Exception whatever {@code op} throws
     */
    static long untilCompiled(Operation op) throws Exception {
        CompilationMXBean jit = ManagementFactory.getCompilationMXBean();
        if (jit == null || !jit.isCompilationTimeMonitoringSupported()) {
            // No way to tell (an interpreter-only VM): JMH's warm-up iterations are all there is.
            return 0;
        }
        long start = System.nanoTime();
        long deadline = start + LIMIT_MILLIS * 1_000_000L;
        long compiled = jit.getTotalCompilationTime();
        int quiet = 0;
        while (quiet < QUIET_SLICES && System.nanoTime() < deadline) {
            long sliceEnd = System.nanoTime() + SLICE_MILLIS * 1_000_000L;
            do {
                op.run();
            } while (System.nanoTime() < sliceEnd);
            long now = jit.getTotalCompilationTime();
            quiet = now == compiled ? quiet + 1 : 0;
            compiled = now;
        }
        return (System.nanoTime() - start) / 1_000_000L;
    }
}
