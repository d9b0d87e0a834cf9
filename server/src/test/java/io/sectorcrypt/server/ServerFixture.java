package io.sectorcrypt.server;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.DiskEncryptionSet;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyType;
import io.sectorcrypt.keys.LocalKeyVault;
import io.sectorcrypt.keys.Permission;
import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.VolumeManager;
import io.sectorcrypt.volume.VolumeSpec;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * A vault with a customer RSA key, a volume manager over it on a settable clock (so a test
 * can end a key's cache time at once), the set "cust", and a server on 127.0.0.1 over the
 * volumes a test makes. Closes the server, then the volumes, then the manager.
 */
final class ServerFixture implements AutoCloseable {
    static final String VAULT_ID = "nbd-test-vault";
    static final String IDENTITY = "nbd";

    /** A clock the test moves forward by hand. */
    /** n bytes from a seeded generator: a payload a test can make again to compare. */
    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new java.util.Random(seed).nextBytes(b);
        return b;
    }

    static final class SettableClock extends Clock {
        private volatile Instant now = Instant.parse("2026-11-30T12:00:00Z");

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    final Path dir;
    final SettableClock clock = new SettableClock();
    final LocalKeyVault vault;
    final VolumeManager volumes;
    final List<EncryptedVolume> opened = new ArrayList<>();
    NbdServer server;
    SocketAddress address;

    ServerFixture(Path dir) {
        this.dir = dir;
        Path keyFile = dir.resolve("vault.key");
        LocalKeyVault.createKeyFile(keyFile, CryptoPolicy.configured());
        vault = LocalKeyVault.open(dir.resolve("vault"), new LocalKeyVault.Credentials.KeyFile(keyFile),
                LocalKeyVault.Options.defaults().withPolicy(CryptoPolicy.configured()).withClock(clock)
                        .withOperator("admin").withNewVaultId(VAULT_ID));
        vault.createKey("customer", KeyType.RSA_2048, null);
        vault.grant("customer", IDENTITY, Permission.all());
        volumes = VolumeManager.builder(KeyManager.builder().vault(vault).clock(clock).policy(CryptoPolicy.configured()))
                .reattachInterval(Duration.ZERO).build();
        volumes.keys().putSet(DiskEncryptionSet.customer("cust", VAULT_ID, "customer", IDENTITY));
    }

    /** A new volume of the set "cust", kept open until {@link #close()}. */
    EncryptedVolume volume(String file, long size, int sectorSize) {
        EncryptedVolume v = volumes.create(dir.resolve(file), new VolumeSpec(size, sectorSize, "cust", null, null));
        opened.add(v);
        return v;
    }

    /** An existing volume opened again (read-only or not), kept open until {@link #close()}. */
    EncryptedVolume reopen(String file, boolean readOnly) {
        EncryptedVolume v = volumes.open(dir.resolve(file), null, readOnly);
        opened.add(v);
        return v;
    }

    /** Starts a server over {@code exports} on 127.0.0.1, any port. */
    NbdServer start(UnaryOperator<NbdServer.Builder> tune, NbdExport... exports) {
        NbdServer.Builder b = NbdServer.builder();
        for (NbdExport e : exports) {
            b.export(e);
        }
        server = tune.apply(b).build();
        address = server.listen(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
        return server;
    }

    RawClient connect() throws java.io.IOException {
        return new RawClient(address);
    }

    /** A client through the handshake, in the transmission phase of {@code export}. */
    RawClient open(String export) throws java.io.IOException {
        RawClient c = connect().greet();
        c.go(export);
        return c;
    }

    @Override
    public void close() {
        if (server != null) {
            server.close();
        }
        for (EncryptedVolume v : opened) {
            v.close();
        }
        volumes.close();
        vault.close();
    }
}
