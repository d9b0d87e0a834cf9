package io.sectorcrypt.cli;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.AuditLog;
import io.sectorcrypt.keys.KeyInfo;
import io.sectorcrypt.keys.KeyType;
import io.sectorcrypt.keys.KeyVaultException;
import io.sectorcrypt.keys.KeyVersion;
import io.sectorcrypt.keys.LocalKeyVault;
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
import java.time.format.DateTimeParseException;
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

@Command(name = "keys", description = "Manage the keys of the embedded vault (a directory, created on first use).",
        subcommands = {KeysCommand.Create.class, KeysCommand.ListKeys.class, KeysCommand.Show.class,
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
                description = "The vault directory (default: ~/.sectorcrypt/vault). Created on first use.")
        Path vault;

        @Option(names = "--passphrase-file", paramLabel = "F",
                description = "Read the passphrase from the first line of F (else $" + PASSPHRASE_ENV
                        + ", else a terminal prompt).")
        Path passphraseFile;

        @Option(names = "--crypto-policy", paramLabel = "default|fips", defaultValue = "default",
                description = "default (JDK providers, scrypt) or fips (Bouncy Castle FIPS approved-only, PBKDF2).")
        String policy;

        @Option(names = "--scrypt-cost", paramLabel = "N", defaultValue = "131072",
                description = "scrypt N for a vault created now: a power of two, at least 16384 (default 2^17, 128 MiB).")
        int scryptCost;

        Path directory() {
            return vault != null ? vault : Path.of(System.getProperty("user.home"), ".sectorcrypt", "vault");
        }

        CryptoPolicy cryptoPolicy() {
            CryptoPolicy p = CryptoPolicy.parse(policy);
            if (p.isFips() && System.getProperty("org.bouncycastle.fips.approved_only") == null) {
                // Before BCFIPS loads: approved-only mode is fixed when its registrar initialises.
                System.setProperty("org.bouncycastle.fips.approved_only", "true");
            }
            return p;
        }

        /** Opens (or creates) the vault, runs {@code body}, closes it; vault errors become one line. */
        <T> T with(CommandSpec spec, Function<LocalKeyVault, T> body) {
            Path dir = directory();
            boolean creating = !Files.exists(dir.resolve("vault.meta"));
            char[] passphrase = passphrase(creating);
            try (LocalKeyVault vault = LocalKeyVault.open(dir, new LocalKeyVault.Credentials.Passphrase(passphrase),
                    LocalKeyVault.Options.defaults().withPolicy(cryptoPolicy()).withScryptCost(scryptCost))) {
                if (creating) {
                    spec.commandLine().getErr().println("sectorcrypt: created vault '" + vault.id() + "' in " + dir);
                }
                return body.apply(vault);
            } catch (KeyVaultException | UncheckedIOException | IllegalArgumentException | IllegalStateException e) {
                throw new CliException(e.getMessage(), e);
            } finally {
                Arrays.fill(passphrase, '\0');
            }
        }

        private char[] passphrase(boolean creating) {
            if (passphraseFile != null) {
                try {
                    String first = Files.readAllLines(passphraseFile, StandardCharsets.UTF_8).stream().findFirst()
                            .orElse("");
                    if (first.isEmpty()) {
                        throw new CliException("the passphrase file " + passphraseFile + " is empty");
                    }
                    return first.toCharArray();
                } catch (IOException e) {
                    throw new CliException("cannot read the passphrase file " + passphraseFile + ": " + e.getMessage(),
                            e);
                }
            }
            String env = environment.apply(PASSPHRASE_ENV);
            if (env != null && !env.isEmpty()) {
                return env.toCharArray();
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

        abstract void run(LocalKeyVault vault);

        @Override
        public Integer call() {
            vault.with(spec, v -> {
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

    @Command(name = "create", description = "Create a key: RSA 2048/3072/4096 (customer key) or AES-256 (platform key).")
    static final class Create extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--type", required = true, paramLabel = "rsa|aes")
        String type;

        @Option(names = "--size", paramLabel = "BITS", description = "RSA: 2048, 3072 or 4096; AES: 256 (the default).")
        Integer size;

        @Option(names = "--expires", paramLabel = "WHEN", description = "An ISO-8601 instant (2027-01-31T00:00:00Z)"
                + " or a duration from now (P90D).")
        String expires;

        @Override
        void run(LocalKeyVault v) {
            KeyType keyType = KeyType.parse(type, size);
            KeyVersion created = v.createKey(name, keyType, expires == null ? null : when(expires));
            out().println("created key '" + name + "' version " + created.version() + " (" + keyType.label() + ")");
        }
    }

    @Command(name = "list", description = "List every key, deleted ones included.")
    static final class ListKeys extends VaultCommand {
        @Override
        void run(LocalKeyVault v) {
            out().printf("%-24s %-9s %-8s %-7s %s%n", "NAME", "TYPE", "VERSIONS", "NEWEST", "STATE");
            for (KeyInfo k : v.list()) {
                KeyVersion newest = k.newest();
                out().printf("%-24s %-9s %-8d %-7d %s%n", k.name(), k.type().label(), k.versions().size(),
                        newest.version(), k.isDeleted() ? "deleted" : newest.enabled() ? "enabled" : "disabled");
            }
        }
    }

    @Command(name = "show", description = "Show a key's versions and who may use it.")
    static final class Show extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(LocalKeyVault v) {
            KeyInfo k = v.show(name);
            out().println("key:      " + k.name() + " (" + k.type().label() + (k.type().isCustomerKey()
                    ? ", customer key, wraps with RSA-OAEP-256)" : ", platform key, wraps with AES-KWP)"));
            out().println("vault:    " + v.id());
            out().println("deleted:  " + (k.isDeleted() ? k.deletedAt() : "no"));
            for (KeyVersion ver : k.versions()) {
                out().println("version " + ver.version() + ": " + (ver.enabled() ? "enabled" : "disabled") + ", created "
                        + ver.created() + ", expires " + (ver.expires() == null ? "never" : ver.expires()));
            }
            if (k.access().isEmpty()) {
                out().println("access:   nobody");
            }
            k.access().forEach((identity, permissions) -> out().println("access:   " + identity + ": "
                    + permissions.stream().map(Permission::label).sorted().collect(Collectors.joining(","))));
        }
    }

    abstract static class VersionCommand extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Option(names = "--version", paramLabel = "N", description = "The version (default: the newest).")
        Integer version;
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

        @Override
        void run(LocalKeyVault v) {
            int n = versionOrNewest(v, name, version);
            Instant expires = when.never ? null : when(when.at);
            v.setExpiry(name, n, expires);
            out().println("key '" + name + "' version " + n + " expires " + (expires == null ? "never" : expires));
        }
    }

    @Command(name = "delete", description = "Soft-delete a key: every use fails until 'recover'; 'purge' destroys it.")
    static final class Delete extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(LocalKeyVault v) {
            v.delete(name);
            out().println("deleted key '" + name + "' (recover or purge it)");
        }
    }

    @Command(name = "recover", description = "Undo a soft delete.")
    static final class Recover extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(LocalKeyVault v) {
            v.recover(name);
            out().println("recovered key '" + name + "'");
        }
    }

    @Command(name = "purge", description = "Destroy a soft-deleted key for good: what it wrapped is lost.")
    static final class Purge extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(LocalKeyVault v) {
            v.purge(name);
            out().println("purged key '" + name + "'");
        }
    }

    @Command(name = "new-version", description = "Add a version to a key; encryption sets that follow 'latest' move to it.")
    static final class NewVersion extends VaultCommand {
        @Parameters(paramLabel = "NAME")
        String name;

        @Override
        void run(LocalKeyVault v) {
            out().println("created key '" + name + "' version " + v.newVersion(name).version());
        }
    }

    @Command(name = "grant", description = "Allow an identity to use a key (default: get, wrapKey, unwrapKey).")
    static final class Grant extends VaultCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "IDENTITY")
        String identity;

        @Option(names = "--permissions", paramLabel = "P,...", split = ",",
                description = "Any of get, wrapKey, unwrapKey.")
        String[] permissions;

        @Override
        void run(LocalKeyVault v) {
            Set<Permission> granted = permissions == null ? Permission.all() : EnumSet.noneOf(Permission.class);
            if (permissions != null) {
                for (String p : permissions) {
                    granted.add(Permission.parse(p));
                }
            }
            v.grant(name, identity, granted);
            out().println("granted " + granted.stream().map(Permission::label).sorted().collect(Collectors.joining(","))
                    + " on key '" + name + "' to '" + identity + "'");
        }
    }

    @Command(name = "revoke", description = "Take all access to a key away from an identity.")
    static final class Revoke extends VaultCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Parameters(index = "1", paramLabel = "IDENTITY")
        String identity;

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
                AuditLog.Verification result = vault.with(spec, v -> v.auditLog().verify());
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

    /** An ISO-8601 instant, or a duration from now. */
    static Instant when(String text) {
        try {
            return text.startsWith("P") || text.startsWith("p") ? Instant.now().plus(Duration.parse(text))
                    : Instant.parse(text);
        } catch (DateTimeParseException e) {
            throw new CliException("'" + text + "' is neither an ISO-8601 instant (2027-01-31T00:00:00Z) nor a duration"
                    + " (P90D, PT12H)");
        }
    }
}
