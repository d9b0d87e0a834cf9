package io.sectorcrypt.cli;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.AuditLog;
import io.sectorcrypt.keys.KeyInfo;
import io.sectorcrypt.keys.KeyType;
import io.sectorcrypt.keys.KeyVaultException;
import io.sectorcrypt.keys.KeyVersion;
import io.sectorcrypt.keys.LocalKeyVault;
import io.sectorcrypt.keys.Names;
import io.sectorcrypt.keys.Permission;
import java.io.Console;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.stream.Collectors;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "keys", description = "Manage the keys of the embedded vault (a directory, created by 'keys init').",
        subcommands = {KeysCommand.Init.class, KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Show.class,
            KeysCommand.Disable.class, KeysCommand.Enable.class, KeysCommand.Delete.class, KeysCommand.Recover.class,
            KeysCommand.Purge.class, KeysCommand.NewVersion.class, KeysCommand.SetExpiry.class, KeysCommand.Grant.class,
            KeysCommand.Revoke.class, KeysCommand.Audit.class})
final class KeysCommand {
    static final String PASSPHRASE_ENV = "SECTORCRYPT_VAULT_PASSPHRASE";
    /** The environment, replaceable by tests (a JVM cannot change its own). */
    static UnaryOperator<String> environment = System::getenv;

    private KeysCommand() {
    }

    /** Where the vault is and how to unlock it: shared by every keys subcommand. */
    static final class VaultOptions {
        @Option(names = "--vault", paramLabel = "DIR",
                description = "The vault directory (default: $SECTORCRYPT_HOME/vault, else ~/.sectorcrypt/vault), made by 'keys init'.")
        Path vault;

        @Option(names = "--passphrase-file", paramLabel = "F",
                description = "Read the passphrase from the first line of F (else $" + PASSPHRASE_ENV
                        + ", else a terminal prompt).")
        Path passphraseFile;

        @Option(names = "--crypto-policy", paramLabel = "default|fips", defaultValue = "default",
                description = "default (JDK providers, scrypt) or fips (Bouncy Castle FIPS approved-only, PBKDF2).")
        String policy;

        Path directory() {
            return vault != null ? vault : Home.vault();
        }

        CryptoPolicy cryptoPolicy() {
            CryptoPolicy p = CryptoPolicy.parse(policy);
            if (p.isFips() && System.getProperty("org.bouncycastle.fips.approved_only") == null) {
                // Before BCFIPS loads: approved-only mode is fixed when its registrar initialises.
                System.setProperty("org.bouncycastle.fips.approved_only", "true");
            }
            return p;
        }

        /**
         * Runs {@code check} (the command's own arguments: before the costly unlock, so a bad
         * name is refused at once and nothing is touched), then opens the existing vault, or
         * creates one if {@code scryptCost} is given, runs {@code body}, closes it. Vault errors
         * become one line.
         */
        <T> T with(Runnable check, Integer scryptCost, Function<LocalKeyVault, T> body) {
            Path dir = directory();
            boolean creating = scryptCost != null;
            char[] passphrase = null;
            try {
                check.run();
                CryptoPolicy policy = cryptoPolicy();
                if (!creating) {
                    checkExists(dir); // before a passphrase is asked for in vain
                }
                passphrase = passphrase(creating);
                LocalKeyVault.Credentials credentials = new LocalKeyVault.Credentials.Passphrase(passphrase);
                LocalKeyVault.Options options = LocalKeyVault.Options.defaults().withPolicy(policy);
                try (LocalKeyVault vault = creating
                        ? LocalKeyVault.create(dir, credentials, options.withScryptCost(scryptCost))
                        : LocalKeyVault.openExisting(dir, credentials, options)) {
                    return body.apply(vault);
                }
            } catch (KeyVaultException | UncheckedIOException | IllegalArgumentException | IllegalStateException e) {
                throw new CliException(Main.message(e), e);
            } finally {
                if (passphrase != null) {
                    Arrays.fill(passphrase, '\0');
                }
            }
        }

        private void checkExists(Path dir) {
            try {
                LocalKeyVault.checkExists(dir);
            } catch (KeyVaultException e) {
                if (e.reason() == KeyVaultException.Reason.NOT_FOUND) {
                    throw new CliException(e.getMessage() + ": create one with 'sectorcrypt keys init"
                            + (vault == null ? "" : " --vault " + vault) + "'", e);
                }
                throw e;
            }
        }

