package io.sectorcrypt.cli;

import io.sectorcrypt.keys.DiskEncryptionSet;
import io.sectorcrypt.keys.EncryptionType;
import io.sectorcrypt.keys.KeyInfo;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyType;
import io.sectorcrypt.keys.KeyVaultException;
import io.sectorcrypt.keys.KeyVersion;
import io.sectorcrypt.keys.LocalKeyVault;
import io.sectorcrypt.keys.Names;
import io.sectorcrypt.keys.Permission;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "set", description = "Disk encryption sets: which vault key wraps the keys of a group of disks.",
        subcommands = {SetCommand.Create.class, SetCommand.ListSets.class, SetCommand.Show.class})
final class SetCommand {
    /** The embedded platform key, made on first use; it also wraps the outer layer of DOUBLE sets' disks. */
    static final String PLATFORM_KEY = "platform";
    /** The identity the key manager acts as when it wraps and unwraps DOUBLE disks' outer layer. */
    static final String PLATFORM_IDENTITY = "platform:outer-layer";

    private SetCommand() {
    }

    /**
     * A key manager over the embedded vault, its platform key wrapping DOUBLE disks' outer
     * layer: every command that handles disks builds its manager here.
     */
    static KeyManager.Builder keyManager(LocalKeyVault v) {
        return KeyManager.builder().vault(v).platformKey(v.id(), PLATFORM_KEY, PLATFORM_IDENTITY);
    }

    @Command(name = "create", description = "Create an encryption set. platform: the embedded platform key (AES-256,"
            + " made on first use) or --key; customer: your RSA key (--key), made with 'keys create'; double: two"
            + " layers, XTS under --key (platform or RSA; default the platform key) and HCTR2 under the platform key.")
    static final class Create extends KeysCommand.VaultCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        @Option(names = "--type", paramLabel = "platform|customer|double", defaultValue = "platform",
                description = "platform (the default: a platform-managed key), customer (your RSA key) or double"
                        + " (a second, HCTR2 layer under the platform key over the XTS layer under --key).")
        String type;

        @Option(names = "--key", paramLabel = "KEY", description = "The vault key (customer: required; platform"
                + " and double: default '" + PLATFORM_KEY + "').")
        String key;

        @Option(names = "--key-version", paramLabel = "N|latest", defaultValue = "latest",
                description = "Pin a key version, or follow the newest (default): disks are re-wrapped when a new"
                        + " version appears.")
        String keyVersion;

        private EncryptionType encryptionType;
        private int pinned;

        @Override
        void check() {
            Names.check("encryption set name", name, Names.MAX_KEY_NAME);
            encryptionType = switch (type.toLowerCase(Locale.ROOT)) {
                case "platform" -> EncryptionType.PLATFORM;
                case "customer" -> EncryptionType.CUSTOMER;
                case "double" -> EncryptionType.DOUBLE;
                default -> throw new CliException("--type must be platform, customer or double, not '" + type + "'");
            };
            if (encryptionType == EncryptionType.CUSTOMER && key == null) {
                throw new CliException("--type customer needs --key KEY: an RSA key made with 'keys create KEY --type"
                        + " rsa'");
            }
            if (key == null) {
                key = PLATFORM_KEY;
            }
            Names.keyName(key);
            if (keyVersion.equals("latest")) {
                pinned = 0;
            } else {
                try {
                    pinned = Integer.parseInt(keyVersion);
                } catch (NumberFormatException e) {
                    pinned = -1;
                }
                if (pinned < 1) {
                    throw new CliException("--key-version must be a version number (1 or more) or 'latest', not '"
                            + keyVersion + "'");
                }
            }
            if (new SetStore(Home.sets()).read(name).isPresent()) {
                throw new CliException("encryption set '" + name + "' exists");
            }
        }

