package io.sectorcrypt.volume;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;

/**
 * A snapshot file opened for reading, its header, token and (incremental) chunk map checked:
 * what a restore reads. Copies ciphertext only; no key is needed here.
 */
final class SnapshotFile implements AutoCloseable {
    private static final int CHUNK = ChangedBlockMap.CHUNK_BYTES;

    private final String name;
    private final FileChannel channel;
    private final Luks2Header header;
    private final SnapshotToken token;
    /** An incremental snapshot's chunks, ascending (slot i holds chunk {@code chunks[i]}); null if full. */
    private final long[] chunks;

    private SnapshotFile(String name, FileChannel channel, Luks2Header header, SnapshotToken token, long[] chunks) {
        this.name = name;
        this.channel = channel;
        this.header = header;
        this.token = token;
        this.chunks = chunks;
    }

    /**
     * Opens and checks a snapshot file.
     *
     * @throws IllegalArgumentException if there is no such file, or it is not a snapshot
     * @throws Luks2FormatException if its header, token or chunk map is damaged
     */
    static SnapshotFile open(Path path, CryptoPolicy policy) {
        String name = path.toString();
        FileChannel ch;
        try {
            ch = FileChannel.open(path, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("the snapshot " + name + " does not exist");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot open the snapshot " + name, e);
        }
        try {
            Luks2Header h = Luks2Header.read(ch, name, policy);
            Luks2Metadata m = h.metadata();
            SnapshotToken t = SnapshotToken.read(m, name).orElseThrow(() -> new IllegalArgumentException(name
                    + " is a LUKS2 disk, not a snapshot (it has no " + SnapshotToken.TYPE + " token)"));
            DiskKeys keys = m.envelope().orElseThrow(() -> new Luks2FormatException(name + ": a snapshot without its"
                    + " envelope token"));
            if (!t.info().id().equals(h.uuid()) || !keys.diskId().equals(h.uuid())) {
                throw new Luks2FormatException(name + ": its header UUID, envelope and snapshot token name different"
                        + " disks");
            }
            long[] chunks = null;
            if (t.info().kind() == SnapshotKind.INCREMENTAL) {
                chunks = readChunkMap(ch, name, t);
            } else if (ch.size() < m.segment().offset() + t.info().volumeSize()) {
                // A full snapshot is written to its whole length (its holes are sparse, not missing).
                throw new Luks2FormatException(name + " is cut short: " + ch.size() + " bytes, its data ends at "
                        + (m.segment().offset() + t.info().volumeSize()));
            }
            return new SnapshotFile(name, ch, h, t, chunks);
        } catch (IOException | RuntimeException e) {
            try {
                ch.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot read the snapshot " + name, io);
            }
            throw (RuntimeException) e;
        }
    }

    private static long[] readChunkMap(FileChannel ch, String name, SnapshotToken t) throws IOException {
        if (ch.size() < t.mapOffset() + t.mapBytes()) {
            throw new Luks2FormatException(name + " is cut short: " + ch.size() + " bytes, its chunk map ends at "
                    + (t.mapOffset() + t.mapBytes()));
        }
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(t.mapBytes())).order(ByteOrder.LITTLE_ENDIAN);
        if (FileIo.readAt(ch, b, t.mapOffset()) < t.mapBytes()) {
            throw new Luks2FormatException(name + " is cut short inside its chunk map");
        }
        if (!SnapshotToken.sha256Hex(b.array()).equals(t.mapSha256())) {
            throw new Luks2FormatException(name + ": its chunk map does not match its SHA-256 (the file is damaged)");
        }
        long total = t.info().chunks();
        long[] list = new long[Math.toIntExact(t.info().storedChunks())];
        int n = 0;
        for (int w = 0; w < t.mapBytes() / 8; w++) {
            for (long bits = b.getLong(8 * w); bits != 0; bits &= bits - 1) {
                long c = 64L * w + Long.numberOfTrailingZeros(bits);
                if (c >= total || n == list.length) {
                    throw new Luks2FormatException(name + ": its chunk map names more chunks than its token (or one"
                            + " past the volume's end)");
                }
                list[n++] = c;
            }
        }
        if (n != list.length) {
            throw new Luks2FormatException(name + ": its chunk map names " + n + " chunks, its token "
                    + list.length);
        }
        return list;
    }

