package io.sectorcrypt.bench;

import io.sectorcrypt.xts.Engine;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the sector-queue measurements behind {@code sectorcrypt bench --threads N}, for each N:
 * <ol>
 *   <li>Throughput (JMH {@link QueueBenchmark}, median of 5 iterations, one fork per row) of
 *       4 KiB and 1 MiB requests: {@code direct} with N calling threads, {@code queue} with N
 *       workers and one producer, {@code inline} with N submitting threads.</li>
 *   <li>Throughput per CPU-second ({@link QueueLoad}, closed loop, 4 KiB): the CPU time every
 *       producer and worker used, so that a queue that needs a producer thread besides its
 *       workers is charged for it: {@code direct-cpu} and {@code queue-cpu}.</li>
 *   <li>Latency of 4 KiB requests through the queue (N workers, one producer) at 50 % and 90 %
 *       of the {@code queue-cpu} peak, open loop, from the scheduled send time:
 *       {@code queue-latency}.</li>
 * </ol>
 */
public final class QueueBenchRunner {
    static final int SMALL = 4096;
    static final int LARGE = 1 << 20;

    /**
     * One row. {@code threads} is N: calling threads (direct), workers (queue), submitting
     * threads (inline). Fields that do not apply to a row are 0.
     */
    public record Row(String engine, String op, int sectorSize, int batch, int threads, int producers,
                      double bytesPerSec, double requestsPerSec, double cpuCores, double load, long p50Nanos,
                      long p99Nanos, long p999Nanos) {
        public int requestBytes() {
            return sectorSize * batch;
        }
    }

    /** What to run; {@code seconds} is about how long the whole run may take. */
    public record Plan(Engine engine, List<Integer> threads, double seconds) {
    }

    private QueueBenchRunner() {
    }

    public static List<Row> run(Plan plan, Consumer<String> progress) throws Exception {
        // Per N: 6 JMH forks of 8 iterations, and 4 load runs of a warm-up and a measurement.
        double perN = plan.seconds() / plan.threads().size();
        double jmhShare = 0.6 * perN;
        double iterationSeconds = Math.max(0.2, (jmhShare / 6 - 0.8) / 8);
        TimeValue iteration = TimeValue.milliseconds(Math.round(iterationSeconds * 1000));
        Duration loadMeasure = Duration.ofMillis(Math.max(500, Math.round(0.4 * perN / 4 * 1000 * 0.7)));
        Duration loadWarmup = Duration.ofMillis(Math.max(300, loadMeasure.toMillis() / 2));
        List<Row> rows = new ArrayList<>();
        String engine = plan.engine().id();
        for (int n : plan.threads()) {
            for (int bytes : new int[] {SMALL, LARGE}) {
                for (String path : new String[] {"direct", "queue", "inline"}) {
                    progress.accept(path + " " + bytes + " B, " + n + " threads");
                    int jmhThreads = path.equals("queue") ? 1 : n;
                    double perSecond = BenchRunner.median(BenchRunner.options(iteration,
                                    QueueBenchmark.class.getName() + ".request$")
                            .threads(jmhThreads)
                            .param("path", path)
                            .param("workers", String.valueOf(path.equals("queue") ? n : 1))
                            .param("requestBytes", String.valueOf(bytes))
                            .param("sectorSize", String.valueOf(SMALL))
                            .param("engine", engine));
                    rows.add(new Row(engine, path, SMALL, bytes / SMALL, n, jmhThreads, perSecond * bytes, perSecond,
                            0, 0, 0, 0, 0));
                }
            }
            progress.accept("direct per CPU-second, " + n + " threads");
            QueueLoad.Result direct = QueueLoad.run(new QueueLoad.Config("direct", 0, n, SMALL, SMALL, 0, loadWarmup,
                    loadMeasure, plan.engine()));
            rows.add(loadRow(engine, "direct-cpu", n, direct, 0));
            progress.accept("queue per CPU-second, " + n + " workers");
            QueueLoad.Config queue = new QueueLoad.Config("queue", n, 1, SMALL, SMALL, 0, loadWarmup, loadMeasure,
                    plan.engine());
            QueueLoad.Result peak = QueueLoad.run(queue);
            rows.add(loadRow(engine, "queue-cpu", n, peak, 0));
            for (double load : new double[] {0.5, 0.9}) {
                progress.accept("queue latency at " + Math.round(load * 100) + " % of peak, " + n + " workers");
                QueueLoad.Result r = QueueLoad.run(queue.withRate(load * peak.requestsPerSec()));
                rows.add(loadRow(engine, "queue-latency", n, r, load));
            }
        }
        return rows;
    }

    private static Row loadRow(String engine, String op, int threads, QueueLoad.Result r, double load) {
        QueueLoad.Config c = r.config();
        return new Row(engine, op, c.sectorSize(), c.requestBytes() / c.sectorSize(), threads, c.producers(),
                r.bytesPerSec(), r.requestsPerSec(), r.cpuCores(), load, r.latency().getValueAtPercentile(50),
                r.latency().getValueAtPercentile(99), r.latency().getValueAtPercentile(99.9));
    }
}
