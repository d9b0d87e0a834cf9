package io.sectorcrypt.volume;

import io.sectorcrypt.keys.AttachedDisk;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.hctr2.Hctr2Engine;
import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.queue.SectorQueue;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.KeyClosedException;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.SectorTransform;
import io.sectorcrypt.xts.XtsKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.StampedLock;

/**
 * An encrypted disk: a LUKS2 volume (header at its start, or detached in its own file) whose
 * data-encryption key is the LUKS2 volume key, wrapped in the header's envelope token by the
 * key of its encryption set. Made and opened by a {@link VolumeManager}.
 *
 * <h2>I/O</h2>
 * Reads and writes take any byte offset and length inside {@link #size()}, from any number
 * of threads. Whole sectors go straight through the engine (XTS-AES-256, IV in 512-byte
 * units from the segment's {@code iv_tweak}: exactly dm-crypt's {@code aes-xts-plain64}),
 * large ones through the {@link SectorQueue}; an aligned read decrypts in the caller's
 * memory (zero-copy); a write encrypts into a per-thread buffer, since the caller's memory
 * must not change (unless the caller says it may: {@link #writeInPlace}). Partial sectors
 * are read, decrypted, merged, encrypted and written back while their sector range is
 * locked, so concurrent writers to one sector never lose an update; readers share ranges and
 * never see a sector half-written.
 *
 * <p>A sector whose stored bytes are all zero reads as zeros: that is a sector never written
 * (the file is sparse) or discarded. Real ciphertext is all-zero with probability 2^-4096
 * per 512 bytes. Read with dm-crypt or cryptsetup, such sectors decrypt to noise, as on any
 * fresh LUKS2 disk.
 *
 * <h2>Keys</h2>
 * Every I/O asks the disk's {@link AttachedDisk} for its key: once the cache time (TTL) ends
 * on a disabled, deleted or expired key, or lost access, every read and write fails with
 * {@link KeyUnavailableException}; the volume asks the vault again at most once per
 * {@link VolumeManager.Builder#reattachInterval}, and I/O succeeds again once the key is
 * usable. Rotation re-wraps the DEK in the header's token (a crash-safe header update)
 * without touching data or stopping I/O.
 *
 * <h2>Durability</h2>
 * {@link #flush()} syncs the data; header updates are synced as they are made. A FUA write
 * is synced before it returns.
 *
 * <h2>Temporary disks</h2>
 * A volume made by {@link VolumeManager#createTemporary} has no header at all: its data
 * starts at offset 0 of its file, exactly as dm-crypt's plain mode ({@code cryptsetup open
 * --type plain --cipher aes-xts-plain64 --key-size 512 --sector-size S}) would store it, and its key was made
 * in memory and is kept nowhere else: no keyslot, digest, envelope token or key manager entry.
 * Its I/O is the same as above, and never fails for want of a key; {@link #close()} zeroes
 * the key, after which nobody can read the data, and neither can anyone once the process
 * dies. {@link #isTemporary()} tells such a volume apart.
 */
public final class EncryptedVolume implements AutoCloseable {
    /** I/O at least this large goes through the sector queue (when the manager has one). */
    static final int QUEUE_THRESHOLD = 256 * 1024;
    /** Per-thread buffer for encrypting writes: larger writes go in chunks of this size. */
    static final int BOUNCE_BYTES = 1 << 20;
    private static final Duration QUEUE_WAIT = Duration.ofSeconds(30);
    private static final ThreadLocal<MemorySegment> BOUNCE = ThreadLocal.withInitial(
            () -> Arena.ofAuto().allocate(BOUNCE_BYTES, 4096));
    /**
     * Stands for the queue's workers: memory of a confined arena is accessible only by its
     * owner, so such I/O runs on the caller's thread instead.
     */
    private static final Thread ANOTHER_THREAD = Thread.ofPlatform().unstarted(() -> { });
    private static final MemorySegment ZERO_SECTOR = Arena.global().allocate(4096, 4096);
    /**
     * Reads and writes of at least {@link #QUEUE_THRESHOLD} bytes in progress in this process,
     * on any volume. The queue only helps while callers leave cores idle: with as many large
     * I/Os in flight as the queue has workers, each caller already keeps a core busy, and
     * handing its sectors to a worker adds the hand-off and the workers' idle spin for nothing
     * (more CPU time per byte: {@code sectorcrypt bench --volume} shows it per CPU-second).
     */
    private static final AtomicInteger LARGE_IO_IN_FLIGHT = new AtomicInteger();

    private record CachedCipher(XtsKey key, Hctr2Key outerKey, SectorTransform cipher) {
    }

    private final VolumeManager manager;
    private final String name;
    private final String diskId;
    private final FileChannel data;
    private final FileChannel headerChannel;
    private final List<FileLock> fileLocks;
    /** The LUKS2 header; null for a temporary disk, which has none. */
    private final Luks2Header header;
    /** Serialises resizes: the header where there is one, which rotation's header updates lock too. */
    private final Object sizeLock;
    private final boolean detached;
    private final boolean readOnly;
    private final boolean regularFile;
    private final long dataOffset;
    private final int sectorSize;
    private final long ivTweak;
    private final long ivStep;
    private final SectorQueue queue;
    private final VolumeKey volumeKey;
    private final SectorRangeLock ranges;
    /**
     * I/O holds the read side; close holds the write side, so close waits for I/O in flight.
     * A StampedLock, not a ReentrantReadWriteLock: whose read side looks up a per-thread hold
     * count (a ThreadLocal) on every lock and unlock once two threads read at once. Nothing
     * here takes it twice on one thread.
     */
    private final StampedLock lifecycle = new StampedLock();
    /**
     * Where the header lives (the volume, or its detached header file): the changed-block map
     * and the snapshot catalogue sit beside it.
     */
    private final Path headerPath;
    /** Chunks written since the last snapshot; null when read-only. */
    private final ChangedBlockMap changes;
    /**
     * Writers read {@link #activeSnapshot} and mark the changed-block map on the read side
     * (optimistically: no lock in the common case); arming a snapshot holds the write side, so
     * every write is wholly before the snapshot's instant or wholly after it.
     */
    private final StampedLock snapshotGate = new StampedLock();
    private final Object snapshotLock = new Object();
    private volatile SnapshotWriter activeSnapshot;
    private volatile long size;
    private volatile CachedCipher cipher;
    private volatile boolean closed;

