package io.sectorcrypt.server;

import io.sectorcrypt.keys.KeyUnavailableException;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.lang.System.Logger.Level;

/**
 * One client: the handshake, then the transmission phase. A thread of its own reads
 * requests (reading ahead: {@link #input}), checks each completely ({@link #validate}), and
 * hands the valid ones to the server's worker pool; the workers run them against the volume
 * and queue the replies, in the order they complete, for whichever thread is writing
 * ({@link #send}): one writer at a time, each reply whole, several per gathering write when
 * they complete together.
 */
final class NbdConnection {
    /** Largest option payload read ("Option haggling"): a name, a description, info requests. */
    private static final int MAX_OPTION_BYTES = 2 * Nbd.MAX_STRING_BYTES + 64;
    /** Scratch for dropping a refused write's payload, so the stream stays in step. */
    private static final int DRAIN_CHUNK = 64 * 1024;
    private static final int MIN_BLOCK_SIZE = 512;
    /** Read-ahead of the transmission phase: a few dozen small requests with their payloads. */
    static final int INPUT_BYTES = 128 * 1024;
    /** Largest READ or WRITE the connection's reader runs itself ({@link #runsInline}). */
    static final int INLINE_BYTES = 64 * 1024;
    /**
     * Largest READ or WRITE the reader runs itself once every core has a reader
     * ({@link #runsInline}): a larger one (up to the 32 MiB payload limit, 10 ms and more of
     * cipher and copies) would hold up every request pipelined behind it on its connection,
     * while on a worker it leaves the reader to read on (and a READ there spreads over the
     * sector queue); its hand-off costs little beside it.
     */
    static final int INLINE_LARGE_BYTES = 1 << 20;
    /** Most replies one gathering write sends (each is a header and at most one payload: 2 iovecs). */
    static final int MAX_BATCH = 64;
    /**
     * A batch takes no more replies once it holds this much read data: batching saves a
     * syscall per reply, which only small replies notice, while a reply's buffer and its
     * share of the memory cap are let go only after its whole batch is written.
     */
    static final int MAX_BATCH_DATA = 128 * 1024;

    private final NbdServer server;
    private final SocketChannel channel;
    private final int id;
    private final Thread reader;
    /** Guards {@link #outbox}, {@link #writing}, {@link #requestsInFlight}; never held over a syscall. */
    private final ReentrantLock replyLock = new ReentrantLock();
    private final Semaphore bytesInFlight;
    /** Requests read and not yet answered (their reply written or dropped); guarded by {@link #replyLock}. */
    private int requestsInFlight;
    private final java.util.concurrent.locks.Condition drained = replyLock.newCondition();
    /** Replies waiting for the writer, oldest first; guarded by {@link #replyLock}. */
    private final ArrayDeque<Reply> outbox = new ArrayDeque<>();
    /**
     * Some thread is the writer: it sends what {@link #outbox} holds until it finds it empty.
     * Guarded by {@link #replyLock}; only the writer touches {@link #batch}, {@link #iov} and
     * {@link #replyHeaders}.
     */
    private boolean writing;
    /** Signalled when the writer finds the outbox empty and stops. */
    private final java.util.concurrent.locks.Condition writerDone = replyLock.newCondition();
    private final Reply[] batch = new Reply[MAX_BATCH];
    private final ByteBuffer[] iov = new ByteBuffer[2 * MAX_BATCH];
    /** The batch's reply headers, direct so that the gathering write copies nothing. */
    private final ByteBuffer replyHeaders = ByteBuffer.allocateDirect(MAX_BATCH * Nbd.SIMPLE_REPLY_BYTES);
    /** The client stopped listening: replies are dropped. */
    private volatile boolean replyFailed;
    /**
     * The transmission phase's input, read ahead: its position..limit are bytes received and
     * not yet parsed. One read() brings in as many pipelined requests as have arrived, so a
     * client with many small requests in flight costs one syscall per batch rather than two
     * per request (header, then payload). Direct, so that the JDK reads into it without its
     * temporary buffer.
     */
    private ByteBuffer input;
    /**
     * The last request was a WRITE too large to run inline: the next header is read alone,
     * without read-ahead, so that the payload after it goes from the socket straight into its
     * own buffer rather than partly through {@link #input} and a copy. A client streaming
     * large writes (nbdcopy: 256 KiB each) gains nothing from read-ahead.
     */
    private boolean readExactly;
    /** Read data in replies the reader holds back (see {@link #hold}); only the reader touches it. */
    private long heldBytes;
    private boolean noZeroes;
    /** The client asked for NBD_INFO_BLOCK_SIZE in NBD_OPT_GO, so it promised to keep to them. */
    private boolean blockSizesAgreed;
    /**
     * Set once, by whichever comes first: the end of negotiation (the timeout no longer
     * applies) or the handshake timeout (the connection is closed).
     */
    private final java.util.concurrent.atomic.AtomicBoolean handshakeOver =
            new java.util.concurrent.atomic.AtomicBoolean();

