package io.sectorcrypt.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.volume.EncryptedVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Requests a client must not send ("Error values", "Size constraints"): each gets the error
 * the specification names and the connection stays in step, or (when the stream cannot be
 * trusted any more) a clean disconnect; the server serves on.
 */
@Timeout(60)
class NbdMisuseTest {
    private static final int SIZE = 4 << 20;
    private static final int MAX_PAYLOAD = 1 << 20;

    @TempDir
    Path dir;

    ServerFixture f;
    EncryptedVolume disk;

    @BeforeEach
    void start() {
        f = new ServerFixture(dir);
        disk = f.volume("disk.img", SIZE, 4096);
        f.volume("ro.img", SIZE, 4096).close();
        f.start(b -> b.maxPayload(MAX_PAYLOAD).maxConnections(3), new NbdExport("disk", disk),
                new NbdExport("ro", f.reopen("ro.img", true)));
    }

    @AfterEach
    void stop() {
        f.close();
    }

    /** The connection still serves: a write and a read back. */
    private static void stillServes(RawClient c) throws IOException {
        byte[] data = {9, 8, 7, 6};
        assertEquals(0, c.write(4242, 8192, java.util.Arrays.copyOf(data, 512), 0).error());
        RawClient.Reply r = c.read(4243, 8192, 512);
        assertEquals(0, r.error());
        assertArrayEquals(java.util.Arrays.copyOf(data, 512), r.data());
    }

    private static int error(RawClient c, int type, int flags, long offset, long length) throws IOException {
        c.request(type, flags, 77, offset, length, null);
        RawClient.Reply r = c.reply();
        assertEquals(77, r.cookie());
        return r.error();
    }

    @Test
    void outOfRangeRequestsGetEinvalOrEnospc() throws IOException {
        try (RawClient c = f.open("disk")) {
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_READ, 0, SIZE - 512, 1024), "a read past the end");
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_READ, 0, -512, 512), "offset 2^64 - 512");
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_TRIM, 0, SIZE, 512), "a trim past the end");
            assertEquals(Nbd.NBD_ENOSPC, error(c, Nbd.NBD_CMD_WRITE_ZEROES, 0, SIZE - 512, 4096),
                    "zeroes past the end");
            c.request(Nbd.NBD_CMD_WRITE, 0, 5, SIZE, 4096, new byte[4096]);
            assertEquals(Nbd.NBD_ENOSPC, c.reply().error(), "a write past the end");
            stillServes(c);
        }
    }

    @Test
    void oversizedRequestsGetEinvalAndAWritesPayloadIsDropped() throws IOException {
        try (RawClient c = f.open("disk")) {
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_READ, 0, 0, MAX_PAYLOAD + 512));
            c.request(Nbd.NBD_CMD_WRITE, 0, 6, 0, 2 * MAX_PAYLOAD, new byte[2 * MAX_PAYLOAD]);
            RawClient.Reply r = c.reply();
            assertEquals(Nbd.NBD_EINVAL, r.error());
            assertEquals(6, r.cookie());
            stillServes(c); // the 2 MiB were read and dropped: the next header is where it should be
        }
    }

    @Test
    void unalignedRequestsAfterAgreedBlockSizesGetEinval() throws IOException {
        try (RawClient c = f.open("disk")) { // open() asks for NBD_INFO_BLOCK_SIZE
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_READ, 0, 100, 512));
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_TRIM, 0, 0, 100));
            c.request(Nbd.NBD_CMD_WRITE, 0, 5, 0, 100, new byte[100]);
            assertEquals(Nbd.NBD_EINVAL, c.reply().error());
            stillServes(c);
        }
    }

    @Test
    void unknownCommandsAndFlagsGetEinval() throws IOException {
        try (RawClient c = f.open("disk")) {
            assertEquals(Nbd.NBD_EINVAL, error(c, 5 /* CACHE */, 0, 0, 512));
            assertEquals(Nbd.NBD_EINVAL, error(c, 7 /* BLOCK_STATUS */, 0, 0, 512));
            assertEquals(Nbd.NBD_EINVAL, error(c, 99, 0, 0, 0));
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_READ, Nbd.NBD_CMD_FLAG_NO_HOLE, 0, 512),
                    "NO_HOLE is for WRITE_ZEROES only");
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_READ, 1 << 2 /* DF, not negotiated */, 0, 512));
            assertEquals(Nbd.NBD_EINVAL, error(c, Nbd.NBD_CMD_FLUSH, 0, 512, 0), "a flush's offset must be zero");
            assertEquals(0, error(c, Nbd.NBD_CMD_READ, Nbd.NBD_CMD_FLAG_FUA, 0, 0), "FUA is accepted everywhere");
            stillServes(c);
        }
    }

    @Test
    void writesToAReadOnlyExportGetEperm() throws IOException {
        try (RawClient c = f.open("ro")) {
            c.request(Nbd.NBD_CMD_WRITE, 0, 5, 0, 4096, new byte[4096]);
            assertEquals(Nbd.NBD_EPERM, c.reply().error());
            assertEquals(Nbd.NBD_EPERM, error(c, Nbd.NBD_CMD_TRIM, 0, 0, 4096));
            assertEquals(Nbd.NBD_EPERM, error(c, Nbd.NBD_CMD_WRITE_ZEROES, 0, 0, 4096));
            assertEquals(0, c.read(1, 0, 4096).error());
            assertEquals(0, error(c, Nbd.NBD_CMD_FLUSH, 0, 0, 0));
        }
    }

    @Test
    void aBadRequestMagicClosesThatConnectionOnly() throws IOException {
        try (RawClient good = f.open("disk"); RawClient bad = f.open("disk")) {
            bad.write(ByteBuffer.allocate(28).putInt(0xdeadbeef).position(28).flip());
            assertTrue(bad.closedByServer());
            stillServes(good);
        }
    }

    @Test
    void aClientDisconnectingMidRequestLeavesTheServerServing() throws IOException {
        try (RawClient c = f.open("disk")) { // half a write: the header and part of its payload
            c.write(ByteBuffer.allocate(28 + 1000).putInt(Nbd.NBD_REQUEST_MAGIC).putShort((short) 0)
                    .putShort((short) Nbd.NBD_CMD_WRITE).putLong(1).putLong(0).putInt(1 << 20).position(28 + 1000)
                    .flip());
        }
        try (RawClient c = f.open("disk")) { // half a header
            c.write(ByteBuffer.allocate(10).putInt(Nbd.NBD_REQUEST_MAGIC).flip());
        }
        try (RawClient c = f.open("disk")) { // reads in flight, their replies never read
            for (int i = 0; i < 50; i++) {
                c.request(Nbd.NBD_CMD_READ, 0, i, 0, MAX_PAYLOAD, null);
            }
        }
        try (RawClient c = f.open("disk")) {
            stillServes(c);
        }
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (f.server.connectionCount() > 0 && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
        assertEquals(0, f.server.connectionCount(), "every abandoned connection was cleaned up");
    }

    @Test
    void clientsOverTheLimitAreRefusedAndServedOnceOneLeaves() throws IOException {
        RawClient first = f.open("disk");
        try (RawClient second = f.open("disk"); RawClient third = f.open("disk")) {
            try (RawClient fourth = f.connect()) {
                assertTrue(fourth.closedByServer(), "over the limit of 3: closed before the greeting");
            }
            stillServes(third);
            first.close();
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (f.server.connectionCount() > 2 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            try (RawClient again = f.open("disk")) {
                stillServes(again);
            }
            stillServes(second);
        }
    }
}
