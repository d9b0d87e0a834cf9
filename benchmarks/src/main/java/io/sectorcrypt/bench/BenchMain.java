package io.sectorcrypt.bench;

import io.sectorcrypt.bench.BenchRunner.Row;
import io.sectorcrypt.bench.BenchRunner.Shape;
import io.sectorcrypt.bench.AesCeiling.Width;
import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.XtsLimits;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sectorcrypt bench}: the CLI runs this class from the benchmarks jar in a JVM of its
 * own, so that JMH and its dependencies never enter the CLI jar.
 */
@Command(name = "sectorcrypt bench", description = {
    "Measure every engine, OpenSSL (EVP_aes_*_xts, IV reset per sector) and the AES ceilings in one run: JMH, one"
        + " forked JVM per row, median of 5 iterations, single thread, data in L1/L2 (one buffer reused). About"
        + " --seconds in all.",
    "Ceilings: AES-256 rounds alone (ECB, no tweak work), 4 KiB per call, at each vector width this CPU runs:"
        + " ceiling-xmm (AES-NI), ceiling-ymm and ceiling-zmm (VAES).",
    "Columns: GB/s (1e9 bytes/s); x own ceiling, against the ceiling of the engine's own width (native-aesni: xmm,"
        + " native-vaes256: ymm, native-vaes512: zmm, java: the widest); x widest ceiling; x OpenSSL (same sector"
        + " size and direction). Engines and ceilings that cannot run here follow the table as notes, with the"
        + " reason.",
    "With --threads N: the sector queue instead, on one engine (see --threads).",
    "With --volume: an encrypted volume against the plain file instead (see --volume)."})