    NbdConnection(NbdServer server, SocketChannel channel, int id) {
        this.server = server;
        this.channel = channel;
        this.id = id;
        this.bytesInFlight = new Semaphore((int) server.maxBytesInFlight());
        this.reader = Thread.ofPlatform().daemon().name("nbd-client-" + id).unstarted(this::run);
    }

    void start() {
        reader.start();
    }

    /** Stops reading requests: those read already finish and are answered, then the connection closes. */
    void stopReading() {
        try {
            channel.shutdownInput();
        } catch (IOException e) {
            NbdServer.quietClose(channel); // not connected any more: nothing to finish
        }
    }

    void awaitEnd(Duration limit) {
        try {
            reader.join(limit.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (reader.isAlive()) {
            NbdServer.LOG.log(Level.WARNING, "NBD client {0} did not finish in {1} s; closing it", new Object[] {id,
                limit.toSeconds()});
            NbdServer.quietClose(channel);
        }
    }

    /** The handshake timeout: a client still negotiating is disconnected (its reader sees the close). */
    private void endSlowHandshake() {
        if (handshakeOver.compareAndSet(false, true)) {
            NbdServer.LOG.log(Level.WARNING, "NBD client {0} disconnected: no export chosen in {1} ms", new Object[] {id,
                server.handshakeTimeout().toMillis()});
            NbdServer.quietClose(channel);
        }
    }

    private void run() {
        try {
            try {
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true); // replies are small and latency-bound
            } catch (UnsupportedOperationException e) {
                // A Unix domain socket: no Nagle to turn off.
            }
            java.util.concurrent.CompletableFuture.delayedExecutor(server.handshakeTimeout().toMillis(),
                    TimeUnit.MILLISECONDS).execute(this::endSlowHandshake);
            NbdExport export = handshake();
            if (!handshakeOver.compareAndSet(false, true)) {
                return; // timed out as the client chose: the channel is closed
            }
            if (export != null) {
                NbdServer.LOG.log(Level.DEBUG, "NBD client {0} uses export {1}", new Object[] {id, export.name()});
                transmission(export);
            }
        } catch (EOFException e) {
            NbdServer.LOG.log(Level.DEBUG, "NBD client {0} went away: {1}", new Object[] {id, e.getMessage()});
        } catch (ProtocolViolation e) {
            NbdServer.LOG.log(Level.WARNING, "NBD client {0} disconnected: {1}", new Object[] {id, e.getMessage()});
        } catch (IOException e) {
            NbdServer.LOG.log(Level.DEBUG, "NBD client {0}: {1}", new Object[] {id, e.toString()});
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            NbdServer.LOG.log(Level.ERROR, "NBD client " + id + ": unexpected failure", e);
        } finally {
            handshakeOver.set(true); // however it ended, the timer has nothing left to do
            flush(); // what the reader ran and held back
            awaitRequests();
            if (input != null) {
                // Small WRITE payloads passed through it in plaintext, as through the pool's
                // buffers, which are zeroed when let go too.
                MemorySegment.ofBuffer(input.clear()).fill((byte) 0);
            }
            NbdServer.quietClose(channel);
            server.connectionEnded(this);
        }
    }

    /** A violation of a MUST that leaves the stream unusable: a hard disconnect ("Terminating the transmission phase"). */
    private static final class ProtocolViolation extends IOException {
        private static final long serialVersionUID = 1L;

        ProtocolViolation(String message) {
            super(message);
        }
    }

    // -- handshake ("Fixed newstyle negotiation", "Option types") ---------------------------

    /** Negotiates; returns the export the client chose, or null if it ended the session. */
    private NbdExport handshake() throws IOException {
        ByteBuffer greeting = ByteBuffer.allocate(18);
        greeting.putLong(Nbd.NBDMAGIC).putLong(Nbd.IHAVEOPT)
                .putShort((short) (Nbd.NBD_FLAG_FIXED_NEWSTYLE | Nbd.NBD_FLAG_NO_ZEROES)).flip();
        writeFully(greeting);
        int clientFlags = readFully(4).getInt();
        if ((clientFlags & ~(Nbd.NBD_FLAG_C_FIXED_NEWSTYLE | Nbd.NBD_FLAG_C_NO_ZEROES)) != 0) {
            // "Client flags": a server MUST close on flags it does not know.
            throw new ProtocolViolation("unknown client flags 0x" + Integer.toHexString(clientFlags));
        }
        noZeroes = (clientFlags & Nbd.NBD_FLAG_C_NO_ZEROES) != 0;
        while (true) {
            ByteBuffer header = readFully(16);
            long magic = header.getLong();
            if (magic != Nbd.IHAVEOPT) {
                throw new ProtocolViolation("bad option magic 0x" + Long.toHexString(magic));
            }
            int option = header.getInt();
            long length = Integer.toUnsignedLong(header.getInt());
            if (length > MAX_OPTION_BYTES) {
                // No option this server knows is this long: dropping megabytes to stay in step
                // would be a denial of service.
                throw new ProtocolViolation("option " + option + " of " + length + " bytes (at most "
                        + MAX_OPTION_BYTES + ")");
            }
            ByteBuffer data = readFully((int) length);
            switch (option) {
                case Nbd.NBD_OPT_EXPORT_NAME -> {
                    NbdExport export = find(utf8(data, (int) length));
                    if (export == null) {
                        // NBD_OPT_EXPORT_NAME has no error reply: the server MUST terminate the session.
                        throw new ProtocolViolation("NBD_OPT_EXPORT_NAME of an unknown export");
                    }
                    ByteBuffer reply = ByteBuffer.allocate(10 + (noZeroes ? 0 : Nbd.EXPORT_NAME_PADDING));
                    reply.putLong(export.volume().size()).putShort((short) export.transmissionFlags());
                    reply.position(reply.limit()).flip();
                    writeFully(reply);
                    return export;
                }
                case Nbd.NBD_OPT_ABORT -> {
                    optionReply(option, Nbd.NBD_REP_ACK, ByteBuffer.allocate(0));
                    return null;
                }
                case Nbd.NBD_OPT_LIST -> list(data);
                case Nbd.NBD_OPT_INFO, Nbd.NBD_OPT_GO -> {
                    NbdExport export = info(option, data);
                    if (export != null && option == Nbd.NBD_OPT_GO) {
                        return export;
                    }
                }
                default -> optionError(option, Nbd.NBD_REP_ERR_UNSUP, "option " + option + " is not supported");
            }
        }
    }

    /** NBD_OPT_LIST: one NBD_REP_SERVER per export (name, then its description), then NBD_REP_ACK. */
    private void list(ByteBuffer data) throws IOException {
        if (data.hasRemaining()) {
            optionError(Nbd.NBD_OPT_LIST, Nbd.NBD_REP_ERR_INVALID, "NBD_OPT_LIST takes no data");
            return;
        }
        for (NbdExport e : server.exports().values()) {
            byte[] name = e.name().getBytes(StandardCharsets.UTF_8);
            byte[] description = e.description() == null ? new byte[0]
                    : e.description().getBytes(StandardCharsets.UTF_8);
            ByteBuffer reply = ByteBuffer.allocate(4 + name.length + description.length);
            reply.putInt(name.length).put(name).put(description).flip();
            optionReply(Nbd.NBD_OPT_LIST, Nbd.NBD_REP_SERVER, reply);
        }
        optionReply(Nbd.NBD_OPT_LIST, Nbd.NBD_REP_ACK, ByteBuffer.allocate(0));
    }

    /**
     * NBD_OPT_INFO and NBD_OPT_GO: data is a 32-bit name length, the name, a 16-bit count of
     * information requests and that many 16-bit NBD_INFO_* types. Replies NBD_INFO_EXPORT and
     * NBD_INFO_BLOCK_SIZE always, NBD_INFO_NAME and NBD_INFO_DESCRIPTION if asked, then
     * NBD_REP_ACK; or an error reply.
     *
     * @return the export, or null after an error reply
     */
    private NbdExport info(int option, ByteBuffer data) throws IOException {
        String what = option == Nbd.NBD_OPT_GO ? "NBD_OPT_GO" : "NBD_OPT_INFO";
        if (data.remaining() < 6) {
            optionError(option, Nbd.NBD_REP_ERR_INVALID, what + " of " + data.remaining() + " bytes is too short");
            return null;
        }
        long nameLength = Integer.toUnsignedLong(data.getInt());
        if (nameLength > data.remaining() - 2) {
            optionError(option, Nbd.NBD_REP_ERR_INVALID, what + ": the name's length runs past the option");
            return null;
        }
        String name;
        try {
            name = utf8(data, (int) nameLength);
        } catch (ProtocolViolation e) {
            optionError(option, Nbd.NBD_REP_ERR_INVALID, what + ": " + e.getMessage());
            return null;
        }
        int requests = Short.toUnsignedInt(data.getShort());
        if (data.remaining() != 2 * requests) {
            optionError(option, Nbd.NBD_REP_ERR_INVALID, what + ": " + requests + " information requests need "
                    + 2 * requests + " bytes, not " + data.remaining());
            return null;
        }
        boolean wantName = false;
        boolean wantDescription = false;
        boolean wantBlockSize = false;
        for (int i = 0; i < requests; i++) {
            switch (Short.toUnsignedInt(data.getShort())) {
                case Nbd.NBD_INFO_NAME -> wantName = true;
                case Nbd.NBD_INFO_DESCRIPTION -> wantDescription = true;
                case Nbd.NBD_INFO_BLOCK_SIZE -> wantBlockSize = true;
                default -> {
                    // NBD_INFO_EXPORT is always sent; others are unknown and ignored, as the spec allows.
                }
            }
        }
        NbdExport export = find(name);
        if (export == null) {
            optionError(option, Nbd.NBD_REP_ERR_UNKNOWN, name.isEmpty()
                    ? "no default export: this server has " + server.exports().size() + " exports"
                    : "no export named '" + name + "'");
            return null;
        }
        ByteBuffer exportInfo = ByteBuffer.allocate(12);
        exportInfo.putShort((short) Nbd.NBD_INFO_EXPORT).putLong(export.volume().size())
                .putShort((short) export.transmissionFlags()).flip();
        optionReply(option, Nbd.NBD_REP_INFO, exportInfo);
        if (wantName) {
            byte[] b = export.name().getBytes(StandardCharsets.UTF_8);
            optionReply(option, Nbd.NBD_REP_INFO, ByteBuffer.allocate(2 + b.length)
                    .putShort((short) Nbd.NBD_INFO_NAME).put(b).flip());
        }
        if (wantDescription && export.description() != null) {
            byte[] b = export.description().getBytes(StandardCharsets.UTF_8);
            optionReply(option, Nbd.NBD_REP_INFO, ByteBuffer.allocate(2 + b.length)
                    .putShort((short) Nbd.NBD_INFO_DESCRIPTION).put(b).flip());
        }
        // Sent whether asked or not: "Size constraints" says a server with constraints other
        // than the defaults SHOULD advertise them.
        ByteBuffer sizes = ByteBuffer.allocate(14);
        sizes.putShort((short) Nbd.NBD_INFO_BLOCK_SIZE).putInt(MIN_BLOCK_SIZE).putInt(export.volume().sectorSize())
                .putInt(server.maxPayload()).flip();
        optionReply(option, Nbd.NBD_REP_INFO, sizes);
        optionReply(option, Nbd.NBD_REP_ACK, ByteBuffer.allocate(0));
        if (option == Nbd.NBD_OPT_GO) {
            blockSizesAgreed = wantBlockSize;
        }
        return export;
    }

    /** The export of that name; the empty name is the default export, the only one if there is one. */
    private NbdExport find(String name) {
        if (name.isEmpty()) {
            return server.exports().size() == 1 ? server.exports().values().iterator().next() : null;
        }
        return server.exports().get(name);
    }

    private static String utf8(ByteBuffer data, int length) throws ProtocolViolation {
        if (length > Nbd.MAX_STRING_BYTES) {
            throw new ProtocolViolation("a name of " + length + " bytes (at most " + Nbd.MAX_STRING_BYTES + ")");
        }
        ByteBuffer slice = data.slice(data.position(), length);
        data.position(data.position() + length);
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
        } catch (CharacterCodingException e) {
            throw new ProtocolViolation("a name that is not UTF-8");
        }
    }