    /**
     * @param diskId     the header's UUID, or a temporary disk's own
     * @param header     the LUKS2 header, or null for a temporary disk
     * @param segment    where the data lies and its sector size and IV offset: the header's
     *                   segment, or for a temporary disk the whole file from offset 0
     * @param key        where every I/O gets the key; the volume releases it on close
     * @param headerPath where the header lives, for the snapshot files beside it; null for a
     *                   temporary disk
     * @param changes    its changed-block map; null if read-only or temporary
     */
    EncryptedVolume(VolumeManager manager, String name, String diskId, FileChannel data, FileChannel headerChannel,
            List<FileLock> fileLocks, Luks2Header header, Luks2Metadata.CryptSegment segment, boolean readOnly,
            boolean regularFile, long size, VolumeKey key, SectorQueue queue, Path headerPath,
            ChangedBlockMap changes) {
        this.manager = manager;
        this.headerPath = headerPath;
        this.changes = changes;
        this.name = name;
        this.diskId = diskId;
        this.data = data;
        this.headerChannel = headerChannel;
        this.detached = headerChannel != data;
        this.fileLocks = List.copyOf(fileLocks);
        this.header = header;
        this.sizeLock = header != null ? header : new Object();
        this.readOnly = readOnly;
        this.regularFile = regularFile;
        this.dataOffset = segment.offset();
        this.sectorSize = segment.sectorSize();
        this.ivTweak = segment.ivTweak();
        this.ivStep = IvConvention.PLAIN64.ivStep(sectorSize);
        this.ranges = new SectorRangeLock(sectorSize);
        this.size = size;
        this.volumeKey = key;
        this.queue = queue;
    }

    /**
     * The disk id: the LUKS2 UUID, also the key manager's name for this disk; for a temporary
     * disk a random UUID made with it, which names it but is known to no key manager.
     */
    public String diskId() {
        return diskId;
    }

    /** The path the volume was opened by, for messages. */
    public String name() {
        return name;
    }

    /** The data size in bytes (a whole number of sectors). */
    public long size() {
        return size;
    }

    /** Bytes per sector (the XTS data unit): 512, 1024, 2048 or 4096. */
    public int sectorSize() {
        return sectorSize;
    }

    /** Where the ciphertext starts in the data file or device, bytes. */
    public long dataOffset() {
        return dataOffset;
    }

    public boolean isReadOnly() {
        return readOnly;
    }

    /**
     * Whether this is a temporary disk ({@link VolumeManager#createTemporary}): no header, a
     * key kept only in memory, nothing in the key manager.
     */
    public boolean isTemporary() {
        return header == null;
    }

    /**
     * The encryption set whose key wraps this disk's DEK.
     *
     * @throws IllegalStateException for a temporary disk: no set wraps its key (see {@link #isTemporary()})
     */
    public String setId() {
        if (header == null) {
            throw new IllegalStateException(name + " is a temporary disk: its key is in no encryption set");
        }
        return header.metadata().envelope().orElseThrow().setId();
    }

    /**
     * What the header says now (size, keys, keyslots, seqid); no key material. For a temporary
     * disk, what there is: see {@link VolumeInfo#temporary}.
     */
    public VolumeInfo info() {
        return header == null ? VolumeInfo.temporary(name, diskId, size, sectorSize)
                : VolumeInfo.of(name, detached, header, size);
    }

    // -- reads -------------------------------------------------------------------------

    /**
     * Reads {@code dst.byteSize()} bytes of plaintext at {@code offset}.
     *
     * @throws IllegalArgumentException if the range lies outside the volume or dst is read-only
     * @throws KeyUnavailableException if the disk's key is unavailable
     * @throws UncheckedIOException on an I/O error
     * @throws IllegalStateException if the volume is closed
     */
    public void read(long offset, MemorySegment dst) {
        read(offset, dst, true);
    }

    /**
     * As {@link #read(long, MemorySegment)}, with all of the work on the calling thread, never
     * handed to the sector queue: for a caller that keeps a core busy itself, as an NBD
     * connection's reader does when there are as many busy connections as cores, where the
     * queue's hand-off (a wake-up per worker, the caller's park and wake-up) costs CPU and
     * wins no core.
     */
    public void readOnCallerThread(long offset, MemorySegment dst) {
        read(offset, dst, false);
    }

