package io.sectorcrypt.keys;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * An append-only, tamper-evident log of key operations: one line per record, nine
 * tab-separated fields (sequence, time, identity, vault, key, version, operation, result,
 * MAC), '%', tab and line breaks in a field escaped as %25, %09, %0A, %0D.
 *
 * <p>Each record's MAC is HMAC-SHA-256 (FIPS 198-1) over the previous record's MAC (32 zero
 * bytes before the first) and the record's own first eight fields, under a key only the
 * vault owner has: an edited record, or a dropped, inserted or reordered one, breaks the
 * chain at that position. A chain alone cannot show that records were cut from the end, so
 * a separate head file ({@code <log>.head}, replaced atomically after every append) holds
 * the record count and last MAC, itself MACed; a log shorter than its head is truncated.
 * What it cannot catch: the log and head both rolled back to an older copy.
 *
 * <p>Appends are serialised across threads and processes by a lock file, and each record is
 * fsynced before append returns. A record torn by a crash mid-write was never acknowledged;
 * the next append cuts it off.
 */
public final class AuditLog implements AutoCloseable {
    private static final int FIELDS = 9;
    private static final int MAC_BYTES = 32;
    private static final HexFormat HEX = HexFormat.of();

    /** One record, as read back. */
    public record Record(long sequence, Instant time, String identity, String vault, String key, String version,
            String operation, String result) {
    }

    /**
     * What {@link #verify()} found.
     *
     * @param firstBadRecord the 1-based position of the first record that fails, or 0
     */
    public record Verification(boolean intact, long records, long firstBadRecord, String problem) {
        static Verification ok(long records) {
            return new Verification(true, records, 0, null);
        }

        static Verification bad(long records, long position, String problem) {
            return new Verification(false, records, position, problem);
        }
    }

    private final Path file;
    private final Path head;
    private final Path lock;
    private final byte[] macKey;
    private final CryptoPolicy policy;
    private final Clock clock;
    private volatile boolean closed;