    private void optionReply(int option, int type, ByteBuffer data) throws IOException {
        ByteBuffer header = ByteBuffer.allocate(20);
        header.putLong(Nbd.REPLY_MAGIC).putInt(option).putInt(type).putInt(data.remaining()).flip();
        writeFully(header, data);
    }

    /** An error reply, its data a message for humans ("Option reply types"). */
    private void optionError(int option, int error, String message) throws IOException {
        NbdServer.LOG.log(Level.DEBUG, "NBD client {0}: {1}", new Object[] {id, message});
        optionReply(option, error, ByteBuffer.wrap(message.getBytes(StandardCharsets.UTF_8)));
    }

    // -- transmission ("Transmission", "Request types") -------------------------------------

    private void transmission(NbdExport export) throws IOException, InterruptedException {
        input = ByteBuffer.allocateDirect(INPUT_BYTES).flip(); // empty: nothing read ahead yet
        while (nextRequest(export)) {
            // A method per request rather than this loop's body: the loop runs once per
            // connection, so the JIT compiles it only by on-stack replacement, which a
            // connection of a few thousand requests never reached (perf, nbdcopy in: the
            // readers spent about 3% of their time in the interpreter).
        }
    }

    /**
     * Reads one request, checks it, and runs it or hands it to the workers.
     *
     * @return false at the end of the stream between requests, or on NBD_CMD_DISC
     */
    private boolean nextRequest(NbdExport export) throws IOException, InterruptedException {
        if (!fill(Nbd.REQUEST_BYTES)) {
            return false; // the client closed (or close() stopped reading) between requests
        }
        ByteBuffer header = input;
        int magic = header.getInt();
        if (magic != Nbd.NBD_REQUEST_MAGIC) {
            // Nothing after a bad magic can be trusted to be a request boundary.
            throw new ProtocolViolation("bad request magic 0x" + Integer.toHexString(magic));
        }
        int flags = Short.toUnsignedInt(header.getShort());
        int type = Short.toUnsignedInt(header.getShort());
        long cookie = header.getLong();
        long offset = header.getLong();
        long length = Integer.toUnsignedLong(header.getInt());
        if (type == Nbd.NBD_CMD_DISC) {
            // A soft disconnect: the requests read so far are answered (run()'s finally).
            return false;
        }
        Refusal refusal = validate(export, type, flags, offset, length);
        if (refusal != null) {
            NbdServer.LOG.log(Level.DEBUG, "NBD client {0}: {1}", new Object[] {id, refusal.why()});
            if (type == Nbd.NBD_CMD_WRITE) {
                drain(length); // its payload follows the header whatever the answer
            }
            countRequest();
            send(new Reply(cookie, refusal.error(), null, 0));
            return true;
        }
        int payload = type == Nbd.NBD_CMD_READ || type == Nbd.NBD_CMD_WRITE ? (int) length : 0;
        int cost = payload + NbdServer.REQUEST_COST;
        if (!bytesInFlight.tryAcquire(cost)) {
            flush(); // the replies this thread holds back free room too
            bytesInFlight.acquire(cost); // the memory cap: wait for replies to free room
        }
        ByteBuffer data = null;
        try {
            if (type == Nbd.NBD_CMD_WRITE) {
                data = server.payloads().take(payload);
                readPayload(data);
                data.flip();
            }
            readExactly = type == Nbd.NBD_CMD_WRITE && payload > INLINE_BYTES;
        } catch (IOException e) {
            server.payloads().give(data);
            bytesInFlight.release(cost);
            throw e;
        }
        server.requestRead();
        Request request = new Request(export, type, flags, cookie, offset, length, data, cost);
        if (runsInline(request)) {
            countRequest();
            server.ranInline();
            Reply reply = execute(request, true);
            hold(reply);
            heldBytes += reply.data() == null ? 0 : reply.data().limit();
            if (heldBytes >= MAX_BATCH_DATA) {
                flush(); // a batch's worth: the client is waiting for it
            }
        } else {
            submit(request);
        }
        return true;
    }

