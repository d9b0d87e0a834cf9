package io.sectorcrypt.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Consumer;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs {@link VolumeBench} behind {@code sectorcrypt bench --volume}: every (pattern, op) on
 * the plain file, the plain file with the engine called directly (the volume's floor), the
 * volume with its sector queue and the volume without, one JMH fork per row, the four
 * targets of one (pattern, op) back to back, and the whole set repeated for
 * {@code rounds} rounds, so that each ratio to the plain file comes from measurements minutes
 * apart at most and the spread over rounds shows how much a shared machine moved them.
 */
public final class VolumeBenchRunner {
    static final List<String> TARGETS = List.of("raw", "raw-xts", "volume", "volume-noqueue");
    static final List<String> PATTERNS = List.of("seq-1m", "rand-4k");
    static final List<String> OPS = List.of("read", "write");
    /** A fork's JVM start, vault set-up and writing the file once (256 MiB), for the time budget. */
    private static final double FORK_SECONDS = 2.0;
    private static final int ITERATIONS = 8;

    /** One fork's result: requests per second over both threads. */
    public record Row(int round, String pattern, String op, String target, int requestBytes, double requestsPerSec) {
        public double bytesPerSec() {
            return requestsPerSec * requestBytes;
        }
    }

    /** What to run; {@code seconds} is about how long the whole run may take. */
    public record Plan(int rounds, int fileMiB, double seconds) {
        int forks() {
            return rounds * TARGETS.size() * PATTERNS.size() * OPS.size();
        }

        TimeValue iterationTime() {
            double perIteration = (seconds / forks() - FORK_SECONDS) / ITERATIONS;
            return TimeValue.milliseconds(Math.max(200, Math.round(perIteration * 1000)));
        }
    }

    private VolumeBenchRunner() {
    }

    public static List<Row> run(Plan plan, Consumer<String> progress) throws RunnerException {
        TimeValue iteration = plan.iterationTime();
        List<Row> rows = new ArrayList<>();
        for (int round = 1; round <= plan.rounds(); round++) {
            for (String pattern : PATTERNS) {
                for (String op : OPS) {
                    for (String target : TARGETS) {
                        progress.accept("volume round " + round + "/" + plan.rounds() + ": " + pattern + " " + op
                                + " " + target);
                        double perSecond = BenchRunner.median(BenchRunner.options(iteration,
                                        VolumeBench.class.getName() + ".request$")
                                .threads(2)
                                .param("target", target)
                                .param("pattern", pattern)
                                .param("op", op)
                                .param("fileMiB", String.valueOf(plan.fileMiB())));
                        int bytes = pattern.equals("seq-1m") ? VolumeBench.SEQ_BYTES : VolumeBench.RAND_BYTES;
                        rows.add(new Row(round, pattern, op, target, bytes, perSecond));
                    }
                }
            }
        }
        return rows;
    }

    /** Median, minimum and maximum over rounds of one target's throughput, or of its ratio to raw. */
    record Spread(double median, double min, double max, int n) {
        static Spread of(double[] values) {
            double[] v = values.clone();
            Arrays.sort(v);
            double median = v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
            return new Spread(median, v[0], v[v.length - 1], v.length);
        }

        String format(String unit) {
            return n == 1 ? String.format(Locale.ROOT, "%.2f%s", median, unit)
                    : String.format(Locale.ROOT, "%.2f%s (%.2f..%.2f)", median, unit, min, max);
        }
    }

    /** Throughput in bytes per second of each round, for one target. */
    static double[] perRound(List<Row> rows, String pattern, String op, String target) {
        return rows.stream().filter(r -> r.pattern().equals(pattern) && r.op().equals(op)
                && r.target().equals(target)).mapToDouble(Row::bytesPerSec).toArray();
    }

    /** Each round's ratio of {@code target} to raw, each from the same round. */
    static double[] ratios(List<Row> rows, String pattern, String op, String target) {
        double[] t = perRound(rows, pattern, op, target);
        double[] raw = perRound(rows, pattern, op, "raw");
        double[] r = new double[Math.min(t.length, raw.length)];
        for (int i = 0; i < r.length; i++) {
            r[i] = t[i] / raw[i];
        }
        return r;
    }

    static String json(Row r) {
        return String.format(Locale.ROOT, "{\"volume\":\"%s\",\"pattern\":\"%s\",\"op\":\"%s\",\"round\":%d,"
                + "\"threads\":2,\"requestBytes\":%d,\"requestsPerSec\":%.4g,\"bytesPerSec\":%.4g}", r.target(),
                r.pattern(), r.op(), r.round(), r.requestBytes(), r.requestsPerSec(), r.bytesPerSec());
    }
}
