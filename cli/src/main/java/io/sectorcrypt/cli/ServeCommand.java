package io.sectorcrypt.cli;

import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.keys.LocalKeyVault;
import io.sectorcrypt.server.NbdExport;
import io.sectorcrypt.server.NbdServer;
import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.VolumeInUseException;
import io.sectorcrypt.volume.VolumeInfo;
import io.sectorcrypt.volume.VolumeManager;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.URLEncoder;
import java.net.UnixDomainSocketAddress;
import java.net.UnknownHostException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code sectorcrypt serve}: the volumes named by {@code --export} and temporary disks made by
 * {@code --temp}, over NBD until SIGTERM or SIGINT, which stops accepting, answers the
 * requests in flight, flushes and closes every volume and deletes the temporary disks.
 */
@Command(name = "serve", description = "Serve encrypted volumes over NBD (the Network Block Device protocol) to"
        + " qemu, nbdcopy, nbdinfo, fio and other NBD clients, until SIGTERM or SIGINT (Ctrl-C). Prints one line per"
        + " export with its URI.")
final class ServeCommand implements Callable<Integer> {
    /** The NBD port IANA assigned ("Introduction" of the NBD protocol). */
    static final int NBD_PORT = 10809;
    static final String READ_ONLY_SUFFIX = ":ro";
    /** How long the shutdown hook waits for the volumes to close after the server did. */
    private static final long SHUTDOWN_WAIT_SECONDS = 60;

    @Mixin
    KeysCommand.VaultOptions vault;

    @Spec
    CommandSpec spec;

    @Option(names = "--listen", paramLabel = "ADDR:PORT",
            description = "TCP address to listen on (default 127.0.0.1:" + NBD_PORT + "; port 0: any free port)."
                    + " An address other than loopback needs --allow-remote.")
    String listen;

    @Option(names = "--socket", paramLabel = "PATH", description = "Listen on a Unix domain socket instead of TCP"
            + " (PATH must not exist; it is removed at exit).")
    Path socket;

    @Option(names = "--allow-remote", description = "Allow --listen on an address other hosts can reach. NBD has no"
            + " authentication here: whoever reaches the port reads and writes the exported disks.")
    boolean allowRemote;

    @Option(names = "--export", paramLabel = "NAME=VOLUME[:ro]",
            description = "Export the volume at VOLUME as NAME (read-only with :ro). Repeatable.")
    List<String> exports = new ArrayList<>();

    @Option(names = "--temp", paramLabel = "NAME=SIZE",
            description = "Export a new temporary disk of SIZE (64M, 1G, ...) as NAME: its key lives only in memory,"
                    + " and it is deleted at exit. Repeatable.")
    List<String> temps = new ArrayList<>();

    @Option(names = "--temp-dir", paramLabel = "DIR", description = "Where temporary disks live (default: the"
            + " system's temporary directory).")
    Path tempDir;

    @Option(names = "--max-connections", paramLabel = "N", defaultValue = "" + NbdServer.DEFAULT_MAX_CONNECTIONS,
            description = "Clients served at once (default ${DEFAULT-VALUE}); more are refused.")
    int maxConnections;

    @Option(names = "--key-cache-ttl", paramLabel = "DURATION", defaultValue = "1h",
            description = "How long an unwrapped disk key is used before the vault is asked again (default"
                    + " ${DEFAULT-VALUE}; 30s, 5m, 2h, or ISO-8601 such as PT30S): a disabled, deleted or expired key"
                    + " stops its exports at most this long after, and key maintenance runs every quarter of it.")
    String keyCacheTtl;

    private Duration cacheTtl;

    private record ExportSpec(String name, Path path, boolean readOnly) {
    }

    private record TempSpec(String name, long size) {
    }

    private SocketAddress address;
    private final List<ExportSpec> exportSpecs = new ArrayList<>();
    private final List<TempSpec> tempSpecs = new ArrayList<>();

    @Override
    public Integer call() {
        vault.with(this::check, null, v -> {
            serve(v);
            return null;
        });
        return 0;
    }

