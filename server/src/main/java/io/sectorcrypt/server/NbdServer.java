package io.sectorcrypt.server;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.channels.AsynchronousCloseException;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.lang.System.Logger.Level;

/**
 * A Network Block Device server (NetworkBlockDevice/nbd {@code doc/proto.md}) that serves
 * {@link NbdExport}s: encrypted volumes, each under a name. It speaks the protocol only; every
 * byte goes through the volume, which encrypts and decrypts.
 *
 * <h2>Protocol</h2>
 * Fixed newstyle negotiation with {@code NBD_FLAG_NO_ZEROES} ("Fixed newstyle negotiation");
 * the options {@code NBD_OPT_GO}, {@code NBD_OPT_INFO} (answering {@code NBD_INFO_EXPORT},
 * {@code NBD_INFO_BLOCK_SIZE}, and {@code NBD_INFO_NAME} and {@code NBD_INFO_DESCRIPTION} when
 * asked), {@code NBD_OPT_LIST}, {@code NBD_OPT_ABORT} and {@code NBD_OPT_EXPORT_NAME}; any
 * other option gets {@code NBD_REP_ERR_UNSUP} and negotiation goes on. Simple replies only
 * (no {@code NBD_OPT_STRUCTURED_REPLY}). Commands {@code NBD_CMD_READ}, {@code WRITE} (with
 * {@code FUA}), {@code FLUSH}, {@code TRIM}, {@code WRITE_ZEROES} (with {@code FUA} and
 * {@code NO_HOLE}) and {@code DISC}; see {@link NbdExport#transmissionFlags()} for the flags.
 * An empty export name (the "default" export) means the only export when there is exactly one.
 *
 * <h2>Block sizes ("Size constraints")</h2>
 * Minimum 512 bytes, preferred the volume's sector size, maximum payload
 * {@link Builder#maxPayload}. A client that asked for {@code NBD_INFO_BLOCK_SIZE} in
 * {@code NBD_OPT_GO} promised to honour them, and a request not aligned to 512 bytes gets
 * {@code NBD_EINVAL}; a client that did not (as {@code NBD_OPT_EXPORT_NAME} cannot) may send
 * any offset and length, which the volume serves by read-modify-write.
 *
 * <h2>Concurrency and memory</h2>
 * Each connection reads its requests on a thread of its own, which runs small READs and
 * WRITEs itself and hands the rest to a pool shared by all connections; replies go out as requests complete, in any
 * order, each whole, several in one gathering write when they complete together (see
 * {@link NbdConnection}). Each connection holds at most
 * {@link Builder#maxBytesInFlight} bytes of payload (plus {@link #REQUEST_COST} per request):
 * past that its reader waits, and TCP pushes back on the client. At most
 * {@link Builder#maxConnections} clients are served at once; one more is accepted and closed
 * at once, before the greeting, and logged; one that has not chosen an export within
 * {@link Builder#handshakeTimeout} is disconnected.
 *
 * <h2>Errors ("Error values")</h2>
 * A request that is invalid (unknown command or flag, too large, out of range, unaligned, a
 * write to a read-only export) gets the error the specification names and the connection
 * stays in step (a refused write's payload is read and dropped). A volume whose key is
 * unavailable ({@link io.sectorcrypt.keys.KeyUnavailableException}) answers {@code NBD_EIO}
 * and serves again, by itself, once the key is usable. A request with a bad magic, or any
 * other violation that leaves the stream out of step, closes that connection only.
 *
 * <p>Thread-safe. {@link #close()} stops accepting, lets every connection finish the requests
 * it has read and send their replies, closes the connections and flushes every writable
 * volume; it does not close the volumes.
 */
public final class NbdServer implements AutoCloseable {
    static final System.Logger LOG = System.getLogger("io.sectorcrypt.server");

    /**
     * The payload limit by default: the 32 MiB that "Size constraints" asks every server to
     * accept and every client to stay within.
     */
    public static final int DEFAULT_MAX_PAYLOAD = 1 << 25;
    /** Payload bytes one connection may hold by default: two requests of the largest size. */
    public static final long DEFAULT_MAX_BYTES_IN_FLIGHT = 2L * DEFAULT_MAX_PAYLOAD;
    public static final int DEFAULT_MAX_CONNECTIONS = 64;
    /**
     * How long a client may take from connecting to choosing an export, by default (as
     * qemu-nbd's handshake limit): a client that connects and says nothing must not hold one
     * of the {@link Builder#maxConnections} places for ever.
     */
    public static final Duration DEFAULT_HANDSHAKE_TIMEOUT = Duration.ofSeconds(10);
    /**
     * What a request costs against {@link Builder#maxBytesInFlight} besides its payload: it
     * bounds the number of requests (and their bookkeeping) in flight too, even of commands
     * without payload.
     */
    public static final int REQUEST_COST = 4096;
    /** How long {@link #close()} waits for each connection to finish its requests. */
    static final Duration CLOSE_WAIT = Duration.ofSeconds(60);

