package io.sectorcrypt.server;

import static io.sectorcrypt.server.ServerFixture.random;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.volume.EncryptedVolume;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The transmission path's machinery: requests read ahead (many in one read, a refused write's
 * payload dropped from what was read ahead, a payload partly read ahead and partly not),
 * small requests run on the connection's reader with their replies sent together, and which
 * requests go to the workers.
 */
@Timeout(120)
class NbdPipelineTest {
    private static final int SIZE = 16 << 20;

    @TempDir
    Path dir;

    ServerFixture f;
    EncryptedVolume disk;

    private void start(java.util.function.UnaryOperator<NbdServer.Builder> tune) {
        f = new ServerFixture(dir);
        disk = f.volume("disk.img", SIZE, 4096);
        f.start(tune, new NbdExport("disk", disk));
    }

    @AfterEach
    void stop() {
        if (f != null) {
            f.close();
        }
    }


    @Test
    void requestsSentInOneWriteAreAllAnsweredAndSmallRepliesShareWrites() throws IOException {
        start(b -> b);
        byte[] image = random(1 << 20, 1);
        disk.write(0, image, 0, image.length);
        try (RawClient c = f.open("disk")) {
            ByteArrayOutputStream wire = new ByteArrayOutputStream();
            Map<Long, Integer> expect = new HashMap<>(); // cookie -> error
            Map<Long, byte[]> data = new HashMap<>(); // cookie -> data a read must return
            for (long i = 0; i < 24; i++) {
                wire.writeBytes(RawClient.requestBytes(Nbd.NBD_CMD_READ, 0, i, i * 4096, 4096, null));
                expect.put(i, 0);
                data.put(i, java.util.Arrays.copyOfRange(image, (int) i * 4096, (int) (i + 1) * 4096));
            }
            // Refused, and its payload (read ahead with the requests around it) dropped.
            wire.writeBytes(RawClient.requestBytes(Nbd.NBD_CMD_WRITE, 0, 100, SIZE, 4096, random(4096, 2)));
            expect.put(100L, Nbd.NBD_ENOSPC);
            byte[] small = random(4096, 3);
            wire.writeBytes(RawClient.requestBytes(Nbd.NBD_CMD_WRITE, 0, 101, 2 << 20, small.length, small));
            expect.put(101L, 0);
            // Larger than the read-ahead: its payload comes partly from it, the rest from the socket.
            byte[] large = random(NbdConnection.INPUT_BYTES * 2 + 4096, 4);
            wire.writeBytes(RawClient.requestBytes(Nbd.NBD_CMD_WRITE, 0, 102, 4 << 20, large.length, large));
            expect.put(102L, 0);
            for (long i = 200; i < 208; i++) {
                wire.writeBytes(RawClient.requestBytes(Nbd.NBD_CMD_READ, 0, i, (i - 200) * 512, 512, null));
                expect.put(i, 0);
                data.put(i, java.util.Arrays.copyOfRange(image, (int) (i - 200) * 512, (int) (i - 199) * 512));
            }
            long repliesBefore = f.server.repliesSent();
            long writesBefore = f.server.replyWrites();
            long inlineBefore = f.server.requestsRanInline();
            c.write(ByteBuffer.wrap(wire.toByteArray()));
            for (int i = 0; i < expect.size(); i++) {
                RawClient.Reply r = c.reply(cookie -> data.containsKey(cookie) ? data.get(cookie).length : 0);
                assertEquals(expect.get(r.cookie()), r.error(), "cookie " + r.cookie());
                if (r.error() == 0 && data.containsKey(r.cookie())) {
                    assertArrayEquals(data.get(r.cookie()), r.data(), "cookie " + r.cookie());
                }
            }
            assertArrayEquals(small, c.read(300, 2 << 20, small.length).data());
            assertArrayEquals(large, c.read(301, 4 << 20, large.length).data());
            long replies = f.server.repliesSent() - repliesBefore;
            long writes = f.server.replyWrites() - writesBefore;
            assertTrue(replies >= expect.size(), replies + " replies sent");
            // The reader held the replies of the reads it ran until it had to wait for input.
            assertTrue(writes < replies / 2, replies + " replies took " + writes + " writes");
            assertTrue(f.server.requestsRanInline() - inlineBefore >= 24 + 8 + 1, "the small reads and write ran inline");
        }
    }

    @Test
    void flushFuaAndLargeRequestsGoToTheWorkers() throws IOException {
        start(b -> b.inlineLargeFrom(2)); // one connection: below it
        try (RawClient c = f.open("disk")) {
            assertEquals(0, c.read(1, 0, 4096).error());
            long inline = f.server.requestsRanInline();
            assertTrue(inline >= 1, "a 4 KiB read runs on the reader");
            assertEquals(0, c.write(2, 0, random(4096, 5), Nbd.NBD_CMD_FLAG_FUA).error());
            c.request(Nbd.NBD_CMD_FLUSH, 0, 3, 0, 0, null);
            assertEquals(0, c.reply().error());
            byte[] large = random(1 << 20, 6);
            assertEquals(0, c.write(4, 0, large, 0).error());
            assertArrayEquals(large, c.read(5, 0, large.length).data());
            assertEquals(inline, f.server.requestsRanInline(), "FUA, FLUSH and the large write and read ran on workers");
        }
    }

    @Test
    void fromInlineLargeFromConnectionsLargeReadsAndWritesRunOnTheReader() throws IOException {
        start(b -> b.inlineLargeFrom(2));
        byte[] large = random(1 << 20, 7);
        try (RawClient c = f.open("disk"); RawClient other = f.open("disk")) {
            long inline = f.server.requestsRanInline();
            assertEquals(0, c.write(1, 0, large, 0).error());
            assertEquals(inline + 1, f.server.requestsRanInline(), "the large write ran on its reader");
            assertArrayEquals(large, c.read(2, 0, large.length).data());
            assertArrayEquals(java.util.Arrays.copyOfRange(large, 4096, 4096 + 300 * 1024),
                    other.read(3, 4096, 300 * 1024).data());
            assertEquals(inline + 3, f.server.requestsRanInline(), "both large reads ran on their readers");
            byte[] unaligned = random(300 * 1024 + 512, 8); // 512-byte blocks, not whole 4 KiB sectors
            assertEquals(0, other.write(5, 512, unaligned, 0).error());
            assertArrayEquals(unaligned, c.read(6, 512, unaligned.length).data());
            System.arraycopy(unaligned, 0, large, 512, unaligned.length);
            assertArrayEquals(large, c.read(7, 0, large.length).data());
            inline = f.server.requestsRanInline();
            c.request(Nbd.NBD_CMD_READ, Nbd.NBD_CMD_FLAG_FUA, 4, 0, large.length, null);
            assertArrayEquals(large, c.reply(cookie -> large.length).data());
            assertEquals(inline, f.server.requestsRanInline(), "a read with FUA went to a worker");
            byte[] huge = random(NbdConnection.INLINE_LARGE_BYTES + 4096, 9);
            assertEquals(0, c.write(8, 0, huge, 0).error());
            assertArrayEquals(huge, other.read(9, 0, huge.length).data());
            assertEquals(inline, f.server.requestsRanInline(), "a write and a read over the limit went to workers");
        }
    }
}
