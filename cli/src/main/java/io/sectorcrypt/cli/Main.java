package io.sectorcrypt.cli;

import io.sectorcrypt.keys.KeyVaultException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.Locale;
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
        subcommands = {SelftestCommand.class, XtsCommand.class, BenchCommand.class, KeysCommand.class, SetCommand.class,
            VolumeCommand.class, ServeCommand.class,
            Main.Help.class})
public final class Main {
    // Inherited by every subcommand, however deep: one declaration, so no command can lack it.
    // (Not mixinStandardHelpOptions: its -V/--version would clash with 'keys disable --version N'.)
    @Option(names = {"-h", "--help"}, usageHelp = true, scope = ScopeType.INHERIT,
            description = "Show this help message and exit.")
    boolean help;

    @Option(names = {"-V", "--version"}, versionHelp = true, description = "Print version information and exit.")
    boolean version;

    /**
     * The library logs what a server operator wants to see (a disk resumed, a rotation done);
     * a command prints its own result, so only warnings reach the terminal, unless a logging
     * configuration is given. Held here: JUL keeps loggers weakly.
     */
    private static final java.util.logging.Logger LIBRARY_LOG = java.util.logging.Logger.getLogger("io.sectorcrypt");

    static {
        if (System.getProperty("java.util.logging.config.file") == null
                && System.getProperty("java.util.logging.config.class") == null) {
            LIBRARY_LOG.setLevel(java.util.logging.Level.WARNING);
        }
    }

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
        // bench's options, --help included, belong to the benchmark program it runs.
        CommandLine.Model.CommandSpec bench = cli.getSubcommands().get("bench").getCommandSpec();
        bench.remove(bench.findOption("--help"));
        cli.setOut(out);
        cli.setErr(err);
        cli.setExecutionExceptionHandler((e, commandLine, parseResult) -> {
            String message = message(e);
            if (message == null) {
                throw e; // anything else is a bug: its stack trace is wanted
            }
            commandLine.getErr().println("sectorcrypt: " + message);
            return 1;
        });
        return cli.execute(args);
    }

    /**
     * The one place a failure becomes the line the user reads: the message of an expected
     * failure (bad input, a file that cannot be read or written), or null for a bug.
     */
    static String message(Throwable e) {
        if (e instanceof UncheckedIOException u) {
            IOException io = u.getCause();
            // A message of our own ("cannot open X") says which file and what for; else the path
            // is the exception's own.
            return u.getMessage() == null || u.getMessage().equals(io.toString()) ? describe(io)
                    : u.getMessage() + ": " + cause(io);
        }
        if (e instanceof IOException io) {
            return describe(io);
        }
        if (e instanceof CliException || e instanceof KeyVaultException || e instanceof IllegalArgumentException
                || e instanceof IllegalStateException) {
            return e.getMessage();
        }
        return null;
    }

    /**
     * An I/O failure as "PATH: what happened" when the exception knows the path; callers that
     * know which argument the path came from say so first (see {@link #cannot}).
     */
    static String describe(IOException e) {
        if (e instanceof FileSystemException f && f.getFile() != null) {
            return f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + cause(e);
        }
        return cause(e);
    }

    /** What happened, without the path: "no such file", "no space left on device", ... */
    static String cause(IOException e) {
        if (e instanceof NoSuchFileException) {
            return "no such file or directory";
        }
        if (e instanceof AccessDeniedException) {
            return "permission denied";
        }
        if (e instanceof FileAlreadyExistsException) {
            return "already exists";
        }
        if (e instanceof NotDirectoryException) {
            return "not a directory";
        }
        if (e instanceof DirectoryNotEmptyException) {
            return "directory not empty";
        }
        String text = e instanceof FileSystemException f ? f.getReason() : e.getMessage();
        if (text == null || text.isBlank()) {
            return e.getClass().getSimpleName();
        }
        // The OS's strerror text ("No space left on device"), in the case of the rest of the line.
        return text.substring(0, 1).toLowerCase(Locale.ROOT) + text.substring(1);
    }

    /** "cannot write OUT /x/y.img: no space left on device": the argument, its path, what happened. */
    static CliException cannot(String action, Path path, IOException e) {
        return new CliException("cannot " + action + " " + path + ": " + cause(e), e);
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
        public Integer call() throws Exception {
            CommandLine target = spec.commandLine().getParent();
            for (String name : path) {
                CommandLine sub = target.getSubcommands().get(name);
                if (sub == null) {
                    throw new CommandLine.ParameterException(spec.commandLine(), "'" + target.getCommandSpec()
                            .qualifiedName() + "' has no subcommand '" + name + "'");
                }
                target = sub;
            }
            if (target.getCommand() instanceof BenchCommand bench) {
                // bench's usage is the benchmark program's own (see run()).
                return bench.runBenchmarks(java.util.List.of("--help"), spec.commandLine().getOut());
            }
            target.usage(spec.commandLine().getOut());
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