    private final Map<String, NbdExport> exports;
    private final int maxPayload;
    private final long maxBytesInFlight;
    private final int maxConnections;
    private final int inlineLargeFrom;
    private final Duration handshakeTimeout;
    private final ExecutorService workers;
    /** Payload buffers for every connection; keeps at most what one connection may have in flight. */
    private final PayloadPool payloads;
    private final Set<NbdConnection> connections = ConcurrentHashMap.newKeySet();
    private final AtomicInteger connectionIds = new AtomicInteger();
    private final Set<String> stoppedExports = ConcurrentHashMap.newKeySet();
    /** Requests run on their connection's reader, replies sent, and the writes that sent them (for tests). */
    private final java.util.concurrent.atomic.LongAdder ranInline = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder repliesSent = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder replyWrites = new java.util.concurrent.atomic.LongAdder();
    /** Requests read from all clients so far (for tests that must know a request is in). */
    private final java.util.concurrent.atomic.LongAdder requestsRead = new java.util.concurrent.atomic.LongAdder();
    private final Object lifecycle = new Object();
    private ServerSocketChannel listener;
    private Thread acceptor;
    private Path socketFile;
    private volatile boolean closing;
    private final java.util.concurrent.CountDownLatch closed = new java.util.concurrent.CountDownLatch(1);

    private NbdServer(Builder b) {
        this.exports = Collections.unmodifiableMap(new LinkedHashMap<>(b.exports));
        this.maxPayload = b.maxPayload;
        this.maxBytesInFlight = b.maxBytesInFlight;
        this.maxConnections = b.maxConnections;
        this.inlineLargeFrom = b.inlineLargeFrom;
        this.handshakeTimeout = b.handshakeTimeout;
        this.payloads = new PayloadPool(b.maxPayload, b.maxBytesInFlight);
        AtomicInteger n = new AtomicInteger();
        this.workers = Executors.newFixedThreadPool(b.workers, r -> Thread.ofPlatform().daemon()
                .name("nbd-worker-" + n.incrementAndGet()).unstarted(r));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configures a server: its exports and limits. */
    public static final class Builder {
        private final Map<String, NbdExport> exports = new LinkedHashMap<>();
        private int maxPayload = DEFAULT_MAX_PAYLOAD;
        private long maxBytesInFlight = DEFAULT_MAX_BYTES_IN_FLIGHT;
        private int maxConnections = DEFAULT_MAX_CONNECTIONS;
        private int inlineLargeFrom = Runtime.getRuntime().availableProcessors();
        private Duration handshakeTimeout = DEFAULT_HANDSHAKE_TIMEOUT;
        private int workers = Math.max(4, Runtime.getRuntime().availableProcessors());

        private Builder() {
        }

        /**
         * Adds an export.
         *
         * @throws IllegalArgumentException if another export has its name or its volume
         */
        public Builder export(NbdExport export) {
            Objects.requireNonNull(export, "export");
            if (exports.containsKey(export.name())) {
                throw new IllegalArgumentException("two exports are named '" + export.name() + "'");
            }
            for (NbdExport e : exports.values()) {
                if (e.volume() == export.volume()) {
                    throw new IllegalArgumentException("exports '" + e.name() + "' and '" + export.name()
                            + "' are one volume");
                }
            }
            exports.put(export.name(), export);
            return this;
        }

        /**
         * The largest payload of one {@code NBD_CMD_READ} or {@code NBD_CMD_WRITE}, in bytes,
         * announced as NBD_INFO_BLOCK_SIZE's maximum: at least 4096 (the largest preferred
         * block size, a sector), a multiple of 512. Default {@link #DEFAULT_MAX_PAYLOAD}.
         */
        public Builder maxPayload(int bytes) {
            if (bytes < 4096 || bytes % 512 != 0) {
                throw new IllegalArgumentException("the maximum payload must be a multiple of 512 bytes, at least 4096,"
                        + " not " + bytes);
            }
            this.maxPayload = bytes;
            return this;
        }

        /**
         * Payload bytes one connection may hold in memory at once (requests read and not yet
         * answered); at least the maximum payload plus {@link #REQUEST_COST}, checked by
         * {@link #build()}. Default {@link #DEFAULT_MAX_BYTES_IN_FLIGHT}.
         */
        public Builder maxBytesInFlight(long bytes) {
            this.maxBytesInFlight = bytes;
            return this;
        }

        /** Clients served at once, at least 1; default {@link #DEFAULT_MAX_CONNECTIONS}. */
        public Builder maxConnections(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("the connection limit must be at least 1, not " + n);
            }
            this.maxConnections = n;
            return this;
        }

        /**
         * From how many connections on a READ or WRITE (without FUA) larger than the
         * small-request limit runs on its connection's reader, its cipher included, rather
         * than on a worker and the sector queue; at least 1, default as many as the machine has
         * cores. Below it the workers spread one client's large requests over idle cores; from
         * it on every core has a reader to keep busy and the hand-offs would only cost CPU.
         */
        public Builder inlineLargeFrom(int connections) {
            if (connections < 1) {
                throw new IllegalArgumentException("inline large requests need at least 1 connection, not "
                        + connections);
            }
            this.inlineLargeFrom = connections;
            return this;
        }

        /**
         * How long a client may negotiate (from connecting until NBD_OPT_GO or
         * NBD_OPT_EXPORT_NAME) before it is disconnected: positive; default
         * {@link #DEFAULT_HANDSHAKE_TIMEOUT}.
         */
        public Builder handshakeTimeout(Duration timeout) {
            if (timeout == null || timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("the handshake timeout must be positive, not " + timeout);
            }
            this.handshakeTimeout = timeout;
            return this;
        }

        /** Threads that run requests, shared by all connections, at least 1; default max(4, cores). */
        public Builder workers(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("the server needs at least 1 worker thread, not " + n);
            }
            this.workers = n;
            return this;
        }