    /**
     * Whether the reader runs a request itself rather than hand it to a worker: a READ or
     * WRITE of at most {@link #INLINE_BYTES} without FUA, for which the hand-off (a futex
     * wake, two context switches, the worker's park) costs about what the request does (a
     * pread or pwrite of page-cached data, a few microseconds of cipher). Larger requests go
     * to the workers, so the reader goes on reading while they run and one client's large I/O
     * spreads over idle cores; so do FLUSH, FUA, TRIM and WRITE_ZEROES, which wait for the
     * disk or are long.
     *
     * <p>A READ or WRITE of up to {@link #INLINE_LARGE_BYTES} runs on the reader, its cipher
     * too, once the server has at least {@link NbdServer.Builder#inlineLargeFrom} connections
     * (default: as many as cores): then every core already has a reader to keep busy, and a
     * hand-off to a worker (and from it to the sector queue) costs its wake-ups and wins no
     * core. A WRITE then encrypts its payload where the socket just put it, in this core's
     * cache. Large WRITEs on the reader alone (encrypting a copy) gained nothing (nbdcopy in,
     * 8 interleaved rounds, 1107 against 1127 MB/s); with the payload encrypted in place they
     * cost 545 against 611 ms of CPU per GiB, at 1987 against 1902 MB/s (nbdcopy in, 8
     * interleaved rounds on one server whose path was switched between rounds).
     */
    private boolean runsInline(Request r) {
        if ((r.flags() & Nbd.NBD_CMD_FLAG_FUA) != 0) {
            return false;
        }
        boolean readOrWrite = r.type() == Nbd.NBD_CMD_READ || r.type() == Nbd.NBD_CMD_WRITE;
        return readOrWrite && (r.length() <= INLINE_BYTES
                || r.length() <= INLINE_LARGE_BYTES && server.connectionCount() >= server.inlineLargeFrom());
    }

