package io.sectorcrypt.cli;

import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code sectorcrypt} command. */
@Command(name = "sectorcrypt", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "AES-XTS sector encryption (IEEE 1619, dm-crypt aes-xts-plain64) on a native AES-NI/VAES kernel.",
        subcommands = {SelftestCommand.class, XtsCommand.class, BenchCommand.class, KeysCommand.class,
            CommandLine.HelpCommand.class})
public final class Main {

    public static void main(String[] args) {
        System.exit(run(args));
    }

    /** Runs the command line; returns the exit code (0 ok, 1 failure, 2 usage error). */
    public static int run(String... args) {
        return run(new PrintWriter(System.out, true), new PrintWriter(System.err, true), args);
    }

    /** As {@link #run(String...)}, writing to the given streams. */
    public static int run(PrintWriter out, PrintWriter err, String... args) {
        CommandLine cli = new CommandLine(new Main());
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            // Expected failures (bad input, unreadable file) are one line; anything else is a bug.
            if (e instanceof CliException || e instanceof IllegalArgumentException
                    || e instanceof IllegalStateException || e instanceof java.io.IOException) {
                commandLine.getErr().println("sectorcrypt: " + e.getMessage());
                return 1;
            }
            throw e;
        });
        return cli.execute(args);
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = Main.class.getPackage().getImplementationVersion();
            return new String[] {"sectorcrypt " + (v == null ? "(development build)" : v)};
        }
    }
}