        /**
         * @throws IllegalStateException if there is no export, or the memory cap is smaller than
         *         one request of the largest size
         */
        public NbdServer build() {
            if (exports.isEmpty()) {
                throw new IllegalStateException("an NBD server needs at least one export");
            }
            if (maxBytesInFlight < (long) maxPayload + REQUEST_COST || maxBytesInFlight > Integer.MAX_VALUE) {
                throw new IllegalStateException("the bytes in flight per connection (" + maxBytesInFlight
                        + ") must hold one request of the maximum payload (" + maxPayload + " + " + REQUEST_COST
                        + " bytes) and be less than 2 GiB");
            }
            return new NbdServer(this);
        }
    }

    /**
     * Listens on {@code address} and starts accepting clients on a thread of its own: a TCP
     * address ({@link InetSocketAddress}, port 0 for any free port) or a Unix domain socket
     * ({@link UnixDomainSocketAddress}; its file must not exist, and is deleted by
     * {@link #close()}). Which interfaces a TCP address may name is the caller's policy. One
     * listener per server.
     *
     * @return the address bound (with the port chosen for port 0)
     * @throws UncheckedIOException if the address cannot be bound
     * @throws IllegalStateException if the server is listening already or closed
     */
    public SocketAddress listen(SocketAddress address) {
        Objects.requireNonNull(address, "address");
        synchronized (lifecycle) {
            if (closing || listener != null) {
                throw new IllegalStateException(closing ? "the NBD server is closed" : "the NBD server is listening already");
            }
            try {
                ServerSocketChannel ch;
                if (address instanceof UnixDomainSocketAddress unix) {
                    ch = ServerSocketChannel.open(StandardProtocolFamily.UNIX);
                    try {
                        ch.bind(unix);
                    } catch (IOException e) {
                        ch.close();
                        throw e;
                    }
                    socketFile = unix.getPath();
                } else {
                    ch = ServerSocketChannel.open();
                    try {
                        ch.bind(address);
                    } catch (IOException e) {
                        ch.close();
                        throw e;
                    }
                }
                listener = ch;
                SocketAddress bound = ch.getLocalAddress();
                acceptor = Thread.ofPlatform().name("nbd-accept").start(this::acceptLoop);
                return bound;
            } catch (IOException e) {
                throw new UncheckedIOException("cannot listen on " + address, e); // the cause says why
            }
        }
    }

    private void acceptLoop() {
        while (!closing) {
            SocketChannel ch;
            try {
                ch = listener.accept();
            } catch (AsynchronousCloseException e) {
                return; // close()
            } catch (IOException e) {
                if (closing) {
                    return;
                }
                // Out of file descriptors, say: the server lives on; the client may retry.
                LOG.log(Level.WARNING, "NBD server: accept failed: {0}", e.getMessage());
                try {
                    Thread.sleep(100);
                } catch (InterruptedException ie) {
                    return;
                }
                continue;
            }
            int id = connectionIds.incrementAndGet();
            synchronized (lifecycle) {
                if (closing || connections.size() >= maxConnections) {
                    LOG.log(Level.WARNING, "NBD server: refused client {0}: {1}", new Object[] {id, closing
                            ? "the server is shutting down" : "already " + maxConnections + " clients (the limit)"});
                    quietClose(ch);
                    continue;
                }
                NbdConnection c = new NbdConnection(this, ch, id);
                connections.add(c);
                c.start();
            }
        }
    }

    static void quietClose(java.nio.channels.Channel ch) {
        try {
            ch.close();
        } catch (IOException e) {
            // Nothing to do: the peer is gone either way.
        }
    }

    /** The exports, by name, in the order they were added. */
    public Map<String, NbdExport> exports() {
        return exports;
    }

    /** Clients connected now. */
    public int connectionCount() {
        return connections.size();
    }

    int maxPayload() {
        return maxPayload;
    }

    Duration handshakeTimeout() {
        return handshakeTimeout;
    }

    long maxBytesInFlight() {
        return maxBytesInFlight;
    }

    /** From this many connections on, READs of any size run on their connection's reader. */
    int inlineLargeFrom() {
        return inlineLargeFrom;
    }

    PayloadPool payloads() {
        return payloads;
    }

    ExecutorService workers() {
        return workers;
    }

    long requestsRead() {
        return requestsRead.sum();
    }

    void requestRead() {
        requestsRead.increment();
    }

    void ranInline() {
        ranInline.increment();
    }

    void sentReplies(int replies) {
        repliesSent.add(replies);
        replyWrites.increment();
    }

    long requestsRanInline() {
        return ranInline.sum();
    }

    long repliesSent() {
        return repliesSent.sum();
    }

    /** Gathering writes that sent {@link #repliesSent} (a write retried after a partial one counts once). */
    long replyWrites() {
        return replyWrites.sum();
    }

    boolean isClosing() {
        return closing;
    }

    void connectionEnded(NbdConnection c) {
        connections.remove(c);
    }

    /**
     * Notes that an export answers EIO for want of its key (logged once, not per request) or
     * that it serves again.
     */
    void keyState(NbdExport export, boolean stopped, String why) {
        if (stopped ? stoppedExports.add(export.name()) : stoppedExports.remove(export.name())) {
            if (stopped) {
                LOG.log(Level.WARNING, "NBD export {0} answers EIO: {1}", new Object[] {export.name(), why});
            } else {
                LOG.log(Level.INFO, "NBD export {0} serves again", export.name());
            }
        }
    }

    /**
     * Stops accepting, lets each connection finish the requests it has read (their replies are
     * sent) and closes it, then flushes every writable volume. Waits up to a minute per
     * connection. Idempotent: a second call waits for the first to finish. The volumes stay
     * open.
     *
     * @throws UncheckedIOException if a volume cannot be flushed (every one is tried)
     */
    @Override
    public void close() {
        List<NbdConnection> open;
        boolean second;
        synchronized (lifecycle) {
            second = closing;
            closing = true;
            if (!second && listener != null) {
                quietClose(listener);
            }
            open = new ArrayList<>(connections);
        }
        if (second) {
            awaitClosedUninterruptibly(); // outside the lock, which the accept loop takes
            return;
        }
        if (acceptor != null) {
            join(acceptor);
        }
        for (NbdConnection c : open) {
            c.stopReading();
        }
        for (NbdConnection c : open) {
            c.awaitEnd(CLOSE_WAIT);
        }
        workers.shutdown();
        try {
            if (!workers.awaitTermination(CLOSE_WAIT.toSeconds(), TimeUnit.SECONDS)) {
                LOG.log(Level.WARNING, "NBD server: requests still running after " + CLOSE_WAIT.toSeconds() + " s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        payloads.clear(); // the plaintext the last requests carried
        if (socketFile != null) {
            try {
                Files.deleteIfExists(socketFile);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "NBD server: cannot delete the socket {0}: {1}", new Object[] {socketFile,
                    e.getMessage()});
            }
        }
        RuntimeException failure = null;
        try {
            for (NbdExport e : exports.values()) {
                try {
                    e.volume().flush();
                } catch (RuntimeException ex) {
                    if (failure == null) {
                        failure = ex;
                    } else {
                        failure.addSuppressed(ex);
                    }
                }
            }
        } finally {
            closed.countDown();
        }
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Waits until {@link #close()} (called by another thread: a shutdown hook, say) has
     * finished: every connection closed and every volume flushed.
     *
     * @throws InterruptedException if interrupted while waiting
     */
    public void awaitClosed() throws InterruptedException {
        closed.await();
    }

    private void awaitClosedUninterruptibly() {
        boolean interrupted = false;
        while (true) {
            try {
                closed.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private static void join(Thread t) {
        try {
            t.join(CLOSE_WAIT.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
