package io.sectorcrypt.volume;

import io.sectorcrypt.keys.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.zip.CRC32C;

/**
 * Which chunks of a volume were written since its last snapshot: the persistent
 * changed-block map that makes an incremental snapshot cost what changed, not what the disk
 * holds. One bit per {@value #CHUNK_BYTES}-byte chunk of the data area, kept in a file beside
 * the volume ({@code NAME.changes}) from its first snapshot on.
 *
 * <h2>Crash safety</h2>
 * The first write to a chunk in an epoch sets its bit in the file before the data is written
 * (a {@code pwrite} of the word, not synced): a process that dies leaves its bits in the page
 * cache, which outlives it. Only a crash of the host can lose a bit whose data survived; the
 * map therefore records that it is open and the kernel's boot id, and a map found open after
 * a reboot is not trusted: every chunk counts as changed, so the next incremental snapshot
 * copies the whole disk and the chain stays exact.
 *
 * <h2>Epochs</h2>
 * A snapshot freezes the bits ({@link #beginEpoch}) and starts a new epoch whose bits are kept
 * in memory beside the old ones; once the snapshot is published the new epoch replaces the
 * file ({@link #commit}, an atomic rename); if it fails, the old epoch goes on
 * ({@link #abort}), still holding every chunk written since the previous snapshot.
 *
 * <h2>File format (version 1, little-endian)</h2>
 * A 4096-byte header: magic {@code "SCCHGMAP"}, u32 version, u32 state (0 closed cleanly, 1
 * open), u32 chunk bytes, u32 zero, u64 chunk count, then three 40-byte zero-padded ASCII
 * fields: the volume's LUKS2 UUID, the snapshot this epoch follows, the boot id while open;
 * its last four bytes are the CRC-32C of the others. Then the bits, as u64 words: chunk c is
 * bit {@code c % 64} of word {@code c / 64}.
 */
final class ChangedBlockMap {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt.volume");
    /**
     * The chunk: the range lock's block, so a writer holding a sector holds its whole chunk,
     * and a snapshot copying a chunk under the lock never meets a writer inside it.
     */
    static final int CHUNK_BYTES = SectorRangeLock.BLOCK_BYTES;
    static final String SUFFIX = ".changes";
    private static final byte[] MAGIC = "SCCHGMAP".getBytes(StandardCharsets.US_ASCII);
    private static final int VERSION = 1;
    private static final int HEADER_BYTES = 4096;
    private static final int FIELD_BYTES = 40;
    private static final int STATE_CLOSED = 0;
    private static final int STATE_OPEN = 1;
    private static final Path BOOT_ID = Path.of("/proc/sys/kernel/random/boot_id");

    private final String name;
    private final String volumeId;
    private Path file;
    private FileChannel channel;
    private volatile AtomicLongArray current;
    /** The next epoch's bits while a snapshot is being taken; null otherwise. */
    private volatile AtomicLongArray next;
    private long chunks;
    private String epoch;

    private ChangedBlockMap(String name, String volumeId, long chunks, String epoch, AtomicLongArray bits) {
        this.name = name;
        this.volumeId = volumeId;
        this.chunks = chunks;
        this.epoch = epoch;
        this.current = bits;
    }