        private char[] passphrase(boolean creating) {
            if (passphraseFile != null) {
                return checked(firstLine("--passphrase-file", passphraseFile), creating, "--passphrase-file "
                        + passphraseFile);
            }
            String env = environment.apply(PASSPHRASE_ENV);
            if (env != null) {
                if (env.isEmpty()) {
                    throw new CliException(PASSPHRASE_ENV + " is set but empty: give the passphrase in it, or unset it"
                            + " to be asked on the terminal");
                }
                return checked(env.toCharArray(), creating, PASSPHRASE_ENV);
            }
            Console console = System.console();
            if (console == null) {
                throw new CliException("no vault passphrase: give --passphrase-file F, set " + PASSPHRASE_ENV
                        + ", or run in a terminal");
            }
            char[] first = console.readPassword(creating ? "New vault passphrase: " : "Vault passphrase: ");
            if (first == null || first.length == 0) {
                throw new CliException("no passphrase entered");
            }
            if (creating) {
                checked(first, true, "the passphrase entered");
                char[] again = console.readPassword("Repeat the passphrase: ");
                boolean same = Arrays.equals(first, again);
                if (again != null) {
                    Arrays.fill(again, '\0');
                }
                if (!same) {
                    Arrays.fill(first, '\0');
                    throw new CliException("the two passphrases differ; nothing was created");
                }
            }
            return first;
        }

        /**
         * The first line of a passphrase file given with {@code option}, which must not be
         * empty; the caller zeroes it.
         */
        static char[] firstLine(String option, Path file) {
            String first;
            try {
                first = Files.readAllLines(file, StandardCharsets.UTF_8).stream().findFirst().orElse("");
            } catch (IOException e) {
                throw Main.cannot("read " + option, file, e);
            }
            if (first.isEmpty()) {
                throw new CliException(option + " " + file + " is empty");
            }
            return first.toCharArray();
        }

        /** A new vault's passphrase is checked before anything is asked again or derived. */
        private static char[] checked(char[] passphrase, boolean creating, String source) {
            if (creating) {
                try {
                    LocalKeyVault.checkNewPassphrase(passphrase);
                } catch (KeyVaultException e) {
                    Arrays.fill(passphrase, '\0');
                    throw new CliException(source + ": " + e.getMessage(), e);
                }
            }
            return passphrase;
        }
    }

    /** A subcommand that acts on the vault and prints to standard output. */
    abstract static class VaultCommand implements Callable<Integer> {
        @Mixin
        VaultOptions vault;

        @Spec
        CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        /** Checks the command's arguments without the vault; throws if one is bad. */
        void check() {
        }

        abstract void run(LocalKeyVault vault);

        @Override
        public Integer call() {
            vault.with(this::check, null, v -> {
                run(v);
                return null;
            });
            out().flush();
            return 0;
        }

        /** The version given, or the key's newest. */
        static int versionOrNewest(LocalKeyVault v, String name, Integer version) {
            return version != null ? version : v.show(name).newest().version();
        }
    }

    @Command(name = "init", description = "Create the vault: a new or empty directory, a passphrase of at least "
            + LocalKeyVault.MIN_PASSPHRASE_CHARS + " characters.")
    static final class Init implements Callable<Integer> {
        @Mixin
        VaultOptions vault;

        @Spec
        CommandSpec spec;

        @Option(names = "--scrypt-cost", paramLabel = "N", defaultValue = "131072",
                description = "scrypt N: a power of two, at least 16384 (default 2^17, 128 MiB).")
        int scryptCost;

        @Override
        public Integer call() {
            String created = vault.with(() -> { }, scryptCost, v -> "created vault '" + v.id() + "' in "
                    + v.directory());
            spec.commandLine().getOut().println(created);
            spec.commandLine().getOut().flush();
            return 0;
        }
    }

    @Command(name = "create", description = "Create a key: RSA 2048/3072/4096 (customer key) or AES-256 (platform key).")
    static final class Create extends NamedCommand {
        @Option(names = "--type", required = true, paramLabel = "rsa|aes")
        String type;

        @Option(names = "--size", paramLabel = "BITS", description = "RSA: 2048, 3072 or 4096; AES: 256 (the default).")
        Integer size;

        @Option(names = "--expires", paramLabel = "WHEN", description = "An ISO-8601 instant (2027-01-31T00:00:00Z)"
                + " or a duration from now (P90D).")
        String expires;

        private KeyType keyType;
        private Instant expiry;

        @Override
        void check() {
            super.check();
            keyType = KeyType.parse(type, size);
            expiry = expires == null ? null : future("--expires", expires);
        }