    private void read(long offset, MemorySegment dst, boolean mayQueue) {
        Objects.requireNonNull(dst, "dst");
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("the destination of a read of " + name + " is read-only");
        }
        checkRange("read", offset, dst.byteSize());
        if (dst.byteSize() == 0) {
            return;
        }
        long stamp = enter();
        boolean large = beginLarge(dst.byteSize());
        try {
            SectorTransform c = cipher(); // a stopped disk fails every read, holes included
            long first = offset / sectorSize;
            long last = (offset + dst.byteSize() - 1) / sectorSize;
            try (SectorRangeLock.Range r = ranges.lock(first, last, false)) {
                for (int attempt = 0;; attempt++) {
                    try {
                        if (offset % sectorSize == 0 && dst.byteSize() % sectorSize == 0) {
                            readSectors(c, first, dst, mayQueue);
                        } else {
                            readUnaligned(c, offset, dst, first, last, mayQueue);
                        }
                        break;
                    } catch (KeyClosedException e) {
                        c = afterKeyClosed(e, attempt); // the whole read again: it is idempotent
                    }
                }
            }
        } finally {
            endLarge(large);
            exit(stamp);
        }
    }

    /** Reads into a byte array; see {@link #read(long, MemorySegment)}. */
    public void read(long offset, byte[] dst, int dstOffset, int length) {
        Objects.checkFromIndexSize(dstOffset, length, dst.length);
        read(offset, MemorySegment.ofArray(dst).asSlice(dstOffset, length));
    }

    /** Reads {@code dst.remaining()} bytes and advances its position; see {@link #read(long, MemorySegment)}. */
    public void read(long offset, ByteBuffer dst) {
        read(offset, MemorySegment.ofBuffer(dst));
        dst.position(dst.limit());
    }

    private void readUnaligned(SectorTransform c, long offset, MemorySegment dst, long first, long last,
            boolean mayQueue) {
        long done = 0;
        long sector = first;
        while (sector <= last) {
            long sectors = Math.min(last - sector + 1, BOUNCE_BYTES / sectorSize);
            MemorySegment buf = BOUNCE.get().asSlice(0, sectors * sectorSize);
            readSectors(c, sector, buf, mayQueue);
            long from = Math.max(offset, sector * sectorSize);
            long to = Math.min(offset + dst.byteSize(), (sector + sectors) * sectorSize);
            MemorySegment.copy(buf, from - sector * sectorSize, dst, done, to - from);
            done += to - from;
            sector += sectors;
        }
    }

    /**
     * Reads whole sectors of ciphertext into {@code dst} and decrypts them there with {@code c}
     * (on the sector queue if large and {@code mayQueue}).
     */
    private void readSectors(SectorTransform c, long firstSector, MemorySegment dst, boolean mayQueue) {
        long position = dataOffset + firstSector * sectorSize;
        ByteBuffer b = dst.asByteBuffer();
        try {
            while (b.hasRemaining()) {
                if (data.read(b, position + b.position()) < 0) {
                    // Past the end of a shorter file: never written, reads as zeros.
                    dst.asSlice(b.position()).fill((byte) 0);
                    break;
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name + " at byte " + position, e);
        }
        long count = dst.byteSize() / sectorSize;
        long runStart = -1;
        for (long i = 0; i <= count; i++) {
            boolean stored = i < count && isStored(dst, i * sectorSize);
            if (stored && runStart < 0) {
                runStart = i;
            } else if (!stored && runStart >= 0) {
                crypt(c, false, dst.asSlice(runStart * sectorSize, (i - runStart) * sectorSize), null, firstSector
                        + runStart, mayQueue);
                runStart = -1;
            }
        }
    }

    /**
     * Whether the sector at {@code offset} holds ciphertext (is not all zero). Its first 8 bytes
     * decide for all but one in 2^64 stored sectors, without a slice or a compare call.
     */
    private boolean isStored(MemorySegment buf, long offset) {
        // Sectors are at most 4096 bytes (LUKS2 3.3.2), the size of ZERO_SECTOR.
        return buf.get(ValueLayout.JAVA_LONG_UNALIGNED, offset) != 0
                || MemorySegment.mismatch(buf, offset, offset + sectorSize, ZERO_SECTOR, 0, sectorSize) != -1;
    }

    // -- writes ------------------------------------------------------------------------

    /** Writes {@code src} at {@code offset}; see {@link #write(long, MemorySegment, boolean)}. */
    public void write(long offset, MemorySegment src) {
        write(offset, src, false);
    }

    /**
     * Writes {@code src.byteSize()} bytes of plaintext at {@code offset}; with {@code fua}
     * (force unit access) the data is on stable storage when this returns.
     *
     * @throws IllegalArgumentException if the range lies outside the volume
     * @throws IllegalStateException if the volume is closed or read-only
     * @throws KeyUnavailableException if the disk's key is unavailable (nothing is written)
     * @throws UncheckedIOException on an I/O error
     */
    public void write(long offset, MemorySegment src, boolean fua) {
        Objects.requireNonNull(src, "src");
        writeRange(offset, src.byteSize(), src, fua, false);
    }

    /**
     * As {@link #write(long, MemorySegment, boolean)}, for a caller whose {@code src} is
     * scratch, as an NBD WRITE's payload buffer is: whole sectors are encrypted in src itself
     * and written from there, on the calling thread, never handed to the sector queue. That
     * saves write's copy into its per-thread buffer and that buffer's trip through the cache
     * (the payload the socket just filled is still in it), and the queue's hand-off.
     *
     * <p>When this returns or throws, src may hold ciphertext, plaintext or a mix of them.
     * Where encrypting in place could not be started again after a failure, src is left as it
     * was and the write is done as write does it: a write that does not begin and end on a
     * sector boundary (its edge sectors are merged in the per-thread buffer), read-only src,
     * and a DOUBLE disk, whose two layers are two calls, so that a key closing between them
     * would leave src half-encrypted.
     *
     * @throws IllegalArgumentException if the range lies outside the volume
     * @throws IllegalStateException if the volume is closed or read-only
     * @throws KeyUnavailableException if the disk's key is unavailable (nothing is written)
     * @throws UncheckedIOException on an I/O error
     */
    public void writeInPlace(long offset, MemorySegment src, boolean fua) {
        Objects.requireNonNull(src, "src");
        writeRange(offset, src.byteSize(), src, fua, !src.isReadOnly());
    }

    /** Writes from a byte array; see {@link #write(long, MemorySegment, boolean)}. */
    public void write(long offset, byte[] src, int srcOffset, int length) {
        Objects.checkFromIndexSize(srcOffset, length, src.length);
        write(offset, MemorySegment.ofArray(src).asSlice(srcOffset, length), false);
    }

    /** Writes {@code src.remaining()} bytes and advances its position. */
    public void write(long offset, ByteBuffer src) {
        write(offset, MemorySegment.ofBuffer(src), false);
        src.position(src.limit());
    }

    /**
     * Writes {@code length} bytes of zeros at {@code offset}, encrypted like any data, so
     * they read back as zeros through SectorCrypt, dm-crypt and cryptsetup alike.
     */
    public void writeZeroes(long offset, long length, boolean fua) {
        writeRange(offset, length, null, fua, false);
    }

    /**
     * Discards a range: its whole sectors are stored as zero bytes and read back as zeros
     * through SectorCrypt (through dm-crypt they read as noise, like never-written sectors);
     * partial sectors at its edges are zeroed as by {@link #writeZeroes}. On a file system that
     * can, the whole sectors' space is given back ({@code fallocate(FALLOC_FL_PUNCH_HOLE)}, the
     * file keeps its size); elsewhere the zero bytes are written.
     *
     * @throws UncheckedIOException the file could not be written
     */
    public void discard(long offset, long length) {
        checkWritable();
        checkRange("discard", offset, length);
        if (length == 0) {
            return;
        }
        long firstWhole = (offset + sectorSize - 1) / sectorSize;
        long endWhole = (offset + length) / sectorSize;
        if (firstWhole >= endWhole) {
            writeZeroes(offset, length, false);
            return;
        }
        if (offset < firstWhole * sectorSize) {
            writeZeroes(offset, firstWhole * sectorSize - offset, false);
        }
        if (endWhole * sectorSize < offset + length) {
            writeZeroes(endWhole * sectorSize, offset + length - endWhole * sectorSize, false);
        }
        long stamp = enter();
        try (SectorRangeLock.Range r = ranges.lock(firstWhole, endWhole - 1, true)) {
            beforeWrite(firstWhole, endWhole - 1);
            long position = dataOffset + firstWhole * sectorSize;
            try {
                if (PosixFileChannel.punchHole(data, position, (endWhole - firstWhole) * sectorSize)) {
                    return;
                }
            } catch (IOException e) {
                throw new UncheckedIOException("cannot discard " + name + " at byte " + position, e);
            }
            for (long s = firstWhole; s < endWhole;) {
                long n = Math.min(endWhole - s, BOUNCE_BYTES / sectorSize);
                MemorySegment zeros = BOUNCE.get().asSlice(0, n * sectorSize);
                zeros.fill((byte) 0);
                pwrite(s, zeros);
                s += n;
            }
        } finally {
            exit(stamp);
        }
    }

    /**
     * Writes src (zeros if null); in src itself if {@code srcIsScratch} and the write allow it
     * ({@link #writeInPlace}).
     */
    private void writeRange(long offset, long length, MemorySegment src, boolean fua, boolean srcIsScratch) {
        checkWritable();
        checkRange("write", offset, length);
        if (length == 0) {
            return;
        }
        long stamp = enter();
        boolean large = beginLarge(length);
        try {
            SectorTransform c = cipher(); // fail before anything is written if the key is gone
            // One engine call checks its key before it writes a byte (SectorCipher), so a call
            // that finds the key closed leaves src as it was and may be made again.
            boolean inPlace = srcIsScratch && c instanceof SectorCipher && offset % sectorSize == 0
                    && length % sectorSize == 0;
            long first = offset / sectorSize;
            long last = (offset + length - 1) / sectorSize;
            try (SectorRangeLock.Range r = ranges.lock(first, last, true)) {
                beforeWrite(first, last);
                long pos = offset;
                long end = offset + length;
                while (pos < end) {
                    long chunkFirst = pos / sectorSize;
                    long chunkEndByte = Math.min(end, chunkFirst * sectorSize + BOUNCE_BYTES);
                    long chunkLast = (chunkEndByte - 1) / sectorSize;
                    long sectors = chunkLast - chunkFirst + 1;
                    MemorySegment buf = inPlace ? src.asSlice(pos - offset, sectors * sectorSize)
                            : BOUNCE.get().asSlice(0, sectors * sectorSize);
                    for (int attempt = 0;; attempt++) {
                        try {
                            if (inPlace) {
                                crypt(c, true, buf, null, chunkFirst, false);
                                break;
                            }
                            // From the file and src again on a retry: nothing of this piece is written yet.
                            long head = pos - chunkFirst * sectorSize;
                            long tail = (chunkLast + 1) * sectorSize - chunkEndByte;
                            if (head > 0) {
                                readSectors(c, chunkFirst, buf.asSlice(0, sectorSize), true);
                            }
                            if (tail > 0 && (chunkLast != chunkFirst || head == 0)) {
                                readSectors(c, chunkLast, buf.asSlice((sectors - 1) * sectorSize, sectorSize), true);
                            }
                            long n = chunkEndByte - pos;
                            if (src == null) {
                                buf.asSlice(head, n).fill((byte) 0);
                                crypt(c, true, buf, null, chunkFirst, true);
                            } else if (head == 0 && tail == 0) {
                                crypt(c, true, src.asSlice(pos - offset, n), buf, chunkFirst, true);
                            } else {
                                MemorySegment.copy(src, pos - offset, buf, head, n);
                                crypt(c, true, buf, null, chunkFirst, true);
                            }
                            break;
                        } catch (KeyClosedException e) {
                            c = afterKeyClosed(e, attempt);
                        }
                    }
                    pwrite(chunkFirst, buf);
                    pos = chunkEndByte;
                }
            }
            if (fua) {
                force();
            }
        } finally {
            endLarge(large);
            exit(stamp);
        }
    }

    /**
     * What every write does before its first byte reaches the file, holding its sectors'
     * range lock: marks their chunks in the changed-block map and, while a snapshot is being
     * taken, lets it copy their old content.
     */
    private void beforeWrite(long firstSector, long lastSector) {
        if (changes == null) {
            return; // a temporary disk: no snapshots
        }
        long firstChunk = firstSector * sectorSize / ChangedBlockMap.CHUNK_BYTES;
        long lastChunk = lastSector * sectorSize / ChangedBlockMap.CHUNK_BYTES;
        long stamp = snapshotGate.tryOptimisticRead();
        SnapshotWriter s = activeSnapshot;
        changes.mark(firstChunk, lastChunk);
        if (!snapshotGate.validate(stamp)) {
            stamp = snapshotGate.readLock();
            try {
                s = activeSnapshot;
                changes.mark(firstChunk, lastChunk);
            } finally {
                snapshotGate.unlockRead(stamp);
            }
        }
        if (s != null) {
            s.preserve(firstChunk, lastChunk);
        }
    }

    private void pwrite(long firstSector, MemorySegment buf) {
        long position = dataOffset + firstSector * sectorSize;
        ByteBuffer b = buf.asByteBuffer();
        try {
            while (b.hasRemaining()) {
                data.write(b, position + b.position());
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + name + " at byte " + position, e);
        }
    }

    /** Syncs every write acknowledged so far to stable storage (the header is synced as it changes). */
    public void flush() {
        long stamp = enter();
        try {
            force();
        } finally {
            exit(stamp);
        }
    }

    private void force() {
        if (readOnly) {
            return;
        }
        try {
            data.force(false);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot flush " + name, e);
        }
    }

    /**
     * Grows the volume online to {@code newSize} bytes: the file grows first (sparse), then
     * the header's segment size changes in one crash-safe header update. I/O goes on. A
     * temporary disk has no header: only its file grows, and the new sectors read as zeros.
     *
     * @throws IllegalArgumentException if the size is not whole sectors or is smaller than
     *         the current size (shrinking would lose data and is refused)
     * @throws IllegalStateException if read-only or closed, or a block device is too small
     */
    public void resize(long newSize) {
        checkWritable();
        VolumeSpec.checkSize(newSize, sectorSize);
        long stamp = enter();
        try {
            synchronized (sizeLock) {
                long current = size;
                if (newSize < current) {
                    throw new IllegalArgumentException(name + " is " + current + " bytes; shrinking to " + newSize
                            + " would lose data and is not supported");
                }
                if (newSize == current) {
                    return;
                }
                long end = dataOffset + newSize;
                try {
                    if (data.size() < end) {
                        if (!regularFile) {
                            throw new IllegalStateException(name + " is a device of " + data.size() + " bytes: too"
                                    + " small for " + newSize + " bytes of data at offset " + dataOffset);
                        }
                        VolumeFiles.extend(data, end);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot grow " + name, e);
                }
                if (header != null) {
                    header.update(header.metadata().withSegmentSize(newSize));
                }
                if (changes != null) {
                    // Before the new size is published: a write past the old end marks its chunk at once.
                    changes.grow(ChangedBlockMap.chunksOf(newSize));
                }
                size = newSize;
            }
        } finally {
            exit(stamp);
        }
    }

    // -- snapshots ---------------------------------------------------------------------

    /**
     * Takes a snapshot into a new file at {@code target} while I/O goes on: a point-in-time
     * copy (every write is wholly in it or wholly after it), still encrypted with this disk's
     * key and still wrapped by its encryption set's key, as a LUKS2 image with a
     * {@code sectorcrypt-snapshot} token that cryptsetup parses. A full snapshot is a complete
     * disk (it opens read-only, or {@link VolumeManager#restore restores} into a new disk); an
     * incremental one holds only the chunks written since the previous snapshot, packed, and
     * costs what changed. Nothing appears at {@code target} until it is complete and synced;
     * then it is listed in the volume's catalogue ({@link VolumeManager#snapshots}) and the
     * changed-block map starts counting from it.
     *
     * @param progress told the bytes copied so far, of the bytes the snapshot holds
     * @return what was taken
     * @throws IllegalArgumentException if {@code target} exists or its directory does not
     * @throws IllegalStateException if the volume is read-only or closed, or (incremental)
     *         it has no previous snapshot or its changed-block map was lost
     * @throws UncheckedIOException on an I/O error (nothing is left behind, and the next
     *         incremental snapshot still holds every change)
     */
    public SnapshotInfo snapshot(Path target, SnapshotKind kind, Progress progress) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(progress, "progress");
        checkWritable();
        if (changes == null) {
            throw new IllegalStateException(name + " is a temporary disk: it has no snapshots");
        }
        long stamp = enter();
        try {
            synchronized (snapshotLock) {
                return takeSnapshot(target.toAbsolutePath(), kind, progress);
            }
        } finally {
            exit(stamp);
        }
    }

    private SnapshotInfo takeSnapshot(Path target, SnapshotKind kind, Progress progress) {
        String parent = changes.epoch();
        if (kind == SnapshotKind.INCREMENTAL && parent == null) {
            throw new IllegalStateException(name + " has no snapshot an incremental one could follow (none was taken,"
                    + " or its changed-block map " + ChangedBlockMap.beside(headerPath) + " was lost): take a full"
                    + " snapshot first");
        }
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(target + " exists; refusing to overwrite it");
        }
        VolumeFiles.checkDirectory(target, "the snapshot");
        VolumeFiles.checkNotSidecar(target, "the snapshot");
        // A catalogue that cannot take the snapshot (damaged, another volume's) refuses it now, not after the copy.
        SnapshotCatalog.read(SnapshotCatalog.beside(headerPath), diskId);
        String id = UUID.randomUUID().toString();
        Path temp = VolumeFiles.hiddenBeside(target, "creating-" + id.substring(0, 8));
        FileChannel out = null;
        boolean armed = false;
        boolean done = false;
        try {
            out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            Luks2Metadata meta;
            long frozenSize;
            SnapshotWriter writer;
            Instant created;
            long gate = snapshotGate.writeLock();
            try {
                synchronized (header) { // no resize or re-wrap between the header and the data it describes
                    meta = header.metadata();
                    frozenSize = size;
                    created = Instant.now();
                    long[] frozen = changes.beginEpoch(kind == SnapshotKind.FULL);
                    armed = true;
                    long outOffset = detached ? meta.keyslotsEnd() : dataOffset;
                    writer = new SnapshotWriter(name, data, dataOffset, frozenSize, frozen,
                            kind == SnapshotKind.INCREMENTAL, out, outOffset);
                    activeSnapshot = writer;
                }
            } finally {
                snapshotGate.unlockWrite(gate);
            }
            long outOffset = detached ? meta.keyslotsEnd() : dataOffset;
            SnapshotInfo info = new SnapshotInfo(id, diskId, kind, kind == SnapshotKind.FULL ? null : parent, created,
                    frozenSize, ChangedBlockMap.chunksOf(frozenSize), writer.storedChunks(), target.toString());
            byte[] map = kind == SnapshotKind.INCREMENTAL ? writer.chunkMap() : new byte[0];
            long mapOffset = kind == SnapshotKind.INCREMENTAL
                    ? outOffset + writer.storedChunks() * ChangedBlockMap.CHUNK_BYTES : 0;
            SnapshotToken token = new SnapshotToken(info, mapOffset, map.length, kind == SnapshotKind.INCREMENTAL
                    ? SnapshotToken.sha256Hex(map) : null);
            DiskKeys keys = meta.envelope().orElseThrow();
            Luks2Metadata snapshotMeta = meta.withEnvelope(new DiskKeys(id, keys.setId(), keys.layers()))
                    .withSegment(outOffset, frozenSize).withToken(token.toJson());
            SnapshotFile.copyKeyslotAreas(meta, headerChannel, out); // a recovery passphrase opens the snapshot too
            Luks2Header.formatNewFile(out, target.toString(), id, header.binary().label(), snapshotMeta,
                    manager.policy());
            writer.copyAll(ranges, sectorSize, progress);
            activeSnapshot = null;
            FileIo.writeAt(out, ByteBuffer.wrap(map), mapOffset);
            VolumeFiles.extend(out, kind == SnapshotKind.FULL ? outOffset + frozenSize : mapOffset + map.length);
            out.close();
            VolumeFiles.publish(temp, target);
            try {
                SnapshotCatalog.append(SnapshotCatalog.beside(headerPath), diskId, info);
            } catch (RuntimeException e) {
                Files.deleteIfExists(target); // not listed, so not kept: the next snapshot still holds every change
                throw e;
            }
            done = true;
            try {
                changes.commit(ChangedBlockMap.beside(headerPath), id);
            } catch (RuntimeException e) {
                changes.abort();
                System.getLogger("io.sectorcrypt.volume").log(System.Logger.Level.WARNING, "{0}: snapshot {1} was"
                        + " taken, but the changed-block map could not start from it ({2}); the next incremental"
                        + " snapshot follows the one before and holds these changes again", name, target,
                        e.getMessage());
            }
            return info;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot take a snapshot of " + name + " into " + target, e);
        } finally {
            SnapshotWriter abandoned = activeSnapshot;
            activeSnapshot = null;
            if (abandoned != null) {
                abandoned.abandon(); // before its file closes: a writer holding it must not write there
            }
            if (!done) {
                if (armed) {
                    changes.abort();
                }
                try {
                    if (out != null) {
                        out.close();
                    }
                    Files.deleteIfExists(temp);
                } catch (IOException e) {
                    System.getLogger("io.sectorcrypt.volume").log(System.Logger.Level.WARNING,
                            "could not remove {0}: {1}", temp, e.getMessage());
                }
            }
        }
    }

    /**
     * Takes a deleted snapshot off the volume's catalogue. Its file must be gone from the path
     * the catalogue lists: a snapshot that still exists (or was moved, say to backup storage,
     * and must keep counting for {@link #changeEncryptionSet}'s rule) is deleted first. A later
     * snapshot that followed it can then no longer be restored; the changed-block map is not
     * affected.
     *
     * @return whether it was listed
     * @throws IllegalStateException if its file still exists, or the volume is read-only or closed
     */
    public boolean forgetSnapshot(String snapshotId) {
        Objects.requireNonNull(snapshotId, "snapshotId");
        checkWritable();
        long stamp = enter();
        try {
            synchronized (snapshotLock) {
                Path catalogue = SnapshotCatalog.beside(headerPath);
                for (SnapshotInfo s : SnapshotCatalog.read(catalogue, diskId)) {
                    if (s.id().equals(snapshotId) && Files.exists(Path.of(s.path()), LinkOption.NOFOLLOW_LINKS)) {
                        throw new IllegalStateException("snapshot " + snapshotId + " of " + name + " still exists at "
                                + s.path() + "; delete it first");
                    }
                }
                return SnapshotCatalog.remove(catalogue, diskId, snapshotId);
            }
        } finally {
            exit(stamp);
        }
    }

    /**
     * Moves the volume to another encryption set of the same shape (platform or customer):
     * its DEK is re-wrapped by the new set's key in one crash-safe header update; no data is
     * re-encrypted. I/O goes on: a read or write that finds the old set's key dropped under it
     * is done again with the new one (the same DEK).
     *
     * <p>The seed's rule: the customer key cannot be removed from a disk with incremental
     * snapshots (they stay under that key, and the chain restores only with it). Moving from
     * a customer set to a platform set is refused while the volume's catalogue lists an
     * incremental snapshot (wherever its file is now; {@link #forgetSnapshot} takes a deleted
     * one off the list).
     *
     * @throws IllegalArgumentException if the set is not registered or has other layers
     * @throws IllegalStateException if read-only or closed, or the rule above refuses
     * @throws KeyUnavailableException if the current key cannot unwrap or the new one wrap
     */
    public void changeEncryptionSet(String newSetId) {
        Objects.requireNonNull(newSetId, "newSetId");
        checkWritable();
        long stamp = enter();
        try {
            synchronized (snapshotLock) { // no snapshot copies the header meanwhile
                String from = setId();
                if (from.equals(newSetId)) {
                    return;
                }
                io.sectorcrypt.keys.KeyManager keys = manager.keys();
                io.sectorcrypt.keys.DiskEncryptionSet to = keys.set(newSetId).orElseThrow(
                        () -> new IllegalArgumentException("encryption set '" + newSetId + "' is not registered"));
                io.sectorcrypt.keys.DiskEncryptionSet current = keys.set(from).orElseThrow(
                        () -> new IllegalArgumentException("the volume's encryption set '" + from + "' is not"
                                + " registered"));
                if (current.type() == io.sectorcrypt.keys.EncryptionType.CUSTOMER
                        && to.type() != io.sectorcrypt.keys.EncryptionType.CUSTOMER) {
                    // Every listed one counts, wherever its file went (a copy in backup storage too):
                    // only forgetSnapshot, once the file is deleted, takes one off the list.
                    List<SnapshotInfo> incremental = SnapshotCatalog.read(SnapshotCatalog.beside(headerPath), diskId)
                            .stream().filter(s -> s.kind() == SnapshotKind.INCREMENTAL).toList();
                    if (!incremental.isEmpty()) {
                        throw new IllegalStateException(name + " has " + incremental.size() + " incremental"
                                + " snapshot(s) under customer key '" + current.keyName() + "' of set '" + from
                                + "' (the newest: " + incremental.get(incremental.size() - 1).path() + "): the"
                                + " customer key cannot be removed from a disk with incremental snapshots; delete"
                                + " them and forget them (forgetSnapshot), or move to another customer-key set");
                    }
                }
                ((VolumeKey.Managed) volumeKey).moveToSet(newSetId);
            }
        } finally {
            exit(stamp);
        }
    }

    // -- keys --------------------------------------------------------------------------

    /**
     * A read or write found its key closed under it: the disk moved to another set (the same
     * DEK under a new key object) or was detached. Returns the cipher of the key now in force
     * for one more attempt (throwing {@link KeyUnavailableException} if the disk stopped); a
     * second closing in one I/O is passed on.
     */
    private SectorTransform afterKeyClosed(KeyClosedException e, int attempt) {
        if (attempt > 0) {
            throw e;
        }
        return cipher();
    }

    /**
     * The transform of the disk's current keys: XTS, then HCTR2 on a DOUBLE disk (a stopped
     * disk asks the vault again: {@link VolumeKey.Managed}).
     */
    private SectorTransform cipher() {
        XtsKey key = volumeKey.key();
        Hctr2Key outerKey = volumeKey.outerKey();
        CachedCipher c = cipher;
        if (c == null || c.key() != key || c.outerKey() != outerKey) {
            SectorCipher xts = SectorCipher.of(key, IvConvention.PLAIN64);
            c = new CachedCipher(key, outerKey, outerKey == null ? xts
                    : new XtsThenHctr2(xts, Hctr2.of(outerKey, Hctr2Engine.selected(), IvConvention.PLAIN64)));
            cipher = c;
        }
        return c.cipher();
    }

    /** The key the next I/O would use: lets tests check that close zeroes it. */
    XtsKey currentKey() {
        return volumeKey.key();
    }

    /**
     * Encrypts or decrypts whole sectors with {@code cipher} (src into dst, or in place when
     * dst is null), on the queue when large and {@code mayQueue}. If the key closed under it
     * (the disk stopped mid-call), a copy is retried once with a fresh key, which then throws
     * {@link KeyUnavailableException}; an in-place call fails, and its caller writes nothing.
     */
    private void crypt(SectorTransform cipher, boolean encrypt, MemorySegment src, MemorySegment dst,
            long firstSector, boolean mayQueue) {
        MemorySegment out = dst == null ? src : dst.asSlice(0, src.byteSize());
        long firstIv = ivTweak + firstSector * ivStep;
        for (int attempt = 0;; attempt++) {
            SectorTransform c = attempt == 0 ? cipher : cipher();
            try {
                if (mayQueue && onQueue(src, out)) {
                    long count = src.byteSize() / sectorSize;
                    CompletableFuture<Void> f = encrypt
                            ? queue.encrypt(c, src, out, firstIv, sectorSize, count, QUEUE_WAIT)
                            : queue.decrypt(c, src, out, firstIv, sectorSize, count, QUEUE_WAIT);
                    f.join();
                } else if (encrypt) {
                    c.encrypt(src, out, firstIv, sectorSize);
                } else {
                    c.decrypt(src, out, firstIv, sectorSize);
                }
                return;
            } catch (KeyClosedException e) {
                if (attempt > 0 || out == src) {
                    throw e;
                }
            } catch (CompletionException e) {
                // In place, a striped request may have done some sectors before the key closed:
                // doing them again would encrypt or decrypt them twice, so only a copy retries.
                if (e.getCause() instanceof KeyClosedException && attempt == 0 && out != src) {
                    continue;
                }
                throw e.getCause() instanceof RuntimeException r ? r : e;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while waiting for the sector queue (" + name + ")", e);
            } catch (TimeoutException e) {
                throw new IllegalStateException("the sector queue had no room for 30 s (" + name + ")", e);
            }
        }
    }

    /**
     * Large I/O goes to the queue while fewer large I/Os are in flight than it has workers
     * (see {@link #LARGE_IO_IN_FLIGHT}), and when its workers may touch both buffers: a
     * caller's buffer from a confined arena is only usable on the caller's thread, so it is
     * done there.
     */
    private boolean onQueue(MemorySegment src, MemorySegment out) {
        return queue != null && src.byteSize() >= QUEUE_THRESHOLD && LARGE_IO_IN_FLIGHT.get() < queue.workers()
                && src.isAccessibleBy(ANOTHER_THREAD) && out.isAccessibleBy(ANOTHER_THREAD);
    }

    /** Counts an I/O of {@code bytes} in {@link #LARGE_IO_IN_FLIGHT} if it is large; true if it was counted. */
    private boolean beginLarge(long bytes) {
        if (queue == null || bytes < QUEUE_THRESHOLD) {
            return false;
        }
        LARGE_IO_IN_FLIGHT.incrementAndGet();
        return true;
    }

    private static void endLarge(boolean large) {
        if (large) {
            LARGE_IO_IN_FLIGHT.decrementAndGet();
        }
    }

    // -- lifecycle ---------------------------------------------------------------------

    /** Holds the read side of {@link #lifecycle}; returns the stamp for {@link #exit}. */
    private long enter() {
        long stamp = lifecycle.readLock();
        if (closed) {
            lifecycle.unlockRead(stamp);
            throw new IllegalStateException(name + " is closed");
        }
        return stamp;
    }

    private void exit(long stamp) {
        lifecycle.unlockRead(stamp);
    }

    private void checkWritable() {
        if (readOnly) {
            throw new IllegalStateException(name + " is open read-only");
        }
    }

    /**
     * Checks that {@code length} bytes at {@code offset} lie inside the volume, as every I/O
     * does; for callers that must know before they start (a long read in chunks).
     *
     * @param what the operation, for the message ("read", "write")
     * @throws IllegalArgumentException naming the operation, the range and the volume
     */
    public void checkRange(String what, long offset, long length) {
        long s = size;
        if (offset < 0 || length < 0 || offset > s || length > s - offset) {
            throw new IllegalArgumentException("a " + what + " of " + length + " bytes at offset " + offset
                    + " lies outside " + name + " (" + s + " bytes)");
        }
    }

    /**
     * Waits for I/O in flight, syncs the data, zeroes the disk's cached keys and releases
     * the volume. Idempotent. A temporary disk's key is zeroed here, so its data can never be
     * read again; its file stays where it is, for the caller to delete.
     */
    @Override
    public void close() {
        long stamp = lifecycle.writeLock();
        try {
            if (closed) {
                return;
            }
            closed = true;
            List<Exception> errors = new ArrayList<>();
            try {
                force();
                if (changes != null) {
                    changes.close();
                }
            } catch (RuntimeException e) {
                errors.add(e);
            }
            manager.release(this);
            volumeKey.release();
            for (FileLock l : fileLocks) {
                try {
                    l.release();
                } catch (IOException e) {
                    errors.add(e);
                }
            }
            try {
                data.close();
                if (detached) {
                    headerChannel.close();
                }
            } catch (IOException e) {
                errors.add(e);
            }
            if (!errors.isEmpty()) {
                UncheckedIOException e = new UncheckedIOException("closing " + name + " failed", errors.get(0)
                        instanceof IOException io ? io : new IOException(errors.get(0)));
                errors.stream().skip(1).forEach(e::addSuppressed);
                throw e;
            }
        } finally {
            lifecycle.unlockWrite(stamp);
        }
    }

    /** Names the volume and its geometry; never key material. */
    @Override
    public String toString() {
        return "EncryptedVolume[" + name + ", " + size + " bytes, " + sectorSize + "-byte sectors"
                + (header == null ? ", temporary" : "") + (readOnly ? ", read-only" : "")
                + (closed ? ", closed]" : "]");
    }
}
