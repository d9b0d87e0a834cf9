package io.sectorcrypt.server;

import static io.sectorcrypt.server.ServerFixture.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.volume.EncryptedVolume;
import java.io.IOException;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Keys while serving, Unix domain sockets, and shutting down with requests in flight. */
@Timeout(60)
class NbdServerLifecycleTest {
    @TempDir
    Path dir;


    @Test
    void aRevokedKeyAnswersEioAndTheExportServesAgainOnceTheKeyIsBack() throws IOException {
        try (ServerFixture f = new ServerFixture(dir)) {
            EncryptedVolume disk = f.volume("disk.img", 1 << 20, 4096);
            f.start(b -> b, new NbdExport("disk", disk));
            try (RawClient c = f.open("disk")) {
                byte[] data = random(8192, 1);
                assertEquals(0, c.write(1, 0, data, 0).error());
                f.vault.setEnabled("customer", 1, false);
                assertArrayEquals(data, c.read(2, 0, 8192).data(), "the cached key serves until its time ends");
                f.clock.advance(KeyManager.DEFAULT_CACHE_TTL.plusSeconds(1));
                assertEquals(Nbd.NBD_EIO, c.read(3, 0, 8192).error());
                assertEquals(Nbd.NBD_EIO, c.write(4, 0, data, 0).error());
                f.vault.setEnabled("customer", 1, true);
                RawClient.Reply r = c.read(5, 0, 8192);
                assertEquals(0, r.error(), "the same connection, no restart");
                assertArrayEquals(data, r.data());
                assertEquals(0, c.write(6, 8192, data, Nbd.NBD_CMD_FLAG_FUA).error());
            }
        }
    }

    @Test
    void aKeyRotatedWhileAClientWritesLosesNothingAndTheOldVersionCanGo() throws Exception {
        int block = 64 << 10;
        int blocks = 256;
        try (ServerFixture f = new ServerFixture(dir)) {
            EncryptedVolume disk = f.volume("disk.img", (long) block * blocks, 4096);
            f.start(b -> b, new NbdExport("disk", disk));
            java.util.concurrent.atomic.AtomicBoolean rotated = new java.util.concurrent.atomic.AtomicBoolean();
            int[] generation = new int[blocks]; // what each block holds: random(block, seed of its generation)
            try (RawClient writer = f.open("disk")) {
                Thread rotation = Thread.ofPlatform().start(() -> {
                    f.vault.newVersion("customer");
                    f.volumes.keys().maintain(); // the set follows the latest version: re-wraps the open disk
                    rotated.set(true);
                });
                int written = 0;
                int roundsAfter = -1; // full rounds written after the rotation was seen done
                for (int round = 0; roundsAfter < 1; round++) { // 8 requests in flight at a time
                    assertTrue(round < 500, "the rotation did not finish");
                    for (int i = 0; i < blocks; i += 8) {
                        for (int k = i; k < i + 8; k++) {
                            generation[k] = round * blocks + k;
                            writer.request(Nbd.NBD_CMD_WRITE, 0, k, (long) k * block, block,
                                    random(block, generation[k]));
                        }
                        for (int k = 0; k < 8; k++) {
                            assertEquals(0, writer.reply().error());
                            written++;
                        }
                    }
                    if (roundsAfter >= 0) {
                        roundsAfter++;
                    } else if (rotated.get()) {
                        roundsAfter = 0;
                    }
                }
                rotation.join();
                assertTrue(written >= 2 * blocks, "wrote " + written + " blocks around the rotation");
            }
            assertEquals(2, disk.info().layers().get(0).wrapped().get(0).version(), "wrapped under version 2 now");
            f.vault.setEnabled("customer", 1, false); // the old version is no longer needed...
            f.clock.advance(KeyManager.DEFAULT_CACHE_TTL.plusSeconds(1)); // ...even once the cache time ends
            try (RawClient reader = f.open("disk")) {
                for (int k = 0; k < blocks; k++) {
                    RawClient.Reply r = reader.read(k, (long) k * block, block);
                    assertEquals(0, r.error(), "block " + k);
                    assertArrayEquals(random(block, generation[k]), r.data(), "block " + k);
                }
            }
        }
    }