    private record Request(NbdExport export, int type, int flags, long cookie, long offset, long length, ByteBuffer data,
            int cost) {
    }

    /** Why a request is refused, and the error its reply carries. */
    private record Refusal(int error, String why) {
    }

    /**
     * The one check of a request, before anything runs ("Request types", "Command flags",
     * "Size constraints", "Error values"); the execution checks nothing again. The errors are
     * the specification's: EPERM for a write to a read-only export, ENOSPC for a write past
     * the end, EINVAL for anything else (an unknown command or flag, a read or trim past the
     * end, a payload over the maximum, a request not aligned to agreed block sizes).
     *
     * @return null if the request may run, else its refusal, naming the command
     */
    private Refusal validate(NbdExport export, int type, int flags, long offset, long length) {
        String command = Nbd.commandName(type);
        int allowed = switch (type) {
            // FUA is valid on every command once NBD_FLAG_SEND_FUA is negotiated ("Command flags").
            case Nbd.NBD_CMD_READ, Nbd.NBD_CMD_WRITE, Nbd.NBD_CMD_FLUSH, Nbd.NBD_CMD_TRIM -> Nbd.NBD_CMD_FLAG_FUA;
            case Nbd.NBD_CMD_WRITE_ZEROES -> Nbd.NBD_CMD_FLAG_FUA | Nbd.NBD_CMD_FLAG_NO_HOLE;
            default -> -1;
        };
        if (allowed < 0) {
            return new Refusal(Nbd.NBD_EINVAL, command + " is not supported");
        }
        if ((flags & ~allowed) != 0) {
            return new Refusal(Nbd.NBD_EINVAL, command + " with flags 0x" + Integer.toHexString(flags)
                    + " it does not take");
        }
        boolean writes = type == Nbd.NBD_CMD_WRITE || type == Nbd.NBD_CMD_TRIM || type == Nbd.NBD_CMD_WRITE_ZEROES;
        if (writes && export.volume().isReadOnly()) {
            return new Refusal(Nbd.NBD_EPERM, command + " on the read-only export " + export.name());
        }
        if (type == Nbd.NBD_CMD_FLUSH) {
            return offset == 0 && length == 0 ? null
                    : new Refusal(Nbd.NBD_EINVAL, command + " with a nonzero offset or length");
        }
        if ((type == Nbd.NBD_CMD_READ || type == Nbd.NBD_CMD_WRITE) && length > server.maxPayload()) {
            return new Refusal(Nbd.NBD_EINVAL, command + " of " + length + " bytes, over the maximum payload of "
                    + server.maxPayload());
        }
        long size = export.volume().size();
        // offset is unsigned on the wire: a negative long is beyond any export.
        if (offset < 0 || offset > size || length > size - offset) {
            boolean grows = type == Nbd.NBD_CMD_WRITE || type == Nbd.NBD_CMD_WRITE_ZEROES;
            return new Refusal(grows ? Nbd.NBD_ENOSPC : Nbd.NBD_EINVAL, command + " of " + length + " bytes at offset "
                    + Long.toUnsignedString(offset) + " past the end of " + export.name() + " (" + size + " bytes)");
        }
        if (blockSizesAgreed && (offset % MIN_BLOCK_SIZE != 0 || length % MIN_BLOCK_SIZE != 0)) {
            return new Refusal(Nbd.NBD_EINVAL, command + " at offset " + offset + " of " + length
                    + " bytes, not aligned to the minimum block size " + MIN_BLOCK_SIZE);
        }
        return null;
    }

