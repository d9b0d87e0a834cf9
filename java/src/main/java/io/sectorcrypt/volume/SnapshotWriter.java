package io.sectorcrypt.volume;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Copies a volume's chunks into a snapshot file while the volume stays writable: a
 * point-in-time copy by copy-on-write. From the instant the snapshot is armed, a write to a
 * chunk the snapshot still needs first copies that chunk's old ciphertext
 * ({@link #preserve}, called under the write's range lock); the copier takes each remaining
 * chunk under a shared range lock ({@link #copyAll}). Either way a chunk is copied once, as
 * it was at the instant of arming, and never while a writer is inside it.
 *
 * <p>Ciphertext is copied as it is: the snapshot keeps the volume's key and its sectors'
 * numbers, so nothing is decrypted. A chunk stored as zeros (never written, or discarded)
 * is not written, so snapshots stay sparse.
 */
final class SnapshotWriter {
    private static final int CHUNK = ChangedBlockMap.CHUNK_BYTES;
    private static final ThreadLocal<ByteBuffer> BUFFER = ThreadLocal.withInitial(
            () -> ByteBuffer.allocateDirect(CHUNK));

    private final String name;
    private final FileChannel source;
    private final long sourceOffset;
    private final long size;
    private final long[] frozen;
    private final boolean packed;
    private final FileChannel out;
    private final long outOffset;
    /** For a packed (incremental) snapshot: its chunks, ascending; a chunk's index is its slot. */
    private final long[] order;
    private final long stored;
    /** Bit i: the chunk of index i is copied. */
    private final AtomicLongArray copied;
    /** Set once the snapshot is given up: writers then copy nothing (its file may be closed). */
    private volatile boolean abandoned;
    /** Why a writer could not copy a chunk: the snapshot fails with it, the write goes on. */
    private volatile UncheckedIOException failure;

    /**
     * @param frozen which chunks the snapshot holds (bits in words, as the changed-block map)
     * @param packed incremental: chunk i of the snapshot at slot i; full: every chunk in place
     */
    SnapshotWriter(String name, FileChannel source, long sourceOffset, long size, long[] frozen, boolean packed,
            FileChannel out, long outOffset) {
        this.name = name;
        this.source = source;
        this.sourceOffset = sourceOffset;
        this.size = size;
        this.frozen = frozen;
        this.packed = packed;
        this.out = out;
        this.outOffset = outOffset;
        long n = 0;
        for (long w : frozen) {
            n += Long.bitCount(w);
        }
        this.stored = n;
        if (packed) {
            if (n > Integer.MAX_VALUE - 8) {
                throw new IllegalArgumentException(name + " has " + n + " changed chunks: too many for an incremental"
                        + " snapshot; take a full one");
            }
            order = new long[(int) n];
            int i = 0;
            for (int w = 0; w < frozen.length; w++) {
                for (long bits = frozen[w]; bits != 0; bits &= bits - 1) {
                    order[i++] = 64L * w + Long.numberOfTrailingZeros(bits);
                }
            }
        } else {
            order = null;
        }
        this.copied = new AtomicLongArray(ChangedBlockMap.words(packed ? n : ChangedBlockMap.chunksOf(size)));
    }

    /** Chunks this snapshot holds. */
    long storedChunks() {
        return stored;
    }

    /** The chunk map: which chunks the snapshot holds, as u64 little-endian words. */
    byte[] chunkMap() {
        ByteBuffer b = ByteBuffer.allocate(8 * frozen.length).order(ByteOrder.LITTLE_ENDIAN);
        for (long w : frozen) {
            b.putLong(w);
        }
        return b.array();
    }

    /**
     * Copies chunks {@code first..last} as they are now, those the snapshot holds and has
     * not copied yet. The caller holds their range lock exclusively and is about to write them.
     */
    void preserve(long first, long last) {
        for (long c = first; c <= last; c++) {
            if (abandoned || failure != null) {
                return; // the snapshot fails anyway: nothing of it may fail the volume's write
            }
            long i = index(c);
            if (i >= 0 && !isCopied(i)) {
                try {
                    copy(c, i);
                } catch (UncheckedIOException e) {
                    failure = e; // the chunk stays uncopied, so the snapshot must not be published
                    return;
                }
            }
        }
    }

    /**
     * Gives the snapshot up (it failed, or its file is about to close): writers that still
     * hold this writer copy nothing from now on.
     */
    void abandon() {
        abandoned = true;
    }

    /** Copies every chunk no writer copied first, each under its shared range lock. */
    void copyAll(SectorRangeLock ranges, int sectorSize, Progress progress) {
        long sectorsPerChunk = CHUNK / sectorSize;
        long total = stored * CHUNK;
        long done = 0;
        long chunks = ChangedBlockMap.chunksOf(size);
        for (long k = 0; k < (packed ? stored : chunks); k++) {
            long c = packed ? order[(int) k] : k;
            try (SectorRangeLock.Range r = ranges.lock(c * sectorsPerChunk, (c + 1) * sectorsPerChunk - 1, false)) {
                checkFailure();
                if (!isCopied(k)) {
                    copy(c, k);
                }
            }
            done += CHUNK;
            progress.update(done, total);
        }
        checkFailure();
    }

    /** Throws what a writer met copying a chunk: that chunk is missing, or was copied too late. */
    private void checkFailure() {
        UncheckedIOException e = failure;
        if (e != null) {
            throw new UncheckedIOException(e.getMessage() + " (while a write waited for it)", e.getCause());
        }
    }

    private long index(long c) {
        if (c >= (long) frozen.length * 64 || (frozen[(int) (c >>> 6)] & (1L << (c & 63))) == 0) {
            return -1;
        }
        return packed ? java.util.Arrays.binarySearch(order, c) : c;
    }

    private boolean isCopied(long i) {
        return (copied.get((int) (i >>> 6)) & (1L << (i & 63))) != 0;
    }

    private void copy(long chunk, long index) {
        int length = (int) Math.min(CHUNK, size - chunk * CHUNK);
        long from = sourceOffset + chunk * CHUNK;
        long to = outOffset + (packed ? index : chunk) * CHUNK;
        try {
            FileIo.copyUnlessZero(source, from, length, BUFFER.get(), out, to);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot copy chunk " + chunk + " of " + name + " into its snapshot", e);
        }
        copied.getAndAccumulate((int) (index >>> 6), 1L << (index & 63), (x, y) -> x | y);
    }
}