    @Test
    void aClientThatDoesNotNegotiateInTimeIsDisconnectedAndOneThatDidStays() throws Exception {
        try (ServerFixture f = new ServerFixture(dir)) {
            EncryptedVolume disk = f.volume("disk.img", 1 << 20, 4096);
            f.start(b -> b.handshakeTimeout(java.time.Duration.ofMillis(300)).maxConnections(2),
                    new NbdExport("disk", disk));
            try (RawClient silent = f.connect(); RawClient slow = f.connect().greet()) { // both places taken
                slow.option(Nbd.NBD_OPT_LIST, new byte[0]);
                assertEquals(Nbd.NBD_REP_ACK, slow.optionReplies().getLast().type(), "served while in time");
                silent.read(18); // the greeting, then nothing from the client
                assertTrue(silent.closedByServer(), "no client flags: disconnected");
                assertTrue(slow.closedByServer(), "options, but no export chosen: disconnected");
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (f.server.connectionCount() > 0 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            try (RawClient quick = f.open("disk")) { // a place is free again
                Thread.sleep(600);
                assertEquals(0, quick.read(1, 0, 4096).error(), "in transmission: the timeout does not apply");
            }
        }
        assertThrows(IllegalArgumentException.class, () -> NbdServer.builder().handshakeTimeout(java.time.Duration
                .ZERO));
    }

    @Test
    void aUnixDomainSocketServesAndIsRemovedOnClose() throws IOException {
        try (ServerFixture f = new ServerFixture(dir)) {
            EncryptedVolume disk = f.volume("disk.img", 1 << 20, 4096);
            NbdServer server = NbdServer.builder().export(new NbdExport("disk", disk)).build();
            Path socket = dir.resolve("nbd.sock");
            try {
                assertEquals(UnixDomainSocketAddress.of(socket), server.listen(UnixDomainSocketAddress.of(socket)));
                assertThrows(IllegalStateException.class, () -> server.listen(UnixDomainSocketAddress.of(socket)),
                        "one listener per server");
                try (RawClient c = new RawClient(UnixDomainSocketAddress.of(socket)).greet()) {
                    assertEquals(disk.size(), c.go("disk")[0]);
                    byte[] data = random(4096, 2);
                    assertEquals(0, c.write(1, 4096, data, 0).error());
                    assertArrayEquals(data, c.read(2, 4096, 4096).data());
                }
            } finally {
                server.close();
            }
            assertFalse(Files.exists(socket), "close() removes the socket file");
        }
    }

    @Test
    void aUnixSocketPathInUseIsRefused() throws IOException {
        try (ServerFixture f = new ServerFixture(dir)) {
            EncryptedVolume disk = f.volume("disk.img", 1 << 20, 4096);
            Path socket = Files.createFile(dir.resolve("taken.sock"));
            try (NbdServer server = NbdServer.builder().export(new NbdExport("disk", disk)).build()) {
                java.io.UncheckedIOException e = assertThrows(java.io.UncheckedIOException.class,
                        () -> server.listen(UnixDomainSocketAddress.of(socket)));
                assertTrue(e.getMessage().contains(socket.toString()), e.getMessage());
                assertTrue(e.getCause() instanceof java.net.BindException, String.valueOf(e.getCause()));
            }
            assertTrue(Files.exists(socket), "a file the server did not make is left alone");
        }
    }

    @Test
    void closeAnswersTheRequestsInFlightThenDisconnectsAndRefusesNewClients() throws Exception {
        try (ServerFixture f = new ServerFixture(dir)) {
            EncryptedVolume disk = f.volume("disk.img", 64 << 20, 4096);
            f.start(b -> b.workers(1), new NbdExport("disk", disk));
            try (RawClient c = f.open("disk")) {
                int n = 32;
                for (int i = 0; i < n; i++) {
                    c.request(Nbd.NBD_CMD_WRITE, 0, i, (long) i << 20, 1 << 20, random(1 << 20, i));
                }
                long deadline = System.nanoTime() + 30_000_000_000L;
                while (f.server.requestsRead() < n && System.nanoTime() < deadline) {
                    Thread.onSpinWait(); // all read, most still queued for the one worker
                }
                Thread closer = Thread.ofPlatform().start(f.server::close);
                Set<Long> answered = new HashSet<>();
                for (int i = 0; i < n; i++) {
                    RawClient.Reply r = c.reply();
                    assertEquals(0, r.error(), "cookie " + r.cookie());
                    assertTrue(answered.add(r.cookie()));
                }
                assertTrue(c.closedByServer(), "closed after the last reply");
                closer.join();
                assertThrows(IOException.class, () -> f.connect().greet(), "no longer listening");
                for (int i = 0; i < n; i++) {
                    byte[] back = new byte[1 << 20];
                    disk.read((long) i << 20, back, 0, back.length);
                    assertArrayEquals(random(1 << 20, i), back, "request " + i);
                }
            }
        }
    }
}
