package io.sectorcrypt.server;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.EOFException;
import java.io.IOException;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An NBD client on a raw socket, byte for byte as the specification writes the messages, so
 * tests can send what real clients never would. Written from the specification, not from the
 * server's code: it shares only {@link Nbd}'s numbers.
 */
final class RawClient implements AutoCloseable {
    final SocketChannel ch;
    int handshakeFlags;

    record OptionReply(int option, int type, byte[] data) {
        ByteBuffer buffer() {
            return ByteBuffer.wrap(data);
        }

        String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    record Reply(int error, long cookie, byte[] data) {
    }

    /** Connects and reads the greeting (but sends no client flags yet). */
    RawClient(SocketAddress address) throws IOException {
        ch = address instanceof UnixDomainSocketAddress ? SocketChannel.open(StandardProtocolFamily.UNIX)
                : SocketChannel.open();
        ch.connect(address);
    }

    /** Reads the greeting and sends the client flags. */
    RawClient greet(int clientFlags) throws IOException {
        ByteBuffer g = read(18);
        assertEquals(Nbd.NBDMAGIC, g.getLong(), "NBDMAGIC");
        assertEquals(Nbd.IHAVEOPT, g.getLong(), "IHAVEOPT");
        handshakeFlags = Short.toUnsignedInt(g.getShort());
        write(ByteBuffer.allocate(4).putInt(clientFlags).flip());
        return this;
    }

    RawClient greet() throws IOException {
        return greet(Nbd.NBD_FLAG_C_FIXED_NEWSTYLE | Nbd.NBD_FLAG_C_NO_ZEROES);
    }

    void option(int option, byte[] data) throws IOException {
        write(ByteBuffer.allocate(16 + data.length).putLong(Nbd.IHAVEOPT).putInt(option).putInt(data.length).put(data)
                .flip());
    }

    OptionReply optionReply() throws IOException {
        ByteBuffer h = read(20);
        assertEquals(Nbd.REPLY_MAGIC, h.getLong(), "option reply magic");
        int option = h.getInt();
        int type = h.getInt();
        int length = h.getInt();
        return new OptionReply(option, type, read(length).array());
    }

    /** Replies to one option up to and including its final one (an ACK or an error). */
    List<OptionReply> optionReplies() throws IOException {
        List<OptionReply> all = new ArrayList<>();
        while (true) {
            OptionReply r = optionReply();
            all.add(r);
            if (r.type() == Nbd.NBD_REP_ACK || (r.type() & Nbd.NBD_REP_FLAG_ERROR) != 0) {
                return all;
            }
        }
    }

    static byte[] goData(String name, int... infos) {
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(4 + n.length + 2 + 2 * infos.length);
        b.putInt(n.length).put(n).putShort((short) infos.length);
        for (int i : infos) {
            b.putShort((short) i);
        }
        return b.array();
    }

    /** NBD_OPT_GO with NBD_INFO_BLOCK_SIZE; returns the export's size and flags from NBD_INFO_EXPORT. */
    long[] go(String name) throws IOException {
        option(Nbd.NBD_OPT_GO, goData(name, Nbd.NBD_INFO_BLOCK_SIZE));
        long[] sizeAndFlags = null;
        for (OptionReply r : optionReplies()) {
            if (r.type() == Nbd.NBD_REP_INFO && r.buffer().getShort() == Nbd.NBD_INFO_EXPORT) {
                ByteBuffer b = r.buffer().position(2);
                sizeAndFlags = new long[] {b.getLong(), Short.toUnsignedInt(b.getShort())};
            } else if (r.type() != Nbd.NBD_REP_INFO && r.type() != Nbd.NBD_REP_ACK) {
                throw new AssertionError("NBD_OPT_GO failed: type 0x" + Integer.toHexString(r.type()) + " " + r.text());
            }
        }
        return sizeAndFlags;
    }

    void request(int type, int flags, long cookie, long offset, long length, byte[] payload) throws IOException {
        write(ByteBuffer.wrap(requestBytes(type, flags, cookie, offset, length, payload)));
    }

    /** A request as it goes on the wire, for tests that send several in one write. */
    static byte[] requestBytes(int type, int flags, long cookie, long offset, long length, byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(28 + (payload == null ? 0 : payload.length));
        b.putInt(Nbd.NBD_REQUEST_MAGIC).putShort((short) flags).putShort((short) type).putLong(cookie).putLong(offset)
                .putInt((int) length);
        if (payload != null) {
            b.put(payload);
        }
        return b.array();
    }

    /** Reads a simple reply; {@code readLength} is the data to expect if it is the reply to a successful read. */
    Reply reply(java.util.function.LongToIntFunction readLength) throws IOException {
        ByteBuffer h = read(16);
        assertEquals(Nbd.NBD_SIMPLE_REPLY_MAGIC, h.getInt(), "simple reply magic");
        int error = h.getInt();
        long cookie = h.getLong();
        int n = error == 0 ? readLength.applyAsInt(cookie) : 0;
        return new Reply(error, cookie, read(n).array());
    }

    Reply reply() throws IOException {
        return reply(c -> 0);
    }

    Reply read(long cookie, long offset, int length) throws IOException {
        request(Nbd.NBD_CMD_READ, 0, cookie, offset, length, null);
        return reply(c -> c == cookie ? length : 0);
    }

    Reply write(long cookie, long offset, byte[] data, int flags) throws IOException {
        request(Nbd.NBD_CMD_WRITE, flags, cookie, offset, data.length, data);
        return reply();
    }

    ByteBuffer read(int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n);
        while (b.hasRemaining()) {
            if (ch.read(b) < 0) {
                throw new EOFException("the server closed the connection");
            }
        }
        return b.flip();
    }

    void write(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            ch.write(b);
        }
    }

    /** Whether the server closed the connection (reads end of stream; waits at most the socket's patience). */
    boolean closedByServer() throws IOException {
        ByteBuffer one = ByteBuffer.allocate(1);
        try {
            return ch.read(one) < 0;
        } catch (IOException e) {
            return true; // reset by the peer: closed too
        }
    }

    @Override
    public void close() throws IOException {
        ch.close();
    }
}