    /**
     * Refuses a chain that is not one volume's full snapshot followed by incremental ones,
     * each the child of the one before, naming the first link that is wrong.
     */
    static void checkChain(List<SnapshotFile> files) {
        SnapshotInfo first = files.get(0).info();
        if (first.kind() != SnapshotKind.FULL) {
            throw new IllegalArgumentException("a chain starts with a full snapshot; " + files.get(0).name
                    + " is incremental (it follows snapshot " + first.parent() + ")");
        }
        for (int i = 1; i < files.size(); i++) {
            SnapshotInfo prev = files.get(i - 1).info();
            SnapshotInfo cur = files.get(i).info();
            String at = files.get(i).name;
            if (cur.kind() != SnapshotKind.INCREMENTAL) {
                throw new IllegalArgumentException(at + " is a full snapshot: only the first of a chain may be");
            }
            if (!cur.volumeId().equals(prev.volumeId())) {
                throw new IllegalArgumentException(at + " is a snapshot of volume " + cur.volumeId() + ", not of "
                        + prev.volumeId());
            }
            if (!cur.parent().equals(prev.id())) {
                throw new IllegalArgumentException(at + " follows snapshot " + cur.parent() + ", not "
                        + files.get(i - 1).name + " (" + prev.id() + "): a link of the chain is missing or out of"
                        + " order");
            }
            if (cur.volumeSize() < prev.volumeSize()) {
                throw new Luks2FormatException(at + " records a volume smaller than its parent's; volumes never"
                        + " shrink");
            }
        }
    }

    /**
     * Writes the disk the chain describes into {@code out} from {@code outOffset}: each chunk
     * once, from the newest snapshot that holds it. Chunks stored as zeros are not written
     * ({@code out} is a new sparse file).
     */
    static void copyChain(List<SnapshotFile> files, FileChannel out, long outOffset, Progress progress)
            throws IOException {
        SnapshotFile last = files.get(files.size() - 1);
        long total = last.info().chunks();
        long[] resolved = new long[ChangedBlockMap.words(total)];
        long done = 0;
        long size = last.info().volumeSize();
        ByteBuffer buf = ByteBuffer.allocateDirect(CHUNK);
        for (int i = files.size() - 1; i >= 0; i--) {
            SnapshotFile f = files.get(i);
            long own = f.info().chunks();
            long slots = f.chunks == null ? own : f.chunks.length;
            for (long k = 0; k < slots; k++) {
                long c = f.chunks == null ? k : f.chunks[(int) k];
                if ((resolved[(int) (c >>> 6)] & (1L << (c & 63))) != 0) {
                    continue;
                }
                resolved[(int) (c >>> 6)] |= 1L << (c & 63);
                int length = (int) Math.min(CHUNK, Math.min(size, f.info().volumeSize()) - c * CHUNK);
                f.copyChunk(k, length, buf, out, outOffset + c * CHUNK);
                done++;
                progress.update(done * CHUNK, total * CHUNK);
            }
        }
    }

    /** Copies slot {@code slot} ({@code length} bytes) to {@code to} in {@code out}, unless it is all zeros. */
    private void copyChunk(long slot, int length, ByteBuffer buf, FileChannel out, long to) throws IOException {
        long from = header.metadata().segment().offset() + slot * CHUNK;
        // A full snapshot's sparse tail reads as zeros; an incremental one's slots were all written.
        if (FileIo.copyUnlessZero(channel, from, length, buf, out, to) < length && chunks != null) {
            throw new Luks2FormatException(name + " is cut short at chunk slot " + slot);
        }
    }

    /** Copies the keyslots' areas of {@code meta} from {@code from} to the same offsets in {@code to}. */
    static void copyKeyslotAreas(Luks2Metadata meta, FileChannel from, FileChannel to) throws IOException {
        for (int slot : meta.keyslots()) {
            Luks2Metadata.KeyslotArea a = meta.keyslotArea(slot);
            ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(a.size()));
            FileIo.readAt(from, b, a.offset()); // until full, or the end of the file
            FileIo.writeAt(to, b.flip(), a.offset());
        }
    }

    void copyKeyslotsArea(FileChannel out) throws IOException {
        copyKeyslotAreas(header.metadata(), channel, out);
    }

    SnapshotInfo info() {
        return token.info().withPath(Path.of(name).toAbsolutePath().toString());
    }

    Luks2Metadata metadata() {
        return header.metadata();
    }

    String label() {
        return header.binary().label();
    }

    @Override
    public void close() {
        try {
            channel.close();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot close the snapshot " + name, e);
        }
    }
}