        @Override
        void run(LocalKeyVault v) {
            boolean made = false;
            boolean doubleSet = encryptionType == EncryptionType.DOUBLE;
            if ((encryptionType == EncryptionType.PLATFORM && key.equals(PLATFORM_KEY) || doubleSet)
                    && !exists(v, PLATFORM_KEY)) {
                v.createKey(PLATFORM_KEY, KeyType.AES_256, null);
                made = true;
            }
            if (doubleSet && !v.show(PLATFORM_KEY).access().containsKey(PLATFORM_IDENTITY)) {
                // The first DOUBLE set sets the identity up; if other DOUBLE sets exist, its access
                // was revoked on purpose (which stops all their disks): do not undo that silently.
                if (new SetStore(Home.sets()).all().stream().anyMatch(s -> s.type() == EncryptionType.DOUBLE)) {
                    throw new CliException("identity '" + PLATFORM_IDENTITY + "' has no access to key '"
                            + PLATFORM_KEY + "' (revoked?), so the disks of the DOUBLE sets are stopped; grant it"
                            + " again first if that is intended: 'sectorcrypt keys grant " + PLATFORM_KEY + " "
                            + PLATFORM_IDENTITY + "'");
                }
                v.grant(PLATFORM_KEY, PLATFORM_IDENTITY, Permission.all());
            }
            String identity = SetStore.identityOf(name);
            DiskEncryptionSet set = new DiskEncryptionSet(name, encryptionType, v.id(), key, pinned, identity);
            v.grant(key, identity, Permission.all());
            try (KeyManager check = keyManager(v).store(new NoDisks()).build()) {
                check.putSet(set); // the keys exist, fit the type, and the pinned version exists
            } catch (RuntimeException e) {
                v.revoke(key, identity);
                throw e;
            }
            new SetStore(Home.sets()).write(set);
            out().println("created encryption set '" + name + "': " + (doubleSet ? "double: inner XTS layer under"
                    + " key '" : type.toLowerCase(Locale.ROOT) + " key '") + key + "'" + (made && key.equals(PLATFORM_KEY) ? " (made now, AES-256)" : "") + ", "
                    + (pinned == 0 ? "following its newest version" : "pinned to version " + pinned) + ", in vault '"
                    + v.id() + "'; identity '" + identity + "' may get, wrapKey, unwrapKey");
            if (doubleSet) {
                out().println("outer layer: HCTR2-AES-256 keys wrapped by platform key '" + PLATFORM_KEY + "'"
                        + (made && !key.equals(PLATFORM_KEY) ? " (made now, AES-256)" : "") + " (its newest version),"
                        + " as identity '" + PLATFORM_IDENTITY + "'");
            }
        }

        static boolean exists(LocalKeyVault v, String key) {
            try {
                v.show(key);
                return true;
            } catch (KeyVaultException e) {
                if (e.reason() == KeyVaultException.Reason.NOT_FOUND) {
                    return false;
                }
                throw e;
            }
        }
    }

    @Command(name = "list", description = "List the encryption sets.")
    static final class ListSets implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            PrintWriter out = spec.commandLine().getOut();
            List<DiskEncryptionSet> sets = new SetStore(Home.sets()).all();
            out.printf("%-20s %-9s %-20s %-8s %s%n", "NAME", "TYPE", "KEY", "VERSION", "VAULT");
            for (DiskEncryptionSet s : sets) {
                out.printf("%-20s %-9s %-20s %-8s %s%n", s.id(), s.type().name().toLowerCase(Locale.ROOT), s.keyName(),
                        s.followsLatest() ? "latest" : Integer.toString(s.pinnedVersion()), s.vaultId());
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "show", description = "Show an encryption set and the state of its key.")
    static final class Show extends KeysCommand.VaultCommand {
        @Parameters(index = "0", paramLabel = "NAME")
        String name;

        private DiskEncryptionSet set;

        @Override
        void check() {
            set = new SetStore(Home.sets()).read(name).orElseThrow(() -> new CliException("no encryption set '"
                    + name + "': 'sectorcrypt set list' shows them"));
        }

        @Override
        void run(LocalKeyVault v) {
            KeyInfo k = v.show(set.keyName());
            Instant now = Instant.now();
            out().println("set:      " + set.id() + " (" + set.type().name().toLowerCase(Locale.ROOT) + ")");
            out().println("key:      " + set.keyName() + " in vault '" + set.vaultId() + "' (" + k.type().label()
                    + ")");
            out().println("version:  " + (set.followsLatest() ? "latest (now " + k.newestUsable(now).map(
                    KeyVersion::version).map(String::valueOf).orElse("none usable") + ")" : set.pinnedVersion()));
            out().println("identity: " + set.identity());
        }
    }

    /** For checking a set against the vault: a key manager that holds no disks. */
    private static final class NoDisks implements io.sectorcrypt.keys.DiskKeyStore {
        @Override
        public java.util.Optional<io.sectorcrypt.keys.DiskKeys> read(String diskId) {
            return java.util.Optional.empty();
        }

        @Override
        public void write(io.sectorcrypt.keys.DiskKeys keys) {
            throw new UnsupportedOperationException();
        }

        @Override
        public void delete(String diskId) {
        }

        @Override
        public List<String> diskIds() {
            return List.of();
        }
    }
}
