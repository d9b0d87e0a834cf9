package io.sectorcrypt.cli;

import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.SelfTest;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "selftest", description = "Show CPU features, the tiers that can run, the chosen engine, and run the"
        + " known-answer tests on every engine. Exits 1 if any test fails.")
final class SelftestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        SelfTest.Report report = SelfTest.run();
        out.println("CPU:          " + cpuModel());
        out.println("CPU features: " + (report.cpuFeatures().isEmpty() ? "(native kernel not loaded)"
                : String.join(" ", report.cpuFeatures())));
        out.println("Engines:");
        for (Engine e : Engine.values()) {
            String reason = report.unavailable().get(e);
            String state = reason != null ? "skipped: " + reason
                    : e.isNative() ? "available (kernel self-test passed)" : "available";
            out.printf("  %-15s %s%n", e.id(), state);
        }
        out.println("Chosen engine: " + report.selected().id());
        out.println("Known-answer tests (IEEE 1619-2007 Annex B 1-19, dm-crypt plain64 sectors), encrypt and decrypt:");
        for (SelfTest.EngineResult r : report.results()) {
            out.printf("  %-15s %2d/%d %s%n", r.engine().id(), r.passed(), r.total(),
                    r.ok() ? "PASS" : "FAIL (first: " + r.firstFailure() + ")");
        }
        out.println("Result: " + (report.ok() ? "PASS" : "FAIL"));
        out.flush();
        return report.ok() ? 0 : 1;
    }

    private static String cpuModel() {
        try {
            return Files.readAllLines(Path.of("/proc/cpuinfo")).stream().filter(l -> l.startsWith("model name"))
                    .findFirst().map(l -> l.substring(l.indexOf(':') + 1).trim()).orElse("unknown")
                    + ", " + Runtime.getRuntime().availableProcessors() + " cores";
        } catch (IOException e) {
            return System.getProperty("os.arch") + ", " + Runtime.getRuntime().availableProcessors() + " cores";
        }
    }
}