        @Override
        void run(LocalKeyVault v) {
            KeyVersion created = v.createKey(name, keyType, expiry);
            out().println("created key '" + name + "' version " + created.version() + " (" + keyType.label() + ")");
        }
    }

    @Command(name = "list", description = "List every key, deleted ones included.")
    static final class ListKeys extends VaultCommand {
        @Override
        void run(LocalKeyVault v) {
            out().printf("%-24s %-9s %-8s %-7s %s%n", "NAME", "TYPE", "VERSIONS", "NEWEST", "STATE");
            Instant now = Instant.now();
            for (KeyInfo k : v.list()) {
                KeyVersion newest = k.newest();
                out().printf("%-24s %-9s %-8d %-7d %s%n", k.name(), k.type().label(), k.versions().size(),
                        newest.version(), k.isDeleted() ? "deleted" : state(newest, now));
            }
        }
    }

    @Command(name = "show", description = "Show a key's versions and who may use it.")
    static final class Show extends NamedCommand {
        @Override
        void run(LocalKeyVault v) {
            KeyInfo k = v.show(name);
            out().println("key:      " + k.name() + " (" + k.type().label() + (k.type().isCustomerKey()
                    ? ", customer key, wraps with RSA-OAEP-256)" : ", platform key, wraps with AES-KWP)"));
            out().println("vault:    " + v.id());
            out().println("deleted:  " + (k.isDeleted() ? k.deletedAt() : "no"));
            Instant now = Instant.now();
            for (KeyVersion ver : k.versions()) {
                out().println("version " + ver.version() + ": " + state(ver, now) + ", created "
                        + ver.created() + ", expires " + (ver.expires() == null ? "never" : ver.expires()));
            }
            if (k.access().isEmpty()) {
                out().println("access:   nobody");
            }
            k.access().forEach((identity, permissions) -> out().println("access:   " + identity + ": "
                    + permissions.stream().map(Permission::label).sorted().collect(Collectors.joining(","))));
        }
    }

    abstract static class VersionCommand extends NamedCommand {
        @Option(names = "--version", paramLabel = "N", description = "The version (default: the newest).")
        Integer version;

        @Override
        void check() {
            super.check();
            if (version != null && version < 1) {
                throw new CliException("--version must be 1 or more, not " + version);
            }
        }
    }

