package io.sectorcrypt.cli;

import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.io.Reader;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Unmatched;

/**
 * {@code sectorcrypt bench}: runs {@code io.sectorcrypt.bench.BenchMain} from the benchmarks
 * jar in a JVM of its own, with the same arguments, this process's stdin/stdout/stderr, and
 * its exit code. JMH and its dependencies stay out of the CLI jar, which ships product code
 * only. The jar is {@value #JAR_PROPERTY} if set, else benchmarks/target/benchmarks.jar of
 * the source tree this CLI was built in.
 */
@Command(name = "bench", description = {
    "Measure every engine, OpenSSL and the AES ceilings (JMH). Runs benchmarks/target/benchmarks.jar in a JVM of"
        + " its own (./sectorcrypt builds it); `sectorcrypt bench --help` lists its options."})
final class BenchCommand implements Callable<Integer> {
    static final String JAR_PROPERTY = "sectorcrypt.benchmarks.jar";
    static final String MAIN_CLASS = "io.sectorcrypt.bench.BenchMain";
    static final String BUILD = "./mvnw -B -ntp -DskipTests -pl benchmarks -am package";

    @Spec
    CommandSpec spec;

    /**
     * Every argument after {@code bench}, options included ({@code --help} too: the options
     * are BenchMain's), passed on as given.
     */
    @Unmatched
    List<String> args = new ArrayList<>();

    @Override
    public Integer call() throws Exception {
        return runBenchmarks(args, spec.commandLine().getOut());
    }

    /** Runs BenchMain with these arguments, its standard output copied to {@code out}; its exit code. */
    int runBenchmarks(List<String> arguments, PrintWriter out) throws IOException, InterruptedException {
        Path jar = benchmarksJar();
        if (!Files.isRegularFile(jar)) {
            throw new CliException("bench runs from the benchmarks jar, " + jar + ", which is missing: build it with `"
                    + BUILD + "` in the source tree (./sectorcrypt bench builds it itself), or point -D"
                    + JAR_PROPERTY + "= at it");
        }
        List<String> command = new ArrayList<>();
        command.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        // FFM downcalls in BenchMain and the engines; JMH still uses sun.misc.Unsafe.
        command.add("--enable-native-access=ALL-UNNAMED");
        command.add("--sun-misc-unsafe-memory-access=allow");
        // The library's own settings (-Dsectorcrypt.engine=, ...) hold in the child too.
        System.getProperties().stringPropertyNames().stream().filter(k -> k.startsWith("sectorcrypt."))
                .sorted().forEach(k -> command.add("-D" + k + "=" + System.getProperty(k)));
        // The child draws its progress line on our stderr, which it inherits: tell it whether that is a terminal.
        command.add("-Dsectorcrypt.bench.progress=" + Terminal.isStderrTerminal());
        command.add("-cp");
        command.add(jar.toString());
        command.add(MAIN_CLASS);
        command.addAll(arguments);
        // Standard output goes through this command's writer (the table, or --help), so it lands
        // wherever the CLI's own output goes; input and the progress line on stderr are the child's.
        Process child = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.INHERIT)
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        // Should this JVM be stopped (SIGTERM), stop the benchmark with it.
        Thread stop = new Thread(child::destroy, "bench-stop");
        Runtime.getRuntime().addShutdownHook(stop);
        try {
            try (Reader childOut = new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)) {
                childOut.transferTo(out);
            }
            out.flush();
            return child.waitFor();
        } finally {
            try {
                Runtime.getRuntime().removeShutdownHook(stop);
            } catch (IllegalStateException shuttingDown) {
                // The hook is running or has run: nothing to undo.
            }
        }
    }

    static Path benchmarksJar() {
        String configured = System.getProperty(JAR_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            return Path.of(configured).toAbsolutePath();
        }
        // cli/target/sectorcrypt-cli.jar (or cli/target/classes) -> benchmarks/target/benchmarks.jar
        try {
            Path here = Path.of(BenchCommand.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            return here.getParent().resolve("../../benchmarks/target/benchmarks.jar").normalize();
        } catch (URISyntaxException | RuntimeException e) {
            return Path.of("benchmarks/target/benchmarks.jar").toAbsolutePath();
        }
    }
}