    private AuditLog(Path file, byte[] macKey, CryptoPolicy policy, Clock clock) {
        this.file = file.toAbsolutePath();
        this.head = this.file.resolveSibling(file.getFileName() + ".head");
        this.lock = this.file.resolveSibling(file.getFileName() + ".lock");
        this.macKey = macKey.clone();
        this.policy = Objects.requireNonNull(policy, "policy");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    /**
     * A log at {@code file} (created on the first append) whose records are MACed under a
     * 32-byte key; the key is copied, so the caller zeroes its array.
     */
    public static AuditLog open(Path file, byte[] macKey, CryptoPolicy policy, Clock clock) {
        if (macKey.length != MAC_BYTES) {
            throw new IllegalArgumentException("an audit MAC key is 32 bytes, not " + macKey.length);
        }
        return new AuditLog(file, macKey, policy, clock);
    }

    public Path file() {
        return file;
    }

    /**
     * Refuses a log that no longer matches its head file (truncated, deleted, head lost or
     * altered): the check every append makes, for a vault to make when it opens, so that no
     * operation runs whose record could not be written.
     *
     * @throws KeyVaultException (STORAGE) naming what is damaged and what to restore
     */
    public void refuseIfDamaged() {
        FileLocks.withLock(lock, () -> {
            if (Files.exists(file)) {
                try (FileChannel log = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    checkAgainstHead(cutTornTail(log));
                }
            } else {
                checkAgainstHead(new Tail(0, new byte[MAC_BYTES]));
            }
            return null;
        });
    }

    /** Appends one record; returns once it is durable. */
    public void append(String identity, String vault, String key, String version, String operation, String result) {
        if (closed) {
            throw new IllegalStateException("audit log " + file + " is closed");
        }
        FileLocks.withLock(lock, () -> {
            if (!Files.exists(file)) {
                checkAgainstHead(new Tail(0, new byte[MAC_BYTES])); // before CREATE makes an empty log
            }
            try (FileChannel log = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                Tail tail = cutTornTail(log);
                checkAgainstHead(tail);
                long sequence = tail.sequence + 1;
                String body = String.join("\t", Long.toString(sequence), clock.instant().toString(), escape(identity),
                        escape(vault), escape(key), escape(version), escape(operation), escape(result));
                byte[] mac = mac(tail.mac, body);
                byte[] line = (body + "\t" + HEX.formatHex(mac) + "\n").getBytes(StandardCharsets.UTF_8);
                ByteBuffer buffer = ByteBuffer.wrap(line);
                long position = log.size();
                while (buffer.hasRemaining()) {
                    position += log.write(buffer, position);
                }
                log.force(true);
                writeHead(sequence, mac);
            }
            return null;
        });
    }

    /**
     * The result recorded for an operation that ended with {@code failure}, the one mapping
     * every audited operation uses: a refusal on the key's state or access is
     * {@code "<refusal>: <reason>"} ({@code refusal} being "denied" for data-plane calls,
     * "refused" for management ones, "failed" for a rotation); a malformed request is
     * {@code "refused: invalid_request"} or, for an argument the call checked itself,
     * {@code "refused: invalid"}; bytes that do not unwrap are {@code "failed: does not unwrap"};
     * anything else is {@code "failed: storage"} or {@code "failed"}. Never a message: those
     * may carry what the log should not.
     */
    static String failureResult(Throwable failure, String refusal) {
        if (failure instanceof KeyVaultException k) {
            String reason = k.reason().name().toLowerCase(java.util.Locale.ROOT);
            return switch (k.reason()) {
                case NOT_FOUND, DISABLED, EXPIRED, DELETED, ACCESS_DENIED -> refusal + ": " + reason;
                case ALREADY_EXISTS, INVALID_REQUEST -> "refused: " + reason;
                case UNWRAP_FAILED -> "failed: does not unwrap";
                case STORAGE -> "failed: storage";
            };
        }
        if (failure instanceof IllegalArgumentException || failure instanceof NullPointerException) {
            return "refused: invalid";
        }
        return "failed";
    }

    /** Reads every record; throws if the log is not intact. */
    public List<Record> read() {
        Verification v = verify();
        if (!v.intact()) {
            throw new IllegalStateException("audit log " + file + " is damaged at record " + v.firstBadRecord() + ": "
                    + v.problem());
        }
        List<Record> records = new ArrayList<>();
        for (String line : lines(FileLocks.withLock(lock, this::readLog))) {
            String[] f = line.split("\t", -1);
            records.add(new Record(Long.parseLong(f[0]), Instant.parse(f[1]), unescape(f[2]), unescape(f[3]),
                    unescape(f[4]), unescape(f[5]), unescape(f[6]), unescape(f[7])));
        }
        return records;
    }

    /** Checks the chain record by record, then the head; reports the first bad position. */
    public Verification verify() {
        return FileLocks.withLock(lock, () -> {
            byte[] content = readLog();
            List<String> lines = lines(content);
            boolean torn = content.length > 0 && content[content.length - 1] != '\n';
            byte[] previous = new byte[MAC_BYTES];
            long count = 0;
            for (int i = 0; i < lines.size(); i++) {
                long position = i + 1;
                String line = lines.get(i);
                if (torn && i == lines.size() - 1) {
                    return Verification.bad(count, position, "record " + position + " is incomplete (cut short)");
                }
                String[] f = line.split("\t", -1);
                if (f.length != FIELDS) {
                    return Verification.bad(count, position, "record " + position + " is malformed");
                }
                if (!f[0].equals(Long.toString(position))) {
                    return Verification.bad(count, position, "record " + position + " carries sequence number "
                            + f[0] + ": records were dropped, inserted or reordered");
                }
                byte[] stated;
                try {
                    stated = HEX.parseHex(f[8]);
                } catch (IllegalArgumentException e) {
                    return Verification.bad(count, position, "record " + position + " is malformed");
                }
                byte[] expected = mac(previous, line.substring(0, line.lastIndexOf('\t')));
                if (!MessageDigest.isEqual(stated, expected)) {
                    return Verification.bad(count, position, "record " + position
                            + " does not match the MAC chain: it, or the record before it, was altered");
                }
                previous = expected;
                count = position;
            }
            return checkHead(count, lines);
        });
    }

    private Verification checkHead(long count, List<String> lines) throws IOException {
        Head h;
        try {
            h = readHead();
        } catch (BadHead e) {
            return Verification.bad(count, count + 1, "the head file " + e.getMessage());
        }
        if (h == null) {
            return count == 0 ? Verification.ok(0)
                    : Verification.bad(count, 1, "the head file " + head.getFileName() + " is missing");
        }
        long headCount = h.count();
        if (count < headCount) {
            return Verification.bad(count, count + 1, "the log ends after record " + count + " but " + headCount
                    + " were written: it was truncated");
        }
        if (headCount > 0) {
            String[] atHead = lines.get((int) headCount - 1).split("\t", -1);
            if (!atHead[8].equals(h.lastMacHex())) {
                return Verification.bad(count, headCount, "record " + headCount + " is not the one the head file"
                        + " recorded: the log was rewritten");
            }
        }
        return Verification.ok(count);
    }

    private record Tail(long sequence, byte[] mac) {
    }

    /** What the head file says, once its own MAC checks: the record count and the last record's MAC. */
    private record Head(long count, String lastMacHex) {
    }

    /** The head file is unreadable as one ("is malformed") or fails its MAC ("was altered"). */
    private static final class BadHead extends Exception {
        private static final long serialVersionUID = 1L;

        BadHead(String problem) {
            super(problem, null, false, false);
        }
    }

    /** The head file, authenticated, for {@link #verify()} and every append alike; null if there is none. */
    private Head readHead() throws IOException, BadHead {
        String text;
        try {
            text = Files.readString(head, StandardCharsets.UTF_8).strip();
        } catch (NoSuchFileException e) {
            return null;
        }
        String[] f = text.split("\t", -1);
        boolean authentic;
        long count;
        try {
            count = Long.parseLong(f[0]);
            authentic = f.length == 3 && MessageDigest.isEqual(HEX.parseHex(f[2]), headMac(count, f[1]));
        } catch (IllegalArgumentException e) { // not a number, not hex
            throw new BadHead("is malformed");
        }
        if (!authentic) {
            throw new BadHead("was altered");
        }
        return new Head(count, f[1]);
    }

    /**
     * Before an append: the log may be one record ahead of its head (a crash between the two
     * writes), never behind it, and has no head only while it is empty. Otherwise the log was
     * truncated, deleted or replaced, and appending would chain new records onto the damage
     * and rewrite the head over it, hiding it from {@link #verify()}: refused, nothing written.
     */
    private void checkAgainstHead(Tail tail) throws IOException {
        Head h;
        try {
            h = readHead();
        } catch (BadHead e) {
            throw damaged("its head file " + head.getFileName() + " " + e.getMessage());
        }
        if (h == null) {
            if (tail.sequence == 0) {
                return;
            }
            throw damaged("it has " + tail.sequence + " records but its head file " + head.getFileName() + " is missing");
        }
        long headCount = h.count();
        if (tail.sequence < headCount) {
            throw damaged("it ends after record " + tail.sequence + " but " + headCount + " were written: it was"
                    + " truncated or deleted");
        }
        if (tail.sequence > headCount + 1
                || tail.sequence == headCount && headCount > 0
                        && !MessageDigest.isEqual(tail.mac, HEX.parseHex(h.lastMacHex()))) {
            throw damaged("its last record is not the one its head file " + head.getFileName() + " names");
        }
    }

    private KeyVaultException damaged(String what) {
        return new KeyVaultException(KeyVaultException.Reason.STORAGE, "audit log " + file + " is damaged: " + what
                + "; restore " + file.getFileName() + " and " + head.getFileName() + " from a backup ('keys audit"
                + " verify' shows where); nothing was written");
    }

    /** Drops a final line without its newline (a crash mid-append) and returns the last record. */
    private static Tail cutTornTail(FileChannel log) throws IOException {
        long size = log.size();
        if (size == 0) {
            return new Tail(0, new byte[MAC_BYTES]);
        }
        int window = (int) Math.min(size, 64 * 1024);
        ByteBuffer buffer = ByteBuffer.allocate(window);
        log.read(buffer, size - window);
        byte[] tail = buffer.array();
        int end = window;
        if (tail[end - 1] != '\n') {
            int lastNewline = lastIndexOf(tail, end - 1);
            long keep = lastNewline < 0 ? size - window : size - window + lastNewline + 1;
            log.truncate(keep);
            log.force(true);
            if (keep == 0) {
                return new Tail(0, new byte[MAC_BYTES]);
            }
            end = lastNewline + 1;
        }
        int start = lastIndexOf(tail, end - 1) + 1;
        String line = new String(tail, start, end - 1 - start, StandardCharsets.UTF_8);
        String[] f = line.split("\t", -1);
        if (f.length != FIELDS) {
            throw new IOException("the audit log's last record is malformed; run 'keys audit verify'");
        }
        return new Tail(Long.parseLong(f[0]), HEX.parseHex(f[8]));
    }

    private static int lastIndexOf(byte[] bytes, int before) {
        for (int i = before - 1; i >= 0; i--) {
            if (bytes[i] == '\n') {
                return i;
            }
        }
        return -1;
    }

    private void writeHead(long count, byte[] lastMac) throws IOException {
        String macHex = HEX.formatHex(lastMac);
        String text = count + "\t" + macHex + "\t" + HEX.formatHex(headMac(count, macHex)) + "\n";
        AtomicFiles.replace(head, text.getBytes(StandardCharsets.UTF_8));
    }

    private byte[] headMac(long count, String lastMacHex) {
        return policy.hmacSha256(macKey, ("head\t" + count + "\t" + lastMacHex).getBytes(StandardCharsets.UTF_8));
    }

    private byte[] mac(byte[] previous, String body) {
        return policy.hmacSha256(macKey, previous, body.getBytes(StandardCharsets.UTF_8));
    }

    private byte[] readLog() throws IOException {
        try {
            return Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            return new byte[0];
        }
    }

    private static List<String> lines(byte[] content) {
        String text = new String(content, StandardCharsets.UTF_8);
        if (text.isEmpty()) {
            return List.of();
        }
        List<String> lines = new ArrayList<>(Arrays.asList(text.split("\n", -1)));
        if (text.endsWith("\n")) {
            lines.remove(lines.size() - 1);
        }
        return lines;
    }

    static String escape(String field) {
        String f = field == null ? "-" : field;
        return f.replace("%", "%25").replace("\t", "%09").replace("\n", "%0A").replace("\r", "%0D");
    }

    static String unescape(String field) {
        return field.replace("%0D", "\r").replace("%0A", "\n").replace("%09", "\t").replace("%25", "%");
    }

    /** Zeroes the MAC key; later appends fail. */
    @Override
    public void close() {
        closed = true;
        Arrays.fill(macKey, (byte) 0);
    }

    @Override
    public String toString() {
        return "AuditLog[" + file + "]";
    }

}