    /** A subcommand on one key, named by its first parameter. */
    abstract static class NamedCommand extends VaultCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Override
        void check() {
            Names.keyName(name);
        }
    }

    @Command(name = "disable", description = "Disable a key version: unwraps under it fail once caches expire.")
    static final class Disable extends VersionCommand {
        @Override
        void run(LocalKeyVault v) {
            int n = versionOrNewest(v, name, version);
            v.setEnabled(name, n, false);
            out().println("disabled key '" + name + "' version " + n);
        }
    }

    @Command(name = "enable", description = "Enable a key version again.")
    static final class Enable extends VersionCommand {
        @Override
        void run(LocalKeyVault v) {
            int n = versionOrNewest(v, name, version);
            v.setEnabled(name, n, true);
            out().println("enabled key '" + name + "' version " + n);
        }
    }

    @Command(name = "set-expiry", description = "Set or clear when a key version expires.")
    static final class SetExpiry extends VersionCommand {
        @ArgGroup(exclusive = true, multiplicity = "1")
        When when;

        static final class When {
            @Option(names = "--at", paramLabel = "WHEN", description = "An ISO-8601 instant or a duration from now (P30D).")
            String at;

            @Option(names = "--never", description = "The version never expires.")
            boolean never;
        }

        private Instant expires;

        @Override
        void check() {
            super.check();
            expires = when.never ? null : future("--at", when.at);
        }

        @Override
        void run(LocalKeyVault v) {
            int n = versionOrNewest(v, name, version);
            v.setExpiry(name, n, expires);
            out().println("key '" + name + "' version " + n + " expires " + (expires == null ? "never" : expires));
        }
    }

    @Command(name = "delete", description = "Soft-delete a key: every use fails until 'recover'; 'purge' destroys it.")
    static final class Delete extends NamedCommand {

        @Override
        void run(LocalKeyVault v) {
            v.delete(name);
            out().println("deleted key '" + name + "' (recover or purge it)");
        }
    }

    @Command(name = "recover", description = "Undo a soft delete.")
    static final class Recover extends NamedCommand {

        @Override
        void run(LocalKeyVault v) {
            v.recover(name);
            out().println("recovered key '" + name + "'");
        }
    }

    @Command(name = "purge", description = "Destroy a soft-deleted key for good: what it wrapped is lost.")
    static final class Purge extends NamedCommand {

        @Override
        void run(LocalKeyVault v) {
            v.purge(name);
            out().println("purged key '" + name + "'");
        }
    }

    @Command(name = "new-version", description = "Add a version to a key; encryption sets that follow 'latest' move to it.")
    static final class NewVersion extends NamedCommand {

        @Override
        void run(LocalKeyVault v) {
            out().println("created key '" + name + "' version " + v.newVersion(name).version());
        }
    }

    @Command(name = "grant", description = "Allow an identity to use a key (default: get, wrapKey, unwrapKey).")
    static final class Grant extends NamedCommand {
        @Parameters(index = "1", paramLabel = "IDENTITY")
        String identity;

        @Option(names = "--permissions", paramLabel = "P,...", split = ",",
                description = "Any of get, wrapKey, unwrapKey.")
        String[] permissions;

        private Set<Permission> granted;

        @Override
        void check() {
            super.check();
            Names.identity(identity);
            granted = permissions == null ? Permission.all() : EnumSet.noneOf(Permission.class);
            if (permissions != null) {
                for (String p : permissions) {
                    granted.add(Permission.parse(p));
                }
            }
        }

        @Override
        void run(LocalKeyVault v) {
            v.grant(name, identity, granted);
            out().println("granted " + granted.stream().map(Permission::label).sorted().collect(Collectors.joining(","))
                    + " on key '" + name + "' to '" + identity + "'");
        }
    }

    @Command(name = "revoke", description = "Take all access to a key away from an identity.")
    static final class Revoke extends NamedCommand {
        @Parameters(index = "1", paramLabel = "IDENTITY")
        String identity;

        @Override
        void check() {
            super.check();
            Names.identity(identity);
        }

        @Override
        void run(LocalKeyVault v) {
            v.revoke(name, identity);
            out().println("revoked access to key '" + name + "' from '" + identity + "'");
        }
    }

    @Command(name = "audit", description = "The vault's tamper-evident audit log.",
            subcommands = {Audit.Verify.class})
    static final class Audit {
        @Command(name = "verify", description = "Check the audit log's MAC chain; exits 1 at the first bad record.")
        static final class Verify implements Callable<Integer> {
            @Mixin
            VaultOptions vault;

            @Spec
            CommandSpec spec;

            @Override
            public Integer call() {
                AuditLog.Verification result = vault.with(() -> { }, null, v -> v.auditLog().verify());
                if (result.intact()) {
                    spec.commandLine().getOut().println("audit log intact: " + result.records() + " records");
                    spec.commandLine().getOut().flush();
                    return 0;
                }
                spec.commandLine().getErr().println("sectorcrypt: audit log damaged at record "
                        + result.firstBadRecord() + ": " + result.problem());
                return 1;
            }
        }
    }

    /** What a user must act on: a disabled version, else an expired one, else enabled. */
    static String state(KeyVersion version, Instant now) {
        return !version.enabled() ? "disabled" : version.isExpired(now) ? "expired" : "enabled";
    }

    /**
     * {@code option}'s instant, refused if it is not in the future: a version that expired at
     * once would stop every disk using it (disable it instead, which can be undone visibly).
     */
    static Instant future(String option, String text) {
        Instant at = when(text);
        if (at.isAfter(LATEST_EXPIRY)) {
            throw new CliException(option + " " + text + " is past " + LATEST_EXPIRY + ", the latest expiry a key version"
                    + " can have (the vault records instants in milliseconds; omit the expiry for none)");
        }
        if (!at.isAfter(Instant.now())) {
            throw new CliException(option + " " + text + " is in the past; an expiry must be later than now (to stop"
                    + " a key version now, use 'keys disable')");
        }
        return at;
    }

    /** The latest expiry accepted: the end of year 9999, far inside what the vault's millisecond instants hold. */
    static final Instant LATEST_EXPIRY = Instant.parse("9999-12-31T23:59:59Z");

    /** An ISO-8601 instant, or a duration from now. */
    static Instant when(String text) {
        try {
            return text.startsWith("P") || text.startsWith("p") ? Instant.now().plus(Duration.parse(text))
                    : Instant.parse(text);
        } catch (java.time.DateTimeException | ArithmeticException e) { // unparseable, or past Instant.MAX
            throw new CliException("'" + text + "' is neither an ISO-8601 instant (2027-01-31T00:00:00Z) nor a duration"
                    + " (P90D, PT12H)");
        }
    }
}