    /** The map file of a volume whose header is at {@code headerPath} (the volume, or its detached header). */
    static Path beside(Path headerPath) {
        Path abs = headerPath.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + SUFFIX);
    }

    /** Chunks in {@code dataBytes} of data, the last one possibly partial. */
    static long chunksOf(long dataBytes) {
        return (dataBytes + CHUNK_BYTES - 1) / CHUNK_BYTES;
    }

    /**
     * A volume with no snapshot yet: every chunk counts as changed, and nothing is on disk
     * until the first snapshot commits its epoch.
     */
    static ChangedBlockMap untracked(String name, String volumeId, long chunks) {
        AtomicLongArray bits = new AtomicLongArray(words(chunks));
        for (int i = 0; i < bits.length(); i++) {
            bits.set(i, -1L);
        }
        return new ChangedBlockMap(name, volumeId, chunks, null, bits);
    }

    /**
     * Loads the map file of a volume opened for writing and marks it open. A missing file is
     * an untracked volume; a file that is damaged, of another volume or of another format is
     * set aside with a warning (it never stops the volume from opening): the next snapshot
     * must then be a full one.
     *
     * @return the map, or an untracked one (whose {@link #epoch} is null)
     */
    static ChangedBlockMap load(Path file, String name, String volumeId, long chunks) {
        ByteBuffer h = ByteBuffer.allocate(HEADER_BYTES).order(ByteOrder.LITTLE_ENDIAN);
        FileChannel ch;
        try {
            ch = PosixFileChannel.openFile(file, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            return untracked(name, volumeId, chunks);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the changed-block map " + file + " of " + name, e);
        }
        try {
            String problem = ch.size() < HEADER_BYTES ? "it is " + ch.size() + " bytes long" : null;
            if (problem == null) {
                readFully(ch, h, 0);
                problem = checkHeader(h, volumeId);
            }
            long stored = h.getLong(24);
            if (problem == null && (stored > chunks || ch.size() < HEADER_BYTES + 8L * words(stored))) {
                problem = "it covers " + stored + " chunks in " + ch.size() + " bytes, for a volume of " + chunks;
            }
            if (problem != null) {
                ch.close();
                LOG.log(Level.WARNING, "{0}: its changed-block map {1} is not usable ({2}); the next snapshot must be"
                        + " a full one", name, file, problem);
                return untracked(name, volumeId, chunks);
            }
            AtomicLongArray bits = new AtomicLongArray(words(chunks));
            ByteBuffer b = ByteBuffer.allocate(8 * words(stored)).order(ByteOrder.LITTLE_ENDIAN);
            readFully(ch, b, HEADER_BYTES);
            for (int i = 0; i < words(stored); i++) {
                bits.set(i, b.getLong(8 * i));
            }
            ChangedBlockMap m = new ChangedBlockMap(name, volumeId, chunks, field(h, 72), bits);
            m.file = file;
            m.channel = ch;
            String boot = bootId();
            if (h.getInt(12) == STATE_OPEN && (boot.isEmpty() || !boot.equals(field(h, 112)))) {
                LOG.log(Level.WARNING, "{0} was not closed before the host restarted: its changed-block map may miss"
                        + " writes, so every chunk counts as changed and the next incremental snapshot copies the"
                        + " whole disk", name);
                for (int i = 0; i < bits.length(); i++) {
                    bits.set(i, -1L);
                }
            }
            m.writeAll(ch, STATE_OPEN);
            return m;
        } catch (IOException | RuntimeException e) {
            try {
                ch.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot read the changed-block map " + file + " of " + name, io);
            }
            throw (RuntimeException) e;
        }
    }

    /** Why a header is not this volume's map of this format, or null if it is. */
    private static String checkHeader(ByteBuffer h, String volumeId) {
        for (int i = 0; i < MAGIC.length; i++) {
            if (h.get(i) != MAGIC[i]) {
                return "no changed-block map magic";
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(h.array(), 0, HEADER_BYTES - 4);
        if ((int) crc.getValue() != h.getInt(HEADER_BYTES - 4)) {
            return "its header checksum does not match";
        }
        if (h.getInt(8) != VERSION) {
            return "format version " + h.getInt(8) + ", not " + VERSION;
        }
        if (h.getInt(16) != CHUNK_BYTES) {
            return "chunks of " + h.getInt(16) + " bytes, not " + CHUNK_BYTES;
        }
        if (!volumeId.equals(field(h, 32))) {
            return "it belongs to volume " + field(h, 32);
        }
        if (field(h, 72).isEmpty()) {
            return "it names no snapshot";
        }
        return null;
    }

    /** The snapshot this epoch's bits are relative to; null if the volume has none (untracked). */
    synchronized String epoch() {
        return epoch;
    }

    /**
     * Records that chunks {@code first..last} are about to be written. Called before the
     * data is written, under the range lock of those chunks.
     */
    void mark(long first, long last) {
        // next before current: commit sets current to the new epoch before it clears next, so a
        // null next read first means current is already the new epoch. Read the other way
        // round, a commit between the two reads left the old epoch and no next: a chunk set in
        // the old epoch only went unmarked in the new one, and the next incremental missed it.
        AtomicLongArray nxt = next;
        AtomicLongArray cur = current;
        for (long c = first; c <= last; c++) {
            if (!isSet(cur, c) || (nxt != null && !isSet(nxt, c))) {
                markSlow(first, last);
                return;
            }
        }
    }

    private synchronized void markSlow(long first, long last) {
        AtomicLongArray cur = current;
        AtomicLongArray nxt = next;
        int lowWord = Integer.MAX_VALUE;
        int highWord = -1;
        for (long c = first; c <= last; c++) {
            int w = (int) (c >>> 6);
            long bit = 1L << (c & 63);
            if ((cur.getAndAccumulate(w, bit, (a, b) -> a | b) & bit) == 0) {
                lowWord = Math.min(lowWord, w);
                highWord = Math.max(highWord, w);
            }
            if (nxt != null) {
                nxt.getAndAccumulate(w, bit, (a, b) -> a | b);
            }
        }
        if (channel != null && highWord >= 0) {
            ByteBuffer b = ByteBuffer.allocate(8 * (highWord - lowWord + 1)).order(ByteOrder.LITTLE_ENDIAN);
            for (int w = lowWord; w <= highWord; w++) {
                b.putLong(cur.get(w));
            }
            try {
                FileIo.writeAt(channel, b.flip(), HEADER_BYTES + 8L * lowWord);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot update the changed-block map " + file + " of " + name, e);
            }
        }
    }

    /**
     * Freezes this epoch for a snapshot and starts the next one (writes from now on count in
     * both). Returns the frozen bits: the chunks the snapshot must hold, in words.
     *
     * @param full whether the snapshot is full (every chunk), whatever the bits say
     */
    synchronized long[] beginEpoch(boolean full) {
        if (next != null) {
            throw new IllegalStateException("a snapshot of " + name + " is already being taken");
        }
        next = new AtomicLongArray(words(chunks));
        long[] frozen = new long[words(chunks)];
        for (int i = 0; i < frozen.length; i++) {
            frozen[i] = full ? -1L : current.get(i);
        }
        if (chunks % 64 != 0 && frozen.length > 0) {
            frozen[frozen.length - 1] &= (1L << (chunks % 64)) - 1; // no bits past the last chunk
        }
        return frozen;
    }

    /**
     * Makes the epoch begun by {@link #beginEpoch} the map: written to {@code target}
     * (atomically replacing it) as the changes since {@code snapshotId}.
     */
    synchronized void commit(Path target, String snapshotId) {
        AtomicLongArray nxt = next;
        if (nxt == null) {
            throw new IllegalStateException("no snapshot of " + name + " is being taken");
        }
        Path temp = VolumeFiles.hiddenBeside(target, "new");
        FileChannel fresh = null;
        try {
            fresh = PosixFileChannel.openFile(temp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.READ, StandardOpenOption.WRITE);
            String previousEpoch = epoch;
            epoch = snapshotId;
            AtomicLongArray previous = current;
            current = nxt;
            try {
                writeAll(fresh, STATE_OPEN);
                Files.move(temp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE,
                        java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                AtomicFiles.syncDirectory(target.toAbsolutePath().getParent());
            } catch (IOException | RuntimeException e) {
                epoch = previousEpoch;
                current = previous;
                throw e;
            }
            next = null;
            FileChannel old = channel;
            channel = fresh;
            file = target;
            fresh = null;
            if (old != null) {
                old.close();
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the changed-block map " + target + " of " + name, e);
        } finally {
            if (fresh != null) {
                try {
                    fresh.close();
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "could not remove {0}: {1}", temp, e.getMessage());
                }
            }
        }
    }

    /** Drops the epoch begun by {@link #beginEpoch}: the current one goes on, its bits intact. */
    synchronized void abort() {
        next = null;
    }

    /** The volume grew to {@code newChunks}: the new chunks hold nothing yet, so they are unchanged. */
    synchronized void grow(long newChunks) {
        if (newChunks <= chunks) {
            return;
        }
        boolean all = epoch == null; // untracked: everything counts as changed, the new chunks too
        current = grown(current, newChunks, all);
        if (next != null) {
            next = grown(next, newChunks, false);
        }
        chunks = newChunks;
        if (channel != null) {
            try {
                writeAll(channel, STATE_OPEN);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot grow the changed-block map " + file + " of " + name, e);
            }
        }
    }

    private static AtomicLongArray grown(AtomicLongArray bits, long chunks, boolean fill) {
        AtomicLongArray g = new AtomicLongArray(words(chunks));
        for (int i = 0; i < g.length(); i++) {
            g.set(i, i < bits.length() ? bits.get(i) : fill ? -1L : 0L);
        }
        return g;
    }

    /** Marks the map closed cleanly, synced: its bits are then trusted whatever happens to the host. */
    synchronized void close() {
        if (channel == null) {
            return;
        }
        try {
            writeAll(channel, STATE_CLOSED);
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the changed-block map " + file + " of " + name, e);
        } finally {
            channel = null;
        }
    }

    /** Writes the header (in {@code state}) and every word of the current bits, then syncs. */
    private void writeAll(FileChannel ch, int state) throws IOException {
        AtomicLongArray bits = current;
        ByteBuffer b = ByteBuffer.allocate(HEADER_BYTES + 8 * bits.length()).order(ByteOrder.LITTLE_ENDIAN);
        b.put(MAGIC).putInt(VERSION).putInt(state).putInt(CHUNK_BYTES).putInt(0).putLong(chunks);
        putField(b, 32, volumeId);
        putField(b, 72, epoch);
        putField(b, 112, state == STATE_OPEN ? bootId() : "");
        CRC32C crc = new CRC32C();
        crc.update(b.array(), 0, HEADER_BYTES - 4);
        b.putInt(HEADER_BYTES - 4, (int) crc.getValue());
        b.position(HEADER_BYTES);
        for (int i = 0; i < bits.length(); i++) {
            b.putLong(bits.get(i));
        }
        FileIo.writeAt(ch, b.flip(), 0);
        ch.truncate(b.limit());
        ch.force(true);
    }

    private static boolean isSet(AtomicLongArray bits, long c) {
        return (bits.get((int) (c >>> 6)) & (1L << (c & 63))) != 0;
    }

    static int words(long chunks) {
        long w = (chunks + 63) / 64;
        if (w > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException("a volume of " + chunks + " chunks is too large for a changed-block map");
        }
        return (int) w;
    }

    private static void putField(ByteBuffer b, int at, String value) {
        byte[] v = (value == null ? "" : value).getBytes(StandardCharsets.US_ASCII);
        b.put(at, v, 0, Math.min(v.length, FIELD_BYTES));
    }

    private static String field(ByteBuffer h, int at) {
        int n = 0;
        while (n < FIELD_BYTES && h.get(at + n) != 0) {
            n++;
        }
        return new String(h.array(), at, n, StandardCharsets.US_ASCII);
    }

    /** The kernel's id of this boot ("" where there is none): a map open under another boot is not trusted. */
    private static String bootId() {
        try {
            return Files.readString(BOOT_ID, StandardCharsets.US_ASCII).strip();
        } catch (IOException | RuntimeException e) {
            return "";
        }
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long at) throws IOException {
        int want = b.remaining();
        if (FileIo.readAt(ch, b, at) < want) {
            throw new java.io.EOFException("the changed-block map ends early");
        }
    }
}