    private void submit(Request r) {
        countRequest();
        try {
            server.workers().execute(() -> send(execute(r, false)));
        } catch (RejectedExecutionException e) {
            // The pool stopped: only after close() waited for this connection, which cannot be.
            send(new Reply(r.cookie(), Nbd.NBD_ESHUTDOWN, null, r.cost()));
            server.payloads().give(r.data());
        }
    }

    /** One more request to answer before the connection may close ({@link #awaitRequests}). */
    private void countRequest() {
        replyLock.lock();
        try {
            requestsInFlight++;
        } finally {
            replyLock.unlock();
        }
    }

    /**
     * Runs a valid request and returns its reply (not yet sent); {@code onReader}: on the
     * connection's reader, which then keeps the READ's decryption on its own thread
     * ({@link io.sectorcrypt.volume.EncryptedVolume#readOnCallerThread}).
     */
    private Reply execute(Request r, boolean onReader) {
        int error = 0;
        ByteBuffer result = null;
        var volume = r.export().volume();
        boolean fua = (r.flags() & Nbd.NBD_CMD_FLAG_FUA) != 0;
        try {
            switch (r.type()) {
                case Nbd.NBD_CMD_READ -> {
                    result = server.payloads().take((int) r.length());
                    if (onReader) {
                        volume.readOnCallerThread(r.offset(), MemorySegment.ofBuffer(result));
                    } else {
                        volume.read(r.offset(), MemorySegment.ofBuffer(result));
                    }
                }
                // The payload is scratch (the pool zeroes it when it is given back): it is
                // encrypted where the socket put it, still in this core's cache.
                case Nbd.NBD_CMD_WRITE -> volume.writeInPlace(r.offset(), MemorySegment.ofBuffer(r.data()), fua);
                case Nbd.NBD_CMD_FLUSH -> volume.flush();
                case Nbd.NBD_CMD_TRIM -> {
                    volume.discard(r.offset(), r.length());
                    if (fua) {
                        volume.flush();
                    }
                }
                // Zeros are written encrypted, never as a hole: NO_HOLE needs nothing more.
                case Nbd.NBD_CMD_WRITE_ZEROES -> volume.writeZeroes(r.offset(), r.length(), fua);
                default -> throw new IllegalStateException("validate() let " + Nbd.commandName(r.type()) + " through");
            }
            if (r.type() != Nbd.NBD_CMD_FLUSH) {
                server.keyState(r.export(), false, null);
            }
        } catch (RuntimeException e) {
            error = errorOf(r, e);
        }
        server.payloads().give(r.data());
        if (error != 0) {
            server.payloads().give(result);
            result = null;
        }
        return new Reply(r.cookie(), error, result, r.cost()); // the writer gives result back once sent
    }