    /** Every argument, before the vault is unlocked. */
    private void check() {
        if (exports.isEmpty() && temps.isEmpty()) {
            throw new CliException("nothing to serve: give --export NAME=VOLUME or --temp NAME=SIZE");
        }
        if (maxConnections < 1) {
            throw new CliException("--max-connections must be at least 1, not " + maxConnections);
        }
        cacheTtl = duration("--key-cache-ttl", keyCacheTtl);
        address = address();
        Set<String> names = new HashSet<>();
        for (String e : exports) {
            int eq = e.indexOf('=');
            if (eq <= 0 || eq == e.length() - 1) {
                throw new CliException("--export '" + e + "' is not NAME=VOLUME[:ro]");
            }
            String name = checkName("--export", e.substring(0, eq), names);
            String volume = e.substring(eq + 1);
            boolean readOnly = volume.endsWith(READ_ONLY_SUFFIX);
            Path path = Path.of(readOnly ? volume.substring(0, volume.length() - READ_ONLY_SUFFIX.length()) : volume);
            if (!Files.exists(path)) {
                throw new CliException("--export " + name + ": " + path + ": no such file or directory");
            }
            exportSpecs.add(new ExportSpec(name, path, readOnly));
        }
        for (String t : temps) {
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw new CliException("--temp '" + t + "' is not NAME=SIZE");
            }
            String name = checkName("--temp", t.substring(0, eq), names);
            tempSpecs.add(new TempSpec(name, Sizes.parse("--temp " + name, t.substring(eq + 1))));
        }
        if (tempDir != null && !Files.isDirectory(tempDir)) {
            throw new CliException("--temp-dir " + tempDir + ": not a directory");
        }
    }

    /** A positive duration: a number with ms, s, m, h or d, or ISO-8601 ({@code PT30S}). */
    static Duration duration(String option, String text) {
        Duration d = null;
        try {
            if (text.startsWith("P") || text.startsWith("p")) {
                d = Duration.parse(text);
            } else {
                java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d{1,9})(ms|s|m|h|d)").matcher(text);
                if (m.matches()) {
                    long n = Long.parseLong(m.group(1));
                    d = switch (m.group(2)) {
                        case "ms" -> Duration.ofMillis(n);
                        case "s" -> Duration.ofSeconds(n);
                        case "m" -> Duration.ofMinutes(n);
                        case "h" -> Duration.ofHours(n);
                        default -> Duration.ofDays(n);
                    };
                }
            }
        } catch (java.time.format.DateTimeParseException e) {
            d = null;
        }
        if (d == null || d.isNegative() || d.isZero()) {
            throw new CliException(option + " '" + text + "' is not a positive duration (30s, 5m, 1h, PT30S)");
        }
        return d;
    }

    private static String checkName(String option, String name, Set<String> names) {
        if (!names.add(name)) {
            throw new CliException(option + ": two exports are named '" + name + "'");
        }
        if (name.getBytes(StandardCharsets.UTF_8).length > 4096 || name.indexOf('\0') >= 0) {
            throw new CliException(option + ": an export name is at most 4096 bytes of UTF-8, without NUL");
        }
        return name;
    }

    private SocketAddress address() {
        if (socket != null) {
            if (listen != null) {
                throw new CliException("give --listen or --socket, not both");
            }
            if (allowRemote) {
                throw new CliException("--allow-remote is for --listen: a Unix socket is local");
            }
            if (Files.exists(socket, LinkOption.NOFOLLOW_LINKS)) {
                throw new CliException("--socket " + socket + " exists: remove it first (a server still running?)");
            }
            return UnixDomainSocketAddress.of(socket);
        }
        String text = listen == null ? "127.0.0.1:" + NBD_PORT : listen;
        int colon = text.lastIndexOf(':');
        if (colon <= 0) {
            throw new CliException("--listen '" + text + "' is not ADDR:PORT (e.g. 127.0.0.1:10809, [::1]:10809)");
        }
        String host = text.substring(0, colon);
        if (host.startsWith("[") && host.endsWith("]")) {
            host = host.substring(1, host.length() - 1);
        }
        int port;
        try {
            port = Integer.parseInt(text.substring(colon + 1));
        } catch (NumberFormatException e) {
            port = -1;
        }
        if (port < 0 || port > 65535) {
            throw new CliException("--listen '" + text + "': the port must be 0 to 65535");
        }
        InetAddress ip;
        try {
            ip = InetAddress.getByName(host);
        } catch (UnknownHostException e) {
            throw new CliException("--listen '" + text + "': unknown host " + host, e);
        }
        if (!ip.isLoopbackAddress() && !allowRemote) {
            throw new CliException("--listen " + text + " is reachable from other hosts, and NBD has no authentication"
                    + " here: add --allow-remote if that is what you want");
        }
        return new InetSocketAddress(ip, port);
    }

    private void serve(LocalKeyVault v) {
        PrintWriter out = spec.commandLine().getOut();
        List<EncryptedVolume> opened = new ArrayList<>();
        List<Path> tempFiles = new ArrayList<>();
        CountDownLatch cleanedUp = new CountDownLatch(1);
        ScheduledExecutorService maintenance = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform()
                .daemon().name("sectorcrypt-key-maintenance").unstarted(r));
        try (VolumeManager volumes = VolumeManager.builder(SetCommand.keyManager(v).policy(vault.cryptoPolicy())
                .cacheTtl(cacheTtl))
                .policy(vault.cryptoPolicy()).build()) {
            NbdServer.Builder builder = NbdServer.builder().maxConnections(maxConnections);
            for (ExportSpec e : exportSpecs) {
                VolumeInfo info = VolumeManager.inspect(e.path(), null);
                if (info.setId() != null) {
                    VolumeCommand.VolumeSubcommand.register(v, volumes, info.setId(), "named by the header of "
                            + e.path());
                }
                EncryptedVolume vol = volumes.open(e.path(), null, e.readOnly());
                opened.add(vol);
                builder.export(new NbdExport(e.name(), e.path().getFileName() + (e.readOnly() ? " (read-only)" : ""),
                        vol));
            }
            Path dir = tempDir != null ? tempDir : Path.of(System.getProperty("java.io.tmpdir"));
            for (TempSpec t : tempSpecs) {
                Path file = dir.resolve(".sectorcrypt-serve-" + UUID.randomUUID() + ".tmp");
                TempFiles.register(file); // gone at exit, whatever happens
                tempFiles.add(file);
                EncryptedVolume vol = volumes.createTemporary(file, t.size());
                opened.add(vol);
                builder.export(new NbdExport(t.name(), "temporary disk", vol));
            }
            NbdServer server = builder.build();
            SocketAddress bound;
            try {
                bound = server.listen(address);
            } catch (RuntimeException e) {
                server.close(); // its worker threads
                throw e;
            }
            volumes.keys().startMaintenance(maintenance);
            // SIGTERM and SIGINT run shutdown hooks: this one closes the server, then waits for
            // this thread to close the volumes, so the JVM exits only once all is flushed.
            Thread hook = Thread.ofPlatform().name("sectorcrypt-serve-shutdown").unstarted(() -> {
                try {
                    server.close();
                } catch (RuntimeException e) {
                    // A volume could not be flushed: say so; closing the volumes tries again.
                    spec.commandLine().getErr().println("sectorcrypt: " + e.getMessage());
                }
                try {
                    cleanedUp.await(SHUTDOWN_WAIT_SECONDS, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            Runtime.getRuntime().addShutdownHook(hook);
            for (NbdExport e : server.exports().values()) {
                out.println("serving " + e.name() + " (" + e.volume().size() + " bytes" + (e.volume().isReadOnly()
                        ? ", read-only" : "") + ") at " + uri(bound, e.name()));
            }
            out.flush();
            try {
                server.awaitClosed();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                server.close();
            }
        } catch (Luks2FormatException | VolumeInUseException | KeyUnavailableException e) {
            throw new CliException(e.getMessage(), e);
        } catch (UncheckedIOException e) {
            throw new CliException(Main.message(e), e);
        } finally {
            maintenance.shutdownNow();
            for (EncryptedVolume vol : opened) {
                try {
                    vol.close(); // flushes; a temporary disk's key is zeroed
                } catch (RuntimeException e) {
                    spec.commandLine().getErr().println("sectorcrypt: closing " + vol + ": " + e.getMessage());
                }
            }
            for (Path file : tempFiles) {
                try {
                    TempFiles.delete(file);
                } catch (IOException e) {
                    spec.commandLine().getErr().println("sectorcrypt: cannot delete " + file + ": " + Main.cause(e));
                }
            }
            cleanedUp.countDown();
        }
    }

    /**
     * The export's URI as NBD clients take it (the NBD URI specification of
     * NetworkBlockDevice/nbd {@code doc/uri.md}): {@code nbd://HOST:PORT/NAME} or
     * {@code nbd+unix:///NAME?socket=PATH}.
     */
    static String uri(SocketAddress bound, String name) {
        String encoded = URLEncoder.encode(name, StandardCharsets.UTF_8).replace("+", "%20");
        if (bound instanceof UnixDomainSocketAddress unix) {
            return "nbd+unix:///" + encoded + "?socket=" + unix.getPath().toAbsolutePath();
        }
        InetSocketAddress inet = (InetSocketAddress) bound;
        String host = inet.getAddress() instanceof Inet6Address ? "[" + inet.getAddress().getHostAddress() + "]"
                : inet.getAddress().getHostAddress();
        return "nbd://" + host + ":" + inet.getPort() + "/" + encoded;
    }
}
