package io.sectorcrypt.cli;

import io.sectorcrypt.bench.BenchRunner;
import io.sectorcrypt.bench.BenchRunner.Row;
import io.sectorcrypt.bench.BenchRunner.Shape;
import io.sectorcrypt.bench.OpenSslXts;
import io.sectorcrypt.xts.Engine;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "bench", description = {
    "Measure every engine, OpenSSL (EVP_aes_*_xts, IV reset per sector) and the hardware ceiling (AES rounds alone"
        + " on VAES zmm) in one run: JMH, one forked JVM per row, median of 5 iterations, single thread, data in"
        + " L1/L2 (one buffer reused). About --seconds in all.",
    "Columns: GB/s (1e9 bytes/s), x ceiling, x OpenSSL (same sector size and direction)."})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--engine", split = ",", paramLabel = "E",
            description = "Engines to measure: java, native, aesni, vaes256, vaes512 (default: all that run here).")
    List<String> engines;

    @Option(names = "--sector-size", split = ",", paramLabel = "N",
            description = "Sector sizes in bytes, 16 .. 16777216 (default: 4096 and 512).")
    List<Integer> sectorSizes;

    @Option(names = "--batch", split = ",", paramLabel = "N",
            description = "Sectors per call (default: 1, and 64 for 512-byte sectors).")
    List<Integer> batches;

    @Option(names = "--seconds", paramLabel = "S", defaultValue = "30",
            description = "About how long the whole run takes (default: ${DEFAULT-VALUE}).")
    double seconds;

    @Option(names = "--json", description = "One JSON object per row instead of the table.")
    boolean json;

    @Override
    public Integer call() throws Exception {
        List<Engine> chosen = chosenEngines();
        List<Shape> shapes = shapes();
        if (seconds <= 0) {
            throw new CliException("--seconds must be positive, not " + seconds);
        }
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        boolean terminal = Terminal.isStderrTerminal();
        BenchRunner.Plan plan = new BenchRunner.Plan(chosen, shapes, true, true, seconds);
        List<Row> rows = BenchRunner.run(plan, step -> {
            if (terminal) {
                err.print("\r\033[Kbench: " + step);
                err.flush();
            }
        });
        if (terminal) {
            err.print("\r\033[K");
            err.flush();
        }
        double ceiling = rows.stream().filter(r -> r.engine().equals("ceiling")).mapToDouble(Row::bytesPerSec)
                .findFirst().orElse(Double.NaN);
        if (json) {
            for (Row r : rows) {
                out.printf(Locale.ROOT, "{\"engine\":\"%s\",\"op\":\"%s\",\"sectorSize\":%d,\"batch\":%d,\"threads\":%d,"
                        + "\"bytesPerSec\":%.4g}%n", r.engine(), r.op(), r.sectorSize(), r.batch(), r.threads(),
                        r.bytesPerSec());
            }
        } else {
            out.println("sectorcrypt bench: " + System.getProperty("java.vm.name") + " " + Runtime.version() + ", "
                    + OpenSslXts.version() + ", 1 thread, median of 5 iterations per row");
            out.printf("%-16s %-8s %7s %6s %8s %10s %10s%n", "engine", "op", "sector", "batch", "GB/s", "x ceiling",
                    "x OpenSSL");
            for (Row r : rows) {
                double openssl = rows.stream().filter(o -> o.engine().equals("openssl") && o.op().equals(r.op())
                        && o.sectorSize() == r.sectorSize()).mapToDouble(Row::bytesPerSec).findFirst().orElse(Double.NaN);
                out.printf(Locale.ROOT, "%-16s %-8s %7d %6d %8.2f %10s %10s%n", r.engine(), r.op(), r.sectorSize(),
                        r.batch(), r.bytesPerSec() / 1e9, ratio(r.bytesPerSec(), ceiling), ratio(r.bytesPerSec(), openssl));
            }
        }
        out.flush();
        return 0;
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
                throw new CliException("engine " + e.id() + " cannot run here: " + e.unavailableReason());
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
            if (size < 16 || size > (1 << 24)) {
                throw new CliException("--sector-size " + size + " is outside 16 .. 16777216 bytes");
            }
            List<Integer> perCall = batches != null ? batches : size <= 512 ? List.of(1, 64) : List.of(1);
            for (int batch : perCall) {
                if (batch < 1 || (long) batch * size > (64L << 20)) {
                    throw new CliException("--batch " + batch + " must be at least 1 and at most 64 MiB of sectors per call");
                }
                boolean both = sectorSizes != null || batches != null || size == 4096;
                shapes.add(new Shape(size, batch, both ? List.of("encrypt", "decrypt") : List.of("encrypt")));
            }
        }
        return shapes;
    }
}