    /** The one place a failure of the volume becomes an NBD error ("Error values"). */
    private int errorOf(Request r, RuntimeException e) {
        if (e instanceof KeyUnavailableException k) {
            server.keyState(r.export(), true, k.getMessage()); // names the disk, set and key; never key bytes
            return Nbd.NBD_EIO;
        }
        if (e instanceof UncheckedIOException io) {
            String reason = String.valueOf(io.getCause().getMessage());
            NbdServer.LOG.log(Level.WARNING, "NBD export {0}: {1} failed: {2}", new Object[] {r.export().name(),
                Nbd.commandName(r.type()), io.getMessage() + ": " + reason});
            // "Error values": map EDQUOT and EFBIG to ENOSPC as well as ENOSPC itself.
            return reason.contains("No space left") || reason.contains("quota") || reason.contains("too large")
                    ? Nbd.NBD_ENOSPC : Nbd.NBD_EIO;
        }
        if (e instanceof IllegalStateException && server.isClosing()) {
            return Nbd.NBD_ESHUTDOWN; // the volume was closed under a request at shutdown
        }
        NbdServer.LOG.log(Level.ERROR, "NBD export " + r.export().name() + ": " + Nbd.commandName(r.type())
                + " failed unexpectedly", e);
        return Nbd.NBD_EIO;
    }

    /** Waits until every request handed to the workers is answered (or its reply dropped). */
    private void awaitRequests() {
        replyLock.lock();
        try {
            while (requestsInFlight > 0) {
                drained.awaitUninterruptibly();
            }
        } finally {
            replyLock.unlock();
        }
    }

    /**
     * A simple reply ("Simple reply message") waiting to be sent: a read's data on success,
     * and the request's cost against {@link #bytesInFlight}, released once it is sent.
     */
    private record Reply(long cookie, int error, ByteBuffer data, int cost) {
    }

    /**
     * A worker's reply: queued, then, once no other thread is writing, sent by this thread
     * with everything else queued meanwhile, in gathering writes of up to {@link #MAX_BATCH}
     * replies or {@link #MAX_BATCH_DATA} bytes of data, outside the lock. While another thread
     * writes, the worker waits (usually that writer sends its reply too, and it returns): the
     * wait is what holds workers back while the socket is the bottleneck, as the reply lock
     * did; letting them queue and go on made nbdcopy out (256 KiB READs) 0.78x as fast as
     * before in interleaved rounds, against 0.96x with the wait. Each reply is whole and
     * contiguous in the stream, since one writer at a time writes and a gathering write is
     * retried from where it stopped; the order is the order of completion.
     */
    private void send(Reply r) {
        replyLock.lock();
        try {
            outbox.addLast(r);
            while (writing) {
                writerDone.awaitUninterruptibly();
            }
            if (outbox.isEmpty()) {
                return; // the writer that was at it sent this one too
            }
            writing = true;
        } finally {
            replyLock.unlock();
        }
        writeOutbox();
    }


    /**
     * The reader queues the reply of a request it ran without sending it: while more requests
     * are read ahead it runs them first, and their replies go out together in one write when
     * it {@link #flush}es, which it does before anything that may block (a socket read, the
     * memory cap), so no reply waits on the client.
     */
    private void hold(Reply r) {
        replyLock.lock();
        try {
            outbox.addLast(r);
        } finally {
            replyLock.unlock();
        }
    }

    /** The reader sends what the outbox holds unless a writer is at it already (it will). */
    private void flush() {
        heldBytes = 0;
        replyLock.lock();
        try {
            if (writing || outbox.isEmpty()) {
                return;
            }
            writing = true;
        } finally {
            replyLock.unlock();
        }
        writeOutbox();
    }

