package io.sectorcrypt.cli;

import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/** The {@code sectorcrypt} command. */
@Command(name = "sectorcrypt", versionProvider = Main.Version.class,
        description = "AES-XTS sector encryption (IEEE 1619, dm-crypt aes-xts-plain64) on a native AES-NI/VAES kernel.",
        subcommands = {SelftestCommand.class, XtsCommand.class, BenchCommand.class, KeysCommand.class,
            Main.Help.class})
public final class Main {
    // Inherited by every subcommand, however deep: one declaration, so no command can lack it.
    // (Not mixinStandardHelpOptions: its -V/--version would clash with 'keys disable --version N'.)
    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT,
            description = "Show this help message and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print version information and exit.")
    boolean version;

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

    /** {@code help [COMMAND...]}: the usage of any command, however deep ({@code help keys audit verify}). */
    @Command(name = "help", helpCommand = true,
            description = "Show the usage of a command: help [COMMAND [SUBCOMMAND...]].")
    static final class Help implements Callable<Integer> {
        @Parameters(paramLabel = "COMMAND", arity = "0..*", description = "The command, e.g. keys create.")
        String[] path = {};

        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            CommandLine target = spec.commandLine().getParent();
            for (String name : path) {
                CommandLine sub = target.getSubcommands().get(name);
                if (sub == null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "'" + target.getCommandSpec()
                            .qualifiedName() + "' has no subcommand '" + name + "'");
                }
                target = sub;
            }
            target.usage(spec.commandLine().getOut());
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
