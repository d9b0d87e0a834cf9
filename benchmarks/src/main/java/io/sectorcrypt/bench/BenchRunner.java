package io.sectorcrypt.bench;

import io.sectorcrypt.bench.AesCeiling.Width;
import io.sectorcrypt.xts.Engine;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.function.Consumer;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.runner.options.VerboseMode;

/**
 * Runs the JMH benchmarks behind {@code sectorcrypt bench}: one forked JVM per row, which
 * first runs the row's operation until the JIT has settled ({@link JitWarmUp}), then three
 * warm-up and five measured iterations, and reports the median of the five, in bytes per
 * second. Rows: each engine x direction x (sector size, sectors per call), OpenSSL per
 * sector size and direction, and the AES ceiling at each vector width the CPU runs
 * ({@link AesCeiling}: ceiling-xmm, ceiling-ymm, ceiling-zmm).
 */
public final class BenchRunner {
    private static final int WARMUP = 3;
    private static final int MEASURE = 5;
    /**
     * A forked JVM's start-up, JMH set-up and {@link JitWarmUp} (about 0.3-1 s, longer pinned
     * to one core), for splitting the time budget.
     */
    private static final double FORK_SECONDS = 1.2;

    /** One measured row; engine is an {@link Engine#id()}, "openssl" or a {@link Width#id()}. */
    public record Row(String engine, String op, int sectorSize, int batch, int threads, double bytesPerSec) {
    }

    /** One (sector size, sectors per call, directions) combination to measure every engine at. */
    public record Shape(int sectorSize, int batch, List<String> ops) {
    }

    /** What to run: engines, shapes, and about how long the whole run may take. */
    public record Plan(List<Engine> engines, List<Shape> shapes, boolean openssl, boolean ceiling, double seconds) {
        int forks() {
            int n = 0;
            for (Shape s : shapes) {
                n += engines.size() * s.ops().size() + (openssl && s.batch() == 1 ? s.ops().size() : 0);
            }
            return n + (ceiling ? 2 * AesCeiling.available().size() : 0);
        }

        /** Iteration time so that forks x (warm-up + measurement) fits the budget. */
        TimeValue iterationTime() {
            double perIteration = (seconds - forks() * FORK_SECONDS) / (forks() * (WARMUP + MEASURE));
            return TimeValue.milliseconds(Math.max(50, Math.round(perIteration * 1000)));
        }
    }

    private BenchRunner() {
    }

    public static List<Row> run(Plan plan, Consumer<String> progress) throws RunnerException {
        List<Row> rows = new ArrayList<>();
        TimeValue iteration = plan.iterationTime();
        // The ceilings are measured first and last and the better run kept: every ratio
        // depends on them, so one noisy moment on a shared machine must not skew them all.
        List<Width> widths = plan.ceiling() ? AesCeiling.available() : List.of();
        double[] ceilingFirst = new double[widths.size()];
        for (int i = 0; i < widths.size(); i++) {
            ceilingFirst[i] = ceiling(widths.get(i), iteration, progress);
        }
        for (Shape shape : plan.shapes()) {
            for (Engine engine : plan.engines()) {
                for (String op : shape.ops()) {
                    progress.accept(engine.id() + " " + op + " " + shape.sectorSize() + " x " + shape.batch());
                    double callsPerSecond = median(options(iteration, XtsBenchmark.class.getName() + "." + op + "$")
                            .param("engine", engine.id())
                            .param("sectorSize", String.valueOf(shape.sectorSize()))
                            .param("batch", String.valueOf(shape.batch())));
                    rows.add(new Row(engine.id(), op, shape.sectorSize(), shape.batch(), 1,
                            callsPerSecond * shape.sectorSize() * shape.batch()));
                }
            }
            if (plan.openssl() && shape.batch() == 1) {
                for (String op : shape.ops()) {
                    progress.accept("openssl " + op + " " + shape.sectorSize());
                    double sectorsPerSecond = median(options(iteration, PeerBenchmark.class.getName() + ".sector$")
                            .param("peer", "openssl")
                            .param("sectorSize", String.valueOf(shape.sectorSize()))
                            .param("encrypt", String.valueOf(op.equals("encrypt"))));
                    rows.add(new Row("openssl", op, shape.sectorSize(), 1, 1, sectorsPerSecond * shape.sectorSize()));
                }
            }
        }
        for (int i = 0; i < widths.size(); i++) {
            double best = Math.max(ceilingFirst[i], ceiling(widths.get(i), iteration, progress));
            rows.add(new Row(widths.get(i).id(), "encrypt", 4096, 1, 1, best));
        }
        return rows;
    }

    /** AES rounds alone over 4 KiB at one width, in bytes per second. */
    private static double ceiling(Width width, TimeValue iteration, Consumer<String> progress) throws RunnerException {
        progress.accept(width.id());
        return 4096 * median(options(iteration, CeilingBenchmark.class.getName() + ".aesRounds$")
                .param("width", width.param())
                .param("bytes", "4096"));
    }

    /** Shared with {@link QueueBenchRunner}: one fork, the same iteration counts. */
    static ChainedOptionsBuilder options(TimeValue iteration, String include) {
        return new OptionsBuilder()
                .include(include)
                .forks(1)
                .warmupIterations(WARMUP)
                .warmupTime(iteration)
                .measurementIterations(MEASURE)
                .measurementTime(iteration)
                .verbosity(VerboseMode.SILENT);
    }

    /** The median of the measured iterations: robust to one noisy iteration on a shared machine. */
    static double median(ChainedOptionsBuilder options) throws RunnerException {
        Collection<RunResult> results = new Runner(options.build()).run();
        if (results.size() != 1) {
            throw new IllegalStateException("expected one JMH result, got " + results.size());
        }
        return results.iterator().next().getPrimaryResult().getStatistics().getPercentile(50);
    }
}