    /** The writer's loop: until the outbox is empty, takes a batch, sends it, and lets go of it. */
    private void writeOutbox() {
        int sent = 0;
        while (true) {
            int n = 0;
            replyLock.lock();
            try {
                requestsInFlight -= sent;
                if (requestsInFlight == 0) {
                    drained.signalAll();
                }
                long bytes = 0;
                for (Reply r; n < MAX_BATCH && bytes < MAX_BATCH_DATA && (r = outbox.pollFirst()) != null; ) {
                    batch[n++] = r;
                    bytes += r.data() == null ? 0 : r.data().limit();
                }
                if (n == 0) {
                    writing = false;
                    writerDone.signalAll();
                    return;
                }
            } finally {
                replyLock.unlock();
            }
            try {
                writeBatch(n);
            } finally {
                for (int i = 0; i < n; i++) {
                    Reply r = batch[i];
                    batch[i] = null;
                    server.payloads().give(r.data());
                    if (r.cost() > 0) {
                        bytesInFlight.release(r.cost());
                    }
                }
                sent = n;
            }
        }
    }

    /** Writes the first n replies of {@link #batch} in gathering writes; drops them if the client is gone. */
    private void writeBatch(int n) {
        if (replyFailed) {
            return;
        }
        ByteBuffer headers = replyHeaders.clear();
        int buffers = 0;
        int run = 0; // where the headers not yet in iov start: consecutive ones share an iovec
        for (int i = 0; i < n; i++) {
            Reply r = batch[i];
            headers.putInt(Nbd.NBD_SIMPLE_REPLY_MAGIC).putInt(r.error()).putLong(r.cookie());
            if (r.data() != null) {
                iov[buffers++] = headers.slice(run, headers.position() - run);
                iov[buffers++] = r.data().duplicate().position(0);
                run = headers.position();
            }
        }
        if (headers.position() > run) {
            iov[buffers++] = headers.slice(run, headers.position() - run);
        }
        try {
            writeFully(iov, buffers);
            server.sentReplies(n);
        } catch (IOException e) {
            // The client is gone: its reader sees that too and ends the connection.
            replyFailed = true;
            NbdServer.LOG.log(Level.DEBUG, "NBD client {0}: cannot reply: {1}", new Object[] {id, e.toString()});
        } finally {
            java.util.Arrays.fill(iov, 0, buffers, null);
        }
    }

    // -- bytes -------------------------------------------------------------------------------

    /**
     * Makes at least {@code n} (at most {@link #INPUT_BYTES}) unparsed bytes available in
     * {@link #input}, reading as much as has arrived; false on a clean end of stream with
     * nothing unparsed (between requests).
     */
    private boolean fill(int n) throws IOException {
        if (input.remaining() >= n) {
            return true;
        }
        flush();
        input.compact();
        if (readExactly) {
            input.limit(n);
        }
        try {
            while (input.position() < n) {
                if (channel.read(input) < 0) {
                    if (input.position() == 0) {
                        return false;
                    }
                    throw new EOFException("the stream ended inside a request header");
                }
            }
        } finally {
            input.flip();
        }
        return true;
    }

    /** Reads a write's payload into {@code dst}: what was read ahead first, the rest straight from the socket. */
    private void readPayload(ByteBuffer dst) throws IOException {
        int ahead = Math.min(dst.remaining(), input.remaining());
        dst.put(dst.position(), input, input.position(), ahead).position(dst.position() + ahead);
        input.position(input.position() + ahead);
        if (dst.hasRemaining()) {
            flush();
            readFully(dst);
        }
    }

    private ByteBuffer readFully(int length) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(length);
        readFully(b);
        return b.flip();
    }

    private void readFully(ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            if (channel.read(b) < 0) {
                throw new EOFException("the stream ended with " + b.remaining() + " bytes still to come");
            }
        }
    }

    private void drain(long length) throws IOException {
        int ahead = (int) Math.min(length, input.remaining());
        input.position(input.position() + ahead);
        ByteBuffer scratch = ByteBuffer.allocate((int) Math.min(DRAIN_CHUNK, Math.max(1, length - ahead)));
        long left = length - ahead;
        if (left > 0) {
            flush();
        }
        while (left > 0) {
            scratch.clear().limit((int) Math.min(scratch.capacity(), left));
            readFully(scratch);
            left -= scratch.limit();
        }
    }

    private void writeFully(ByteBuffer... buffers) throws IOException {
        writeFully(buffers, buffers.length);
    }

    private void writeFully(ByteBuffer[] buffers, int count) throws IOException {
        long left = 0;
        for (int i = 0; i < count; i++) {
            left += buffers[i].remaining();
        }
        while (left > 0) {
            left -= channel.write(buffers, 0, count);
        }
    }
}