public final class BenchMain implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = {"-h", "--help"}, usageHelp = true, description = "Show this help message and exit.")
    boolean help;

    @Option(names = "--engine", split = ",", paramLabel = "E",
            description = "Engines to measure: java, native, aesni, vaes256, vaes512 (default: all that run here).")
    List<String> engines;

    @Option(names = "--sector-size", split = ",", paramLabel = "N",
            description = "Sector sizes in bytes, " + XtsLimits.MIN_UNIT_BYTES + " .. " + XtsLimits.MAX_UNIT_BYTES
                    + " (default: 4096 and 512).")
    List<Integer> sectorSizes;

    @Option(names = "--batch", split = ",", paramLabel = "N",
            description = "Sectors per call (default: 1, and 64 for 512-byte sectors).")
    List<Integer> batches;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "30",
            description = "About how long the whole run takes (default: ${DEFAULT-VALUE}). Each row's JVM runs until the JIT"
                    + " has settled before it measures, so a short run takes longer than asked.")
    double seconds;

    @Option(names = "--json", description = "One JSON object per row instead of the table; an engine or ceiling"
            + " that cannot run here is a row of its own: {\"engine\":...,\"skipped\":\"reason\"}.")
    boolean json;

    @Option(names = "--threads", split = ",", paramLabel = "N",
            description = {"Measure the sector queue with N threads instead of the engines: throughput of 4 KiB"
                    + " and 1 MiB requests called directly from N threads, through a queue of N workers fed by one"
                    + " producer, and inline on N submitting threads (JMH); throughput per CPU-second of every"
                    + " producer and worker; and 4 KiB latency (p50/p99/p99.9) through the queue at 50 %% and 90 %%"
                    + " of its peak, open loop. N: 1 .. 1024, or a list such as 1,2."})
    List<Integer> threads;

    @Option(names = "--volume", description = {"Measure an encrypted volume against the same I/O on a plain file"
            + " instead of the engines: 2 threads, 1 MiB sequential and 4 KiB random reads and writes on 256 MiB"
            + " files in java.io.tmpdir (written in full first, so they are in the page cache and reads decrypt"
            + " real ciphertext): raw (FileChannel), raw-xts (FileChannel and the engine called directly: what a"
            + " volume could reach), the volume with its sector queue (the default) and without (withoutQueue()).",
        "All in one JVM, in short slices that take turns (--rounds rounds, the order rotating), so each round's"
            + " ratio to raw compares neighbouring seconds. x raw: the median over rounds of each round's ratio,"
            + " (minimum..maximum); per CPU-s: the same for requests per second of this process's CPU time, which"
            + " a loaded machine skews less. About --seconds, plus a few seconds to write the files."})
    boolean volume;

    @Option(names = "--rounds", paramLabel = "N", defaultValue = "5",
            description = "With --volume: rounds (default: ${DEFAULT-VALUE}).")
    int rounds;

    public static void main(String[] args) {
        System.exit(run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args));
    }

    /** Runs bench with these arguments; returns the exit code (0 ok, 1 failure, 2 usage error). */
    static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new BenchMain());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            // As the CLI: expected failures are one line; anything else is a bug.
            if (e instanceof UsageException || e instanceof IllegalArgumentException
                    || e instanceof IllegalStateException) {
                commandLine.getErr().println("sectorcrypt: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cli.execute(args);
    }

    /** A failure the user can fix; printed as one line, without a stack trace. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message, null, false, false);
        }
    }

    @Override
    public Integer call() throws Exception {
        if (volume) {
            return volume();
        }
        if (threads != null) {
            return queue();
        }
        List<Engine> chosen = chosenEngines();
        List<Shape> shapes = shapes();
        if (seconds <= 0) {
            throw new UsageException("--seconds must be positive, not " + seconds);
        }
        PrintWriter out = spec.commandLine().getOut();
        BenchRunner.Plan plan = new BenchRunner.Plan(chosen, shapes, true, true, seconds);
        Progress progress = new Progress(spec.commandLine().getErr());
        List<Row> rows = BenchRunner.run(plan, progress);
        progress.clear();
        List<Note> notes = notes(true);
        if (json) {
            rows.forEach(r -> out.println(json(r, rows)));
            notes.forEach(n -> out.println(json(n)));
        } else {
            out.println("sectorcrypt bench: " + System.getProperty("java.vm.name") + " " + Runtime.version() + ", "
                    + OpenSslXts.version() + ", 1 thread, median of 5 iterations per row");
            printTable(out, rows, notes);
        }
        out.flush();
        return 0;
    }

    /** {@code --threads}: the sector queue's rows. */
    private int queue() throws Exception {
        for (int n : threads) {
            if (n < 1 || n > 1024) {
                throw new UsageException("--threads " + n + " is outside 1 .. 1024");
            }
        }
        if (sectorSizes != null || batches != null) {
            throw new UsageException("--threads measures 4 KiB and 1 MiB requests of 4096-byte sectors; leave out"
                    + " --sector-size and --batch");
        }
        if (seconds <= 0) {
            throw new UsageException("--seconds must be positive, not " + seconds);
        }
        List<Engine> chosen = chosenEngines();
        Engine engine = engines == null ? Engine.selected() : chosen.get(0);
        if (chosen.size() > 1 && engines != null) {
            throw new UsageException("--threads measures one engine; name one with --engine, not " + engines);
        }
        PrintWriter out = spec.commandLine().getOut();
        Progress progress = new Progress(spec.commandLine().getErr());
        List<QueueBenchRunner.Row> rows = QueueBenchRunner.run(
                new QueueBenchRunner.Plan(engine, List.copyOf(threads), seconds), progress);
        progress.clear();
        List<Note> notes = notes(false);
        if (json) {
            rows.forEach(r -> out.println(queueJson(r)));
            notes.forEach(n -> out.println(json(n)));
        } else {
            printQueueTable(out, engine, rows);
            notes.forEach(n -> out.println(n.line()));
        }
        out.flush();
        return 0;
    }

    /** {@code --volume}: the volume against the plain file. */
    private int volume() throws Exception {
        if (threads != null || engines != null || sectorSizes != null || batches != null) {
            throw new UsageException("--volume measures 2 threads on the engine the library selects, 4096-byte"
                    + " sectors; leave out --threads, --engine, --sector-size and --batch");
        }
        if (rounds < 1 || rounds > 100) {
            throw new UsageException("--rounds " + rounds + " is outside 1 .. 100");
        }
        if (seconds <= 0) {
            throw new UsageException("--seconds must be positive, not " + seconds);
        }
        PrintWriter out = spec.commandLine().getOut();
        Progress progress = new Progress(spec.commandLine().getErr());
        List<VolumeInterleaved.Row> rows = VolumeInterleaved.run(new VolumeInterleaved.Plan(rounds, 256, seconds),
                progress);
        progress.clear();
        if (json) {
            rows.forEach(r -> out.println(VolumeInterleaved.json(r)));
        } else {
            printVolumeTable(out, rows, rounds);
        }
        out.flush();
        return 0;
    }

    static void printVolumeTable(PrintWriter out, List<VolumeInterleaved.Row> rows, int rounds) {
        out.println("sectorcrypt bench --volume: " + Engine.selected().id() + ", " + cpuModel() + ", "
                + Runtime.getRuntime().availableProcessors() + " cores, " + System.getProperty("java.vm.name") + " "
                + Runtime.version());
        out.println(VolumeInterleaved.THREADS + " threads, 256 MiB files in " + System.getProperty("java.io.tmpdir")
                + " (page cache), " + rounds + " interleaved round(s); median (min..max) over rounds:");
        out.printf("%-8s %-6s %-15s %26s %26s %18s %18s%n", "pattern", "op", "target", "MB/s", "IOPS (k)", "x raw",
                "per CPU-s x raw");
        for (String pattern : VolumeInterleaved.PATTERNS) {
            for (String op : VolumeInterleaved.OPS) {
                for (String target : VolumeInterleaved.TARGETS) {
                    List<VolumeInterleaved.Row> mine = VolumeInterleaved.rows(rows, pattern, op, target);
                    if (mine.isEmpty()) {
                        continue;
                    }
                    double[] mb = mine.stream().mapToDouble(r -> r.bytesPerSec() / 1e6).toArray();
                    double[] kiops = mine.stream().mapToDouble(r -> r.requestsPerSec() / 1e3).toArray();
                    boolean raw = target.equals("raw");
                    out.printf(Locale.ROOT, "%-8s %-6s %-15s %26s %26s %18s %18s%n", pattern, op, target,
                            VolumeInterleaved.Spread.of(mb).format(), VolumeInterleaved.Spread.of(kiops).format(),
                            raw ? "-" : VolumeInterleaved.Spread.of(VolumeInterleaved.ratios(rows, pattern, op, target,
                                    VolumeInterleaved.Row::requestsPerSec)).format(),
                            raw ? "-" : VolumeInterleaved.Spread.of(VolumeInterleaved.ratios(rows, pattern, op, target,
                                    VolumeInterleaved.Row::requestsPerCpuSec)).format());
                }
            }
        }
        for (String target : List.of("raw-xts", "volume", "volume-noqueue")) {
            for (String pattern : VolumeInterleaved.PATTERNS) {
                for (String op : VolumeInterleaved.OPS) {
                    double[] r = VolumeInterleaved.ratios(rows, pattern, op, target, VolumeInterleaved.Row::requestsPerSec);
                    if (r.length > 0) {
                        out.println(target + " " + (pattern.equals("seq-1m") ? "seq" : "rand-4k") + " " + op
                                + " x raw: " + VolumeInterleaved.Spread.of(r).format() + ", per CPU-s: "
                                + VolumeInterleaved.Spread.of(VolumeInterleaved.ratios(rows, pattern, op, target,
                                        VolumeInterleaved.Row::requestsPerCpuSec)).format());
                    }
                }
            }
        }
    }

    private static String cpuModel() {
        try (java.util.stream.Stream<String> lines = java.nio.file.Files.lines(java.nio.file.Path.of("/proc/cpuinfo"))) {
            return lines.filter(l -> l.startsWith("model name")).map(l -> l.substring(l.indexOf(':') + 1).trim())
                    .findFirst().orElse("unknown CPU");
        } catch (java.io.IOException | java.io.UncheckedIOException e) {
            return "unknown CPU";
        }
    }

    /** An engine or ceiling that did not run, and why: a user's only way to learn it (the library logs it at debug). */
    record Note(String engine, String reason) {
        String line() {
            return "note: " + engine + " skipped: " + reason;
        }
    }

    /** Every engine that cannot run here and, with {@code ceilings}, every ceiling width. */
    static List<Note> notes(boolean ceilings) {
        List<Note> notes = new ArrayList<>();
        for (Engine e : Engine.values()) {
            if (!e.isAvailable()) {
                notes.add(new Note(e.id(), e.unavailableReason()));
            }
        }
        if (ceilings) {
            for (Width w : Width.values()) {
                String reason = AesCeiling.unavailableReason(w);
                if (reason != null) {
                    notes.add(new Note(w.id(), reason));
                }
            }
        }
        return notes;
    }

    static void printTable(PrintWriter out, List<Row> rows, List<Note> notes) {
        out.printf("%-16s %-8s %7s %6s %8s %13s %16s %10s%n", "engine", "op", "sector", "batch", "GB/s",
                "x own ceiling", "x widest ceiling", "x OpenSSL");
        for (Row r : rows) {
            out.printf(Locale.ROOT, "%-16s %-8s %7d %6d %8.2f %13s %16s %10s%n", r.engine(), r.op(), r.sectorSize(),
                    r.batch(), r.bytesPerSec() / 1e9, ratio(r.bytesPerSec(), ownCeiling(r, rows)),
                    ratio(r.bytesPerSec(), widestCeiling(rows)), ratio(r.bytesPerSec(), openssl(r, rows)));
        }
        notes.forEach(n -> out.println(n.line()));
    }

    static String json(Row r, List<Row> rows) {
        return String.format(Locale.ROOT, "{\"engine\":\"%s\",\"op\":\"%s\",\"sectorSize\":%d,\"batch\":%d,"
                + "\"threads\":%d,\"bytesPerSec\":%.4g,\"xOwnCeiling\":%s,\"xWidestCeiling\":%s}", r.engine(), r.op(),
                r.sectorSize(), r.batch(), r.threads(), r.bytesPerSec(), jsonRatio(r.bytesPerSec(), ownCeiling(r, rows)),
                jsonRatio(r.bytesPerSec(), widestCeiling(rows)));
    }

    static String json(Note n) {
        return "{\"engine\":\"" + n.engine() + "\",\"skipped\":\"" + jsonEscape(n.reason()) + "\"}";
    }

    /**
     * The ceiling of a row's own width: native-aesni xmm, native-vaes256 ymm, native-vaes512 zmm,
     * java the widest (the JDK's AES intrinsics choose their own width), a ceiling itself; NaN
     * for OpenSSL or where that ceiling was not measured.
     */
    static double ownCeiling(Row r, List<Row> rows) {
        Width width = null;
        for (Width w : Width.values()) {
            if (r.engine().equals(w.id()) || r.engine().equals(w.engine().id())) {
                width = w;
            }
        }
        if (width != null) {
            return ceiling(width, rows);
        }
        return r.engine().equals(Engine.JAVA.id()) ? widestCeiling(rows) : Double.NaN;
    }

    /** The ceiling of the widest width measured in this run; NaN if none was. */
    static double widestCeiling(List<Row> rows) {
        double widest = Double.NaN;
        for (Width w : Width.values()) {
            double c = ceiling(w, rows);
            if (!Double.isNaN(c)) {
                widest = c;
            }
        }
        return widest;
    }

    private static double ceiling(Width w, List<Row> rows) {
        return rows.stream().filter(c -> c.engine().equals(w.id())).mapToDouble(Row::bytesPerSec).findFirst()
                .orElse(Double.NaN);
    }

    private static double openssl(Row r, List<Row> rows) {
        return rows.stream().filter(o -> o.engine().equals("openssl") && o.op().equals(r.op())
                && o.sectorSize() == r.sectorSize()).mapToDouble(Row::bytesPerSec).findFirst().orElse(Double.NaN);
    }

    private static String jsonRatio(double value, double reference) {
        return Double.isNaN(reference) ? "null" : String.format(Locale.ROOT, "%.3f", value / reference);
    }

    private static String jsonEscape(String s) {
        StringBuilder b = new StringBuilder();
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }

    static String queueJson(QueueBenchRunner.Row r) {
        return String.format(Locale.ROOT, "{\"engine\":\"%s\",\"op\":\"%s\",\"sectorSize\":%d,\"batch\":%d,"
                + "\"threads\":%d,\"producers\":%d,\"bytesPerSec\":%.4g,\"requestsPerSec\":%.4g,\"cpuCores\":%.3f,"
                + "\"load\":%.2f,\"p50Nanos\":%d,\"p99Nanos\":%d,\"p999Nanos\":%d}", r.engine(), r.op(), r.sectorSize(),
                r.batch(), r.threads(), r.producers(), r.bytesPerSec(), r.requestsPerSec(), r.cpuCores(), r.load(),
                r.p50Nanos(), r.p99Nanos(), r.p999Nanos());
    }

    private static void printQueueTable(PrintWriter out, Engine engine, List<QueueBenchRunner.Row> rows) {
        out.println("sectorcrypt bench --threads: " + engine.id() + ", " + Runtime.getRuntime().availableProcessors()
                + " cores, " + System.getProperty("java.vm.name") + " " + Runtime.version());
        out.println("Throughput (JMH, median of 5 iterations); x direct = against direct calls on as many threads:");
        out.printf("%-8s %7s %8s %10s %8s %9s%n", "path", "threads", "request", "req/s", "GB/s", "x direct");
        for (QueueBenchRunner.Row r : rows) {
            if (r.op().equals("direct") || r.op().equals("queue") || r.op().equals("inline")) {
                double direct = find(rows, "direct", r.threads(), r.requestBytes());
                out.printf(Locale.ROOT, "%-8s %7d %8s %10.0f %8.2f %9s%n", r.op(), r.threads(), size(r.requestBytes()),
                        r.requestsPerSec(), r.bytesPerSec() / 1e9, ratio(r.bytesPerSec(), direct));
            }
        }
        out.println("Per CPU-second of every producer and worker (closed loop, 4 KiB):");
        out.printf("%-11s %7s %9s %8s %7s %11s %9s%n", "path", "threads", "producers", "GB/s", "cores", "GB/s/core",
                "x direct");
        for (QueueBenchRunner.Row r : rows) {
            if (r.op().endsWith("-cpu")) {
                QueueBenchRunner.Row direct = rows.stream().filter(d -> d.op().equals("direct-cpu")
                        && d.threads() == r.threads()).findFirst().orElseThrow();
                out.printf(Locale.ROOT, "%-11s %7d %9d %8.2f %7.2f %11.2f %9s%n", r.op(), r.threads(), r.producers(),
                        r.bytesPerSec() / 1e9, r.cpuCores(), r.bytesPerSec() / r.cpuCores() / 1e9,
                        ratio(r.bytesPerSec() / r.cpuCores(), direct.bytesPerSec() / direct.cpuCores()));
            }
        }
        out.println("Latency of 4 KiB requests through the queue (open loop, from the scheduled send; 1 producer):");
        out.printf("%-8s %5s %10s %10s %10s %10s%n", "workers", "load", "req/s", "p50 us", "p99 us", "p99.9 us");
        for (QueueBenchRunner.Row r : rows) {
            if (r.op().equals("queue-latency")) {
                out.printf(Locale.ROOT, "%-8d %4.0f%% %10.0f %10.1f %10.1f %10.1f%n", r.threads(), r.load() * 100,
                        r.requestsPerSec(), r.p50Nanos() / 1e3, r.p99Nanos() / 1e3, r.p999Nanos() / 1e3);
            }
        }
    }

    private static double find(List<QueueBenchRunner.Row> rows, String op, int threads, int requestBytes) {
        return rows.stream().filter(r -> r.op().equals(op) && r.threads() == threads
                && r.requestBytes() == requestBytes).mapToDouble(QueueBenchRunner.Row::bytesPerSec).findFirst()
                .orElse(Double.NaN);
    }

    private static String size(int bytes) {
        return bytes >= 1 << 20 ? (bytes >> 20) + " MiB" : (bytes >> 10) + " KiB";
    }

    private static String ratio(double value, double reference) {
        return Double.isNaN(reference) ? "-" : String.format(Locale.ROOT, "%.2f", value / reference);
    }

    private List<Engine> chosenEngines() {
        if (engines == null) {
            return Arrays.stream(Engine.values()).filter(Engine::isAvailable).toList();
        }
        List<Engine> list = new ArrayList<>();
        for (String name : engines) {
            Engine e = Engine.parse(name);
            if (!e.isAvailable()) {
                throw new UsageException("engine " + e.id() + " cannot run here: " + e.unavailableReason());
            }
            if (!list.contains(e)) {
                list.add(e);
            }
        }
        return list;
    }

    /** Default: 4096-byte sectors (both directions), 512-byte one per call and 64 per call (encrypt). */
    private List<Shape> shapes() {
        List<Integer> sizes = sectorSizes == null ? List.of(4096, 512) : sectorSizes;
        List<Shape> shapes = new ArrayList<>();
        for (int size : sizes) {
            String problem = XtsLimits.sectorSizeProblem(size);
            if (problem != null) {
                throw new UsageException("--sector-size: " + problem);
            }
            List<Integer> perCall = batches != null ? batches : size <= 512 ? List.of(1, 64) : List.of(1);
            for (int batch : perCall) {
                if (batch < 1 || (long) batch * size > (64L << 20)) {
                    throw new UsageException("--batch " + batch + " must be at least 1 and at most 64 MiB of sectors per call");
                }
                boolean both = sectorSizes != null || batches != null || size == 4096;
                shapes.add(new Shape(size, batch, both ? List.of("encrypt", "decrypt") : List.of("encrypt")));
            }
        }
        return shapes;
    }

    /**
     * Set by {@code sectorcrypt bench}, which runs this program and knows whether its stderr
     * (inherited here) is a terminal.
     */
    static final String PROGRESS_PROPERTY = "sectorcrypt.bench.progress";

    /** The row being measured, on one self-erasing line, when stderr is a terminal. */
    private static final class Progress implements java.util.function.Consumer<String> {
        private final PrintWriter err;
        private final boolean terminal = Boolean.getBoolean(PROGRESS_PROPERTY);

        Progress(PrintWriter err) {
            this.err = err;
        }

        @Override
        public void accept(String step) {
            if (terminal) {
                err.print("\r\033[Kbench: " + step);
                err.flush();
            }
        }

        void clear() {
            if (terminal) {
                err.print("\r\033[K");
                err.flush();
            }
        }
    }
}
