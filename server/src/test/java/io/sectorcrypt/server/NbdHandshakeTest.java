package io.sectorcrypt.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.volume.EncryptedVolume;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Option haggling ("Fixed newstyle negotiation", "Option types"), as a raw client sees it. One
 * server for the class (a vault's RSA key is slow to make); no test changes what another reads.
 */
@Timeout(60)
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class NbdHandshakeTest {
    private static final int MAX_PAYLOAD = 1 << 20;

    @TempDir
    static Path dir;

    ServerFixture f;
    EncryptedVolume big;
    EncryptedVolume small;

    @BeforeAll
    void start() {
        f = new ServerFixture(dir);
        big = f.volume("big.img", 8 << 20, 4096);
        small = f.volume("small.img", 1 << 20, 512);
        f.volume("ro.img", 1 << 20, 4096).close();
        EncryptedVolume ro = f.reopen("ro.img", true);
        f.start(b -> b.maxPayload(MAX_PAYLOAD), new NbdExport("big", "the big disk", big), new NbdExport("small", small),
                new NbdExport("ro", ro));
    }

    @AfterAll
    void stop() {
        f.close();
    }

    @Test
    void greetingOffersFixedNewstyleAndNoZeroes() throws IOException {
        try (RawClient c = f.connect().greet()) {
            assertEquals(Nbd.NBD_FLAG_FIXED_NEWSTYLE | Nbd.NBD_FLAG_NO_ZEROES, c.handshakeFlags);
        }
    }

    @Test
    void goAnswersSizeFlagsAndBlockSizesThenTransmissionStarts() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.option(Nbd.NBD_OPT_GO, RawClient.goData("big", Nbd.NBD_INFO_BLOCK_SIZE));
            Map<Integer, ByteBuffer> infos = infos(c.optionReplies());
            ByteBuffer export = infos.get(Nbd.NBD_INFO_EXPORT);
            assertEquals(big.size(), export.getLong());
            int flags = Short.toUnsignedInt(export.getShort());
            assertEquals(Nbd.NBD_FLAG_HAS_FLAGS | Nbd.NBD_FLAG_SEND_FLUSH | Nbd.NBD_FLAG_SEND_FUA
                    | Nbd.NBD_FLAG_SEND_TRIM | Nbd.NBD_FLAG_SEND_WRITE_ZEROES | Nbd.NBD_FLAG_CAN_MULTI_CONN, flags);
            ByteBuffer sizes = infos.get(Nbd.NBD_INFO_BLOCK_SIZE);
            assertEquals(512, sizes.getInt(), "minimum");
            assertEquals(big.sectorSize(), sizes.getInt(), "preferred: the sector size");
            assertEquals(MAX_PAYLOAD, sizes.getInt(), "maximum: the payload limit");
            // In transmission now: a read works.
            RawClient.Reply r = c.read(7, 0, 4096);
            assertEquals(0, r.error());
            assertEquals(7, r.cookie());
        }
    }

    @Test
    void infoReportsEachExportsOwnSectorSizeAndReadOnlyFlagAndNegotiationGoesOn() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.option(Nbd.NBD_OPT_INFO, RawClient.goData("small"));
            Map<Integer, ByteBuffer> infos = infos(c.optionReplies());
            assertEquals(small.size(), infos.get(Nbd.NBD_INFO_EXPORT).getLong());
            assertEquals(512, infos.get(Nbd.NBD_INFO_BLOCK_SIZE).position(4).getInt(), "preferred of a 512-byte disk");
            c.option(Nbd.NBD_OPT_INFO, RawClient.goData("ro"));
            ByteBuffer ro = infos(c.optionReplies()).get(Nbd.NBD_INFO_EXPORT);
            int flags = Short.toUnsignedInt(ro.position(8).getShort());
            assertEquals(Nbd.NBD_FLAG_HAS_FLAGS | Nbd.NBD_FLAG_READ_ONLY | Nbd.NBD_FLAG_SEND_FLUSH
                    | Nbd.NBD_FLAG_CAN_MULTI_CONN, flags, "a read-only export offers no command that writes");
            assertEquals(f.server.exports().get("ro").volume().size(), ro.position(0).getLong());
            assertEquals(f.server.exports().get("ro").volume().size(), c.go("ro")[0]);
        }
    }

    @Test
    void nameAndDescriptionAreSentWhenAsked() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.option(Nbd.NBD_OPT_INFO, RawClient.goData("big", Nbd.NBD_INFO_NAME, Nbd.NBD_INFO_DESCRIPTION));
            Map<Integer, ByteBuffer> infos = infos(c.optionReplies());
            assertEquals("big", text(infos.get(Nbd.NBD_INFO_NAME)));
            assertEquals("the big disk", text(infos.get(Nbd.NBD_INFO_DESCRIPTION)));
            c.option(Nbd.NBD_OPT_INFO, RawClient.goData("big"));
            infos = infos(c.optionReplies());
            assertTrue(!infos.containsKey(Nbd.NBD_INFO_NAME) && !infos.containsKey(Nbd.NBD_INFO_DESCRIPTION),
                    "not asked, not sent");
        }
    }

    @Test
    void listNamesEveryExportWithItsDescription() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.option(Nbd.NBD_OPT_LIST, new byte[0]);
            List<RawClient.OptionReply> replies = c.optionReplies();
            assertEquals(Nbd.NBD_REP_ACK, replies.getLast().type());
            List<String> names = new ArrayList<>();
            for (RawClient.OptionReply r : replies.subList(0, replies.size() - 1)) {
                assertEquals(Nbd.NBD_REP_SERVER, r.type());
                ByteBuffer b = r.buffer();
                byte[] name = new byte[b.getInt()];
                b.get(name);
                names.add(new String(name, StandardCharsets.UTF_8) + "|" + text(b));
            }
            assertEquals(List.of("big|the big disk", "small|", "ro|"), names);
            c.option(Nbd.NBD_OPT_LIST, new byte[] {1});
            assertEquals(Nbd.NBD_REP_ERR_INVALID, c.optionReply().type(), "NBD_OPT_LIST takes no data");
            assertEquals(big.size(), c.go("big")[0], "the session goes on");
        }
    }

    @Test
    void unknownExportAndUnknownOptionsGetErrorRepliesAndTheSessionGoesOn() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.option(Nbd.NBD_OPT_GO, RawClient.goData("nope"));
            RawClient.OptionReply r = c.optionReply();
            assertEquals(Nbd.NBD_REP_ERR_UNKNOWN, r.type());
            assertTrue(r.text().contains("nope"), r.text());
            c.option(Nbd.NBD_OPT_GO, RawClient.goData(""));
            assertEquals(Nbd.NBD_REP_ERR_UNKNOWN, c.optionReply().type(), "three exports: no default");
            for (int option : new int[] {5 /* STARTTLS */, 8 /* STRUCTURED_REPLY */, 10 /* SET_META_CONTEXT */, 4242}) {
                c.option(option, new byte[3]);
                r = c.optionReply();
                assertEquals(Nbd.NBD_REP_ERR_UNSUP, r.type(), "option " + option);
                assertEquals(option, r.option());
            }
            assertEquals(big.size(), c.go("big")[0]);
        }
    }

    @Test
    void malformedGoGetsInvalid() throws IOException {
        try (RawClient c = f.connect().greet()) {
            byte[] good = RawClient.goData("big", Nbd.NBD_INFO_BLOCK_SIZE);
            for (byte[] bad : new byte[][] {new byte[5], java.util.Arrays.copyOf(good, good.length - 1),
                java.util.Arrays.copyOf(good, good.length + 2), ByteBuffer.allocate(6).putInt(1000).array()}) {
                c.option(Nbd.NBD_OPT_GO, bad);
                assertEquals(Nbd.NBD_REP_ERR_INVALID, c.optionReply().type());
            }
            assertEquals(big.size(), c.go("big")[0]);
        }
    }

    @Test
    void exportNameGoesStraightToTransmissionWithOrWithoutPadding() throws IOException {
        for (boolean noZeroes : new boolean[] {true, false}) {
            try (RawClient c = f.connect().greet(Nbd.NBD_FLAG_C_FIXED_NEWSTYLE
                    | (noZeroes ? Nbd.NBD_FLAG_C_NO_ZEROES : 0))) {
                c.option(Nbd.NBD_OPT_EXPORT_NAME, "small".getBytes(StandardCharsets.UTF_8));
                ByteBuffer b = c.read(10 + (noZeroes ? 0 : Nbd.EXPORT_NAME_PADDING));
                assertEquals(small.size(), b.getLong());
                assertEquals(Nbd.NBD_FLAG_HAS_FLAGS, b.getShort() & Nbd.NBD_FLAG_HAS_FLAGS);
                while (b.hasRemaining()) {
                    assertEquals(0, b.get(), "the padding is zeros");
                }
                // No block sizes were agreed: an unaligned write is served (read-modify-write).
                byte[] data = {1, 2, 3};
                assertEquals(0, c.write(1, 1001, data, 0).error());
                assertArrayEquals(data, c.read(2, 1001, 3).data());
            }
        }
    }

    @Test
    void exportNameOfAnUnknownExportEndsTheSession() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.option(Nbd.NBD_OPT_EXPORT_NAME, "nope".getBytes(StandardCharsets.UTF_8));
            assertTrue(c.closedByServer());
        }
        try (RawClient c = f.open("big")) {
            assertEquals(0, c.read(1, 0, 512).error(), "the server lives on");
        }
    }

    @Test
    void abortIsAcknowledgedThenClosed() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.option(Nbd.NBD_OPT_ABORT, new byte[0]);
            assertEquals(Nbd.NBD_REP_ACK, c.optionReply().type());
            assertTrue(c.closedByServer());
        }
    }

    @Test
    void badOptionMagicUnknownClientFlagsAndHugeOptionsClose() throws IOException {
        try (RawClient c = f.connect().greet()) {
            c.write(ByteBuffer.allocate(16).putLong(0x1234).putInt(Nbd.NBD_OPT_LIST).putInt(0).flip());
            assertTrue(c.closedByServer(), "bad option magic");
        }
        try (RawClient c = f.connect().greet(1 << 7)) {
            assertTrue(c.closedByServer(), "unknown client flags");
        }
        try (RawClient c = f.connect().greet()) {
            c.write(ByteBuffer.allocate(16).putLong(Nbd.IHAVEOPT).putInt(Nbd.NBD_OPT_GO).putInt(1 << 30).flip());
            assertTrue(c.closedByServer(), "a gigabyte option");
        }
        try (RawClient c = f.open("small")) {
            assertEquals(0, c.read(1, 0, 512).error(), "the server lives on");
        }
    }

    @Test
    void theOnlyExportIsTheDefault(@TempDir Path other) throws IOException {
        try (ServerFixture g = new ServerFixture(other)) {
            EncryptedVolume v = g.volume("only.img", 1 << 20, 4096);
            g.start(b -> b, new NbdExport("only", v));
            try (RawClient c = g.connect().greet()) {
                assertEquals(v.size(), c.go("")[0]);
            }
        }
    }

    @Test
    void theBuilderRefusesWhatCannotBeServed() {
        assertThrows(IllegalArgumentException.class, () -> NbdServer.builder().export(new NbdExport("big", big))
                .export(new NbdExport("big", small)));
        assertThrows(IllegalArgumentException.class, () -> NbdServer.builder().export(new NbdExport("a", big))
                .export(new NbdExport("b", big)));
        assertThrows(IllegalStateException.class, () -> NbdServer.builder().build());
        assertThrows(IllegalArgumentException.class, () -> NbdServer.builder().maxPayload(1000));
        assertThrows(IllegalStateException.class, () -> NbdServer.builder().export(new NbdExport("a", big))
                .maxPayload(1 << 20).maxBytesInFlight(1 << 20).build());
        assertThrows(IllegalArgumentException.class, () -> NbdServer.builder().maxConnections(0));
        assertThrows(IllegalArgumentException.class, () -> new NbdExport("", big));
        assertThrows(IllegalArgumentException.class, () -> new NbdExport("x".repeat(4097), big));
        assertThrows(IllegalArgumentException.class, () -> new NbdExport("a\0b", big));
    }

    /** The NBD_REP_INFO replies of one option by information type, each positioned after its type. */
    private static Map<Integer, ByteBuffer> infos(List<RawClient.OptionReply> replies) {
        assertEquals(Nbd.NBD_REP_ACK, replies.getLast().type(), "the last reply is the ACK");
        Map<Integer, ByteBuffer> m = new java.util.HashMap<>();
        for (RawClient.OptionReply r : replies.subList(0, replies.size() - 1)) {
            assertEquals(Nbd.NBD_REP_INFO, r.type());
            ByteBuffer b = r.buffer();
            m.put(Short.toUnsignedInt(b.getShort()), b.slice());
        }
        assertTrue(m.containsKey(Nbd.NBD_INFO_EXPORT) && m.containsKey(Nbd.NBD_INFO_BLOCK_SIZE), m.keySet()
                .toString());
        return m;
    }

    private static String text(ByteBuffer b) {
        byte[] bytes = new byte[b.remaining()];
        b.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
