package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * {@code sectorcrypt bench} runs the benchmarks jar in a child JVM: arguments, output and
 * exit code pass through unchanged. Runs the CLI as a process of its own (the child writes
 * to the real stdout and stderr), from the test class path.
 */
class BenchCommandTest {

    @Test
    void passesArgumentsOutputAndExitCodeThrough() throws Exception {
        Path jar = BenchCommand.benchmarksJar();
        // In the full build (ci/test, CI=true) the benchmarks module is built before this one.
        if (!Files.isRegularFile(jar)) {
            assumeTrue(System.getenv("CI") == null, jar + " is missing (CI=true needs it)");
            assumeTrue(false, jar + " is missing: build the benchmarks module first");
        }
        Result refused = cli(List.of(), "bench", "--threads", "0");
        assertEquals(1, refused.code(), refused.toString());
        assertEquals("sectorcrypt: --threads 0 is outside 1 .. 1024", refused.err().strip());
        Result usage = cli(List.of(), "bench", "--no-such-option");
        assertEquals(2, usage.code(), usage.toString());
        assertTrue(usage.err().contains("Unknown option: '--no-such-option'"), usage.err());
        Result help = cli(List.of(), "bench", "--help");
        assertEquals(0, help.code(), help.toString());
        assertTrue(help.out().startsWith("Usage: sectorcrypt bench"), help.out());
        assertTrue(help.out().contains("--sector-size"), help.out());
    }

    @Test
    void saysHowToBuildAMissingBenchmarksJar() throws Exception {
        Result missing = cli(List.of("-D" + BenchCommand.JAR_PROPERTY + "=/nonexistent/benchmarks.jar"), "bench");
        assertEquals(1, missing.code(), missing.toString());
        assertEquals("sectorcrypt: bench runs from the benchmarks jar, /nonexistent/benchmarks.jar, which is missing:"
                + " build it with `" + BenchCommand.BUILD + "` in the source tree (./sectorcrypt bench builds it"
                + " itself), or point -D" + BenchCommand.JAR_PROPERTY + "= at it", missing.err().strip());
    }

    private record Result(int code, String out, String err) {
    }

    private static Result cli(List<String> jvmArgs, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        command.add("--enable-native-access=ALL-UNNAMED");
        command.addAll(jvmArgs);
        command.add("-cp");
        command.add(System.getProperty("java.class.path"));
        command.add(Main.class.getName());
        command.addAll(List.of(args));
        Path out = Files.createTempFile("bench-out", ".txt");
        Path err = Files.createTempFile("bench-err", ".txt");
        try {
            Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the CLI did not finish in 60 s");
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }
}
