package io.sectorcrypt.volume;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonReadableChannelException;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The channel an open volume's files are read and written through: a {@link FileChannel} over
 * a POSIX file descriptor, driven by {@code pread(2)}, {@code pwrite(2)} and {@code fcntl(2)}
 * through the FFM API, for two properties the JDK's own channel lacks:
 * <ul>
 * <li><b>An interrupt does not close it.</b> The JDK's FileChannel is an interruptible channel:
 *     a thread interrupted during a read or write (a cancelled snapshot, a server's
 *     {@code shutdownNow}) closes it for every thread, and the volume stops. Here an interrupt
 *     changes nothing; the thread's interrupt status stays set for its caller to see.</li>
 * <li><b>Its lock is an open file description lock</b> ({@code F_OFD_SETLK}, Linux 3.15).
 *     {@link FileChannel#tryLock} takes classic POSIX record locks, which the kernel drops
 *     when the process closes <em>any</em> descriptor of the file: an {@code inspect} of an
 *     open volume, or a refused second open, unlocked it for every other process. An OFD lock
 *     belongs to this descriptor alone, and still conflicts with classic record locks and with
 *     qemu's image locks (OFD locks too), which {@code flock(2)} would not. Only
 *     whole-file locks are offered, and one per file per process (a second is an
 *     {@link OverlappingFileLockException}, as the JDK's table of locks would have it).</li>
 * </ul>
 * A close waits for the reads and writes in flight on other threads, so a descriptor number is
 * never reused under them. Memory-mapping is not offered. {@link #openFile} falls back to the JDK's
 * channel where libc cannot be linked (native access denied, another OS).
 */
final class PosixFileChannel extends FileChannel {
    private static final Libc LIBC = Libc.link();
    /** Files this process holds a lock on, by {@link BasicFileAttributes#fileKey()}. */
    private static final Set<Object> LOCKED = ConcurrentHashMap.newKeySet();
    /** Heap buffers go through off-heap memory (a system call cannot take a moving array), this much at a time. */
    private static final int BOUNCE_BYTES = 1 << 20;
    /** Per thread, as the JDK's own channel caches its temporary direct buffers; freed with the thread. */
    private static final ThreadLocal<MemorySegment> BOUNCE =
            ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(BOUNCE_BYTES, 4096));
    private static final int CLOSED = Integer.MIN_VALUE;

    private final int fd;
    private final Path path;
    private final Object fileKey;
    private final boolean readable;
    private final boolean writable;
    /** Calls in flight on the descriptor, with {@link #CLOSED} added once closing has begun. */
    private final AtomicInteger users = new AtomicInteger();
    private final Object positionLock = new Object();
    private long position;
    private volatile Lock lock;

    private PosixFileChannel(int fd, Path path, Object fileKey, boolean readable, boolean writable) {
        this.fd = fd;
        this.path = path;
        this.fileKey = fileKey;
        this.readable = readable;
        this.writable = writable;
    }

    /**
     * Opens {@code path} with {@link StandardOpenOption}s READ, WRITE, CREATE, CREATE_NEW and
     * TRUNCATE_EXISTING (READ when neither READ nor WRITE is given), as {@link FileChannel#open}
     * would, new files with mode 0666 less the umask.
     *
     * @throws NoSuchFileException       the file does not exist and may not be created
     * @throws FileAlreadyExistsException CREATE_NEW and it exists
     * @throws AccessDeniedException     the OS refused access
     * @throws IOException               any other failure, with the OS's reason
     */
    static FileChannel openFile(Path path, OpenOption... options) throws IOException {
        Set<OpenOption> set = Set.of(options);
        if (LIBC == null || path.getFileSystem() != FileSystems.getDefault()) {
            return FileChannel.open(path, set);
        }
        for (OpenOption o : set) {
            if (!(o instanceof StandardOpenOption s) || switch (s) {
                case READ, WRITE, CREATE, CREATE_NEW, TRUNCATE_EXISTING -> false;
                default -> true;
            }) {
                throw new UnsupportedOperationException(o + " is not an option of a volume's file");
            }
        }
        boolean writable = set.contains(StandardOpenOption.WRITE);
        boolean readable = set.contains(StandardOpenOption.READ) || !writable;
        int flags = (readable && writable ? Libc.O_RDWR : writable ? Libc.O_WRONLY : Libc.O_RDONLY) | Libc.O_CLOEXEC;
        if (writable && set.contains(StandardOpenOption.CREATE_NEW)) {
            flags |= Libc.O_CREAT | Libc.O_EXCL;
        } else if (writable && set.contains(StandardOpenOption.CREATE)) {
            flags |= Libc.O_CREAT;
        }
        if (writable && set.contains(StandardOpenOption.TRUNCATE_EXISTING)) {
            flags |= Libc.O_TRUNC;
        }
        int fd;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = arena.allocate(Libc.CAPTURE);
            try {
                fd = (int) LIBC.open.invokeExact(errno, nativePath(arena, path), flags, 0666);
            } catch (Throwable t) {
                throw Libc.unchecked(t);
            }
            if (fd < 0) {
                throw Libc.failure(Libc.errno(errno), path, "open");
            }
        }
        try {
            Object key = Files.readAttributes(path, BasicFileAttributes.class).fileKey();
            return new PosixFileChannel(fd, path, key, readable, writable);
        } catch (IOException | RuntimeException e) {
            Libc.closeQuietly(fd);
            throw e;
        }
    }

    /**
     * The path's own bytes, NUL-terminated, as the JDK hands them to open(2): not its string in
     * UTF-8, which differs for a name that is not valid UTF-8 or under a non-UTF-8 locale. A
     * file URI spells each of those bytes, percent-encoded where not plain ASCII.
     */
    private static MemorySegment nativePath(Arena arena, Path path) {
        String raw = path.toUri().getRawPath();
        if (raw.length() > 1 && raw.endsWith("/")) {
            raw = raw.substring(0, raw.length() - 1); // a directory's URI ends in a slash
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(raw.length() + 1);
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%') {
                bytes.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 2;
            } else {
                bytes.write(c);
            }
        }
        bytes.write(0);
        return arena.allocateFrom(ValueLayout.JAVA_BYTE, bytes.toByteArray());
    }

    @Override
    public int read(ByteBuffer dst, long at) throws IOException {
        if (at < 0) {
            throw new IllegalArgumentException("negative position " + at);
        }
        if (!readable) {
            throw new NonReadableChannelException();
        }
        if (dst.isReadOnly()) {
            // As the JDK's channel: pread would write into a read-only direct buffer's memory.
            throw new IllegalArgumentException("Read-only buffer");
        }
        enter();
        try {
            return transfer(false, dst, at);
        } finally {
            exit();
        }
    }

    @Override
    public int write(ByteBuffer src, long at) throws IOException {
        if (at < 0) {
            throw new IllegalArgumentException("negative position " + at);
        }
        if (!writable) {
            throw new NonWritableChannelException();
        }
        enter();
        try {
            return transfer(true, src, at);
        } finally {
            exit();
        }
    }

    /** One pread or pwrite of up to b's remaining bytes (less for heap buffers); -1 at the end of the file. */
    private int transfer(boolean write, ByteBuffer b, long at) throws IOException {
        int n = b.remaining();
        if (n == 0) {
            return 0;
        }
        long done;
        MemorySegment errno = Libc.errnoSlot();
        if (b.isDirect()) {
            done = transfer(write, errno, MemorySegment.ofBuffer(b), n, at);
        } else {
            n = Math.min(n, BOUNCE_BYTES);
            MemorySegment memory = BOUNCE.get();
            if (write) {
                MemorySegment.copy(MemorySegment.ofBuffer(b), 0, memory, 0, n);
            }
            done = transfer(write, errno, memory, n, at);
            if (!write && done > 0) {
                MemorySegment.copy(memory, 0, MemorySegment.ofBuffer(b), 0, done);
            }
        }
        if (done == 0 && !write) {
            return -1;
        }
        b.position(b.position() + (int) done);
        return (int) done;
    }

    private long transfer(boolean write, MemorySegment errno, MemorySegment memory, long count, long at)
            throws IOException {
        long done;
        do {
            try {
                done = write ? (long) LIBC.pwrite.invokeExact(errno, fd, memory, count, at)
                        : (long) LIBC.pread.invokeExact(errno, fd, memory, count, at);
            } catch (Throwable t) {
                throw Libc.unchecked(t);
            }
        } while (done < 0 && Libc.errno(errno) == Libc.EINTR);
        if (done < 0) {
            throw Libc.failure(Libc.errno(errno), path, write ? "pwrite" : "pread");
        }
        return done;
    }

    @Override
    public int read(ByteBuffer dst) throws IOException {
        synchronized (positionLock) {
            int n = read(dst, position);
            if (n > 0) {
                position += n;
            }
            return n;
        }
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) throws IOException {
        synchronized (positionLock) {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                while (dsts[i].hasRemaining()) {
                    int n = read(dsts[i]);
                    if (n < 0) {
                        return total == 0 ? -1 : total;
                    }
                    total += n;
                }
            }
            return total;
        }
    }

    @Override
    public int write(ByteBuffer src) throws IOException {
        synchronized (positionLock) {
            int n = write(src, position);
            position += n;
            return n;
        }
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) throws IOException {
        synchronized (positionLock) {
            long total = 0;
            for (int i = offset; i < offset + length; i++) {
                while (srcs[i].hasRemaining()) {
                    total += write(srcs[i]);
                }
            }
            return total;
        }
    }

    @Override
    public long position() throws IOException {
        ensureOpen();
        synchronized (positionLock) {
            return position;
        }
    }

    @Override
    public FileChannel position(long newPosition) throws IOException {
        if (newPosition < 0) {
            throw new IllegalArgumentException("negative position " + newPosition);
        }
        ensureOpen();
        synchronized (positionLock) {
            position = newPosition;
        }
        return this;
    }

    @Override
    public long size() throws IOException {
        enter();
        try {
            MemorySegment errno = Libc.errnoSlot();
            long size;
            try {
                size = (long) LIBC.lseek.invokeExact(errno, fd, 0L, Libc.SEEK_END);
            } catch (Throwable t) {
                throw Libc.unchecked(t);
            }
            if (size < 0) {
                throw Libc.failure(Libc.errno(errno), path, "lseek");
            }
            return size;
        } finally {
            exit();
        }
    }

    @Override
    public FileChannel truncate(long size) throws IOException {
        if (size < 0) {
            throw new IllegalArgumentException("negative size " + size);
        }
        if (!writable) {
            throw new NonWritableChannelException();
        }
        if (size < size()) {
            enter();
            try {
                MemorySegment errno = Libc.errnoSlot();
                int r;
                try {
                    r = (int) LIBC.ftruncate.invokeExact(errno, fd, size);
                } catch (Throwable t) {
                    throw Libc.unchecked(t);
                }
                if (r < 0) {
                    throw Libc.failure(Libc.errno(errno), path, "ftruncate");
                }
            } finally {
                exit();
            }
        }
        synchronized (positionLock) {
            position = Math.min(position, size);
        }
        return this;
    }

    /**
     * Gives {@code length} bytes at {@code at} back to the file system, which then reads them as
     * zeros: {@code fallocate(FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)}, the file's size
     * unchanged. File systems zero what they cannot free (a part of a block).
     *
     * @return false where the channel or the file system cannot punch holes (the JDK's channel,
     *         tmpfs before Linux 3.5, some block devices): then nothing was changed and the
     *         caller writes the zeros itself
     * @throws IOException any other failure, with the OS's reason
     */
    static boolean punchHole(FileChannel channel, long at, long length) throws IOException {
        if (at < 0 || length < 0) {
            throw new IllegalArgumentException("a hole at " + at + " of " + length + " bytes");
        }
        if (!(channel instanceof PosixFileChannel p) || length == 0) {
            return length == 0;
        }
        if (!p.writable) {
            throw new NonWritableChannelException();
        }
        p.enter();
        try {
            MemorySegment errno = Libc.errnoSlot();
            int r;
            do {
                try {
                    r = (int) LIBC.fallocate.invokeExact(errno, p.fd,
                            Libc.FALLOC_FL_PUNCH_HOLE | Libc.FALLOC_FL_KEEP_SIZE, at, length);
                } catch (Throwable t) {
                    throw Libc.unchecked(t);
                }
            } while (r < 0 && Libc.errno(errno) == Libc.EINTR);
            if (r == 0) {
                return true;
            }
            int e = Libc.errno(errno);
            if (e == Libc.EOPNOTSUPP || e == Libc.ENODEV) {
                return false;
            }
            throw Libc.failure(e, p.path, "fallocate(FALLOC_FL_PUNCH_HOLE)");
        } finally {
            p.exit();
        }
    }

    /** fdatasync(2), or fsync(2) when {@code metaData}. */
    @Override
    public void force(boolean metaData) throws IOException {
        enter();
        try {
            MemorySegment errno = Libc.errnoSlot();
            MethodHandle sync = metaData ? LIBC.fsync : LIBC.fdatasync;
            int r;
            do {
                try {
                    r = (int) sync.invokeExact(errno, fd);
                } catch (Throwable t) {
                    throw Libc.unchecked(t);
                }
            } while (r < 0 && Libc.errno(errno) == Libc.EINTR);
            if (r < 0) {
                throw Libc.failure(Libc.errno(errno), path, metaData ? "fsync" : "fdatasync");
            }
        } finally {
            exit();
        }
    }

    @Override
    public long transferTo(long at, long count, WritableByteChannel target) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect((int) Math.min(count, BOUNCE_BYTES));
        long done = 0;
        while (done < count) {
            b.clear().limit((int) Math.min(b.capacity(), count - done));
            int n = read(b, at + done);
            if (n <= 0) {
                break;
            }
            b.flip();
            while (b.hasRemaining()) {
                target.write(b);
            }
            done += n;
        }
        return done;
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long at, long count) throws IOException {
        ByteBuffer b = ByteBuffer.allocateDirect((int) Math.min(count, BOUNCE_BYTES));
        long done = 0;
        while (done < count) {
            b.clear().limit((int) Math.min(b.capacity(), count - done));
            int n = src.read(b);
            if (n <= 0) {
                break;
            }
            b.flip();
            while (b.hasRemaining()) {
                write(b, at + done + b.position());
            }
            done += n;
        }
        return done;
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long at, long size) {
        throw new UnsupportedOperationException("a volume's file is not memory-mapped: " + path);
    }

    @Override
    public FileLock lock(long at, long size, boolean shared) throws IOException {
        return lock(at, size, shared, true);
    }

    @Override
    public FileLock tryLock(long at, long size, boolean shared) throws IOException {
        return lock(at, size, shared, false);
    }

    /** An OFD lock on the whole file; null when another holds it and {@code wait} is false. */
    private FileLock lock(long at, long size, boolean shared, boolean wait) throws IOException {
        if (at != 0 || size != Long.MAX_VALUE) {
            throw new UnsupportedOperationException("only whole-file locks are offered on " + path);
        }
        if (shared ? !readable : !writable) {
            throw shared ? new NonReadableChannelException() : new NonWritableChannelException();
        }
        if (!LOCKED.add(fileKey)) {
            throw new OverlappingFileLockException();
        }
        boolean taken = false;
        try {
            int errno = setLock(shared ? Libc.F_RDLCK : Libc.F_WRLCK, wait);
            if (errno == 0) {
                taken = true;
                Lock l = new Lock(this, shared);
                lock = l;
                if (!isOpen()) {
                    // Closed while the fcntl was in flight: the close saw no lock to forget, and
                    // the descriptor, closed by our exit(), took the OFD lock with it.
                    l.forget();
                }
                return l;
            }
            if (!wait && (errno == Libc.EAGAIN || errno == Libc.EACCES)) {
                return null;
            }
            throw Libc.failure(errno, path, "fcntl(F_OFD_SETLK)");
        } finally {
            if (!taken) {
                LOCKED.remove(fileKey);
            }
        }
    }

    /** fcntl(F_OFD_SETLK[W]) of {@code type} over the whole file; 0, or the errno. */
    private int setLock(short type, boolean wait) throws ClosedChannelException {
        enter();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment errno = Libc.errnoSlot();
            // l_whence SEEK_SET, l_start 0, l_len 0 (to the end, however it grows), l_pid 0 (OFD locks require it)
            MemorySegment flock = arena.allocate(Libc.FLOCK_BYTES, 8);
            flock.set(ValueLayout.JAVA_SHORT, 0, type);
            int cmd = wait ? Libc.F_OFD_SETLKW : Libc.F_OFD_SETLK;
            int r;
            do {
                try {
                    r = (int) LIBC.fcntl.invokeExact(errno, fd, cmd, flock);
                } catch (Throwable t) {
                    throw Libc.unchecked(t);
                }
            } while (r < 0 && Libc.errno(errno) == Libc.EINTR);
            return r < 0 ? Libc.errno(errno) : 0;
        } finally {
            exit();
        }
    }

    /** A whole-file OFD lock; closing the descriptor (its last one) releases it too. */
    private static final class Lock extends FileLock {
        private volatile boolean valid = true;

        Lock(PosixFileChannel channel, boolean shared) {
            super(channel, 0, Long.MAX_VALUE, shared);
        }

        @Override
        public boolean isValid() {
            return valid && channel().isOpen();
        }

        @Override
        public void release() throws IOException {
            PosixFileChannel ch = (PosixFileChannel) channel();
            if (!valid) {
                return;
            }
            int errno = ch.setLock(Libc.F_UNLCK, false);
            if (errno != 0) {
                throw Libc.failure(errno, ch.path, "fcntl(F_OFD_SETLK)");
            }
            forget();
        }

        void forget() {
            PosixFileChannel ch = (PosixFileChannel) channel();
            synchronized (this) {
                if (valid) {
                    valid = false;
                    LOCKED.remove(ch.fileKey);
                }
            }
        }
    }

    @Override
    protected void implCloseChannel() {
        Lock l = lock;
        if (l != null) {
            l.forget(); // closing the descriptor releases the OFD lock itself
        }
        if (users.getAndAdd(CLOSED) == 0) {
            Libc.closeQuietly(fd);
        }
    }

    private void ensureOpen() throws ClosedChannelException {
        if (users.get() < 0) {
            throw new ClosedChannelException();
        }
    }

    private void enter() throws ClosedChannelException {
        for (int u = users.get(); ; u = users.get()) {
            if (u < 0) {
                throw new ClosedChannelException();
            }
            if (users.compareAndSet(u, u + 1)) {
                return;
            }
        }
    }

    /** The last call out of a closed channel closes the descriptor. */
    private void exit() {
        if (users.decrementAndGet() == CLOSED) {
            Libc.closeQuietly(fd);
        }
    }

    @Override
    public String toString() {
        return "PosixFileChannel[" + path + "]";
    }

    /** The few libc functions, bound once; null where they cannot be (then the JDK's channel serves). */
    private record Libc(MethodHandle open, MethodHandle pread, MethodHandle pwrite, MethodHandle lseek,
                        MethodHandle ftruncate, MethodHandle fallocate, MethodHandle fsync, MethodHandle fdatasync,
                        MethodHandle fcntl,
                        MethodHandle close, MethodHandle strerror) {
        // Linux's values on x86-64 (and aarch64): <fcntl.h>, <sys/file.h>, <errno.h>.
        static final int O_RDONLY = 0;
        static final int O_WRONLY = 1;
        static final int O_RDWR = 2;
        static final int O_CREAT = 0100;
        static final int O_EXCL = 0200;
        static final int O_TRUNC = 01000;
        static final int O_CLOEXEC = 02000000;
        static final int SEEK_END = 2;
        static final int F_OFD_SETLK = 37;
        static final int F_OFD_SETLKW = 38;
        static final short F_RDLCK = 0;
        static final short F_WRLCK = 1;
        static final short F_UNLCK = 2;
        /** struct flock: short l_type, short l_whence, off_t l_start, off_t l_len, pid_t l_pid (32 bytes, 8-aligned). */
        static final long FLOCK_BYTES = 32;
        static final int EAGAIN = 11;
        static final int EINTR = 4;
        static final int ENOENT = 2;
        static final int EACCES = 13;
        static final int EPERM = 1;
        static final int EOPNOTSUPP = 95;
        static final int ENODEV = 19;
        static final int FALLOC_FL_KEEP_SIZE = 1;
        static final int FALLOC_FL_PUNCH_HOLE = 2;
        static final int EEXIST = 17;

        static final MemoryLayout CAPTURE = Linker.Option.captureStateLayout();
        private static final VarHandle ERRNO = CAPTURE.varHandle(MemoryLayout.PathElement.groupElement("errno"));

        static Libc link() {
            if (!"Linux".equals(System.getProperty("os.name"))) {
                return null;
            }
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                Linker.Option errno = Linker.Option.captureCallState("errno");
                ValueLayout i = ValueLayout.JAVA_INT;
                ValueLayout l = ValueLayout.JAVA_LONG;
                ValueLayout a = ValueLayout.ADDRESS;
                return new Libc(
                        bind(linker, libc, "open", FunctionDescriptor.of(i, a, i, i), errno,
                                Linker.Option.firstVariadicArg(2)),
                        bind(linker, libc, "pread", FunctionDescriptor.of(l, i, a, l, l), errno),
                        bind(linker, libc, "pwrite", FunctionDescriptor.of(l, i, a, l, l), errno),
                        bind(linker, libc, "lseek", FunctionDescriptor.of(l, i, l, i), errno),
                        bind(linker, libc, "ftruncate", FunctionDescriptor.of(i, i, l), errno),
                        bind(linker, libc, "fallocate", FunctionDescriptor.of(i, i, i, l, l), errno),
                        bind(linker, libc, "fsync", FunctionDescriptor.of(i, i), errno),
                        bind(linker, libc, "fdatasync", FunctionDescriptor.of(i, i), errno),
                        bind(linker, libc, "fcntl", FunctionDescriptor.of(i, i, i, a), errno,
                                Linker.Option.firstVariadicArg(2)),
                        bind(linker, libc, "close", FunctionDescriptor.of(i, i)),
                        bind(linker, libc, "strerror", FunctionDescriptor.of(ValueLayout.ADDRESS.withTargetLayout(
                                MemoryLayout.sequenceLayout(256, ValueLayout.JAVA_BYTE)), i)));
            } catch (IllegalCallerException | UnsupportedOperationException | IllegalArgumentException e) {
                // native access denied, or no such libc: the JDK's channel it is, and the operator is told
                // what that costs, once
                String module = PosixFileChannel.class.getModule().isNamed()
                        ? PosixFileChannel.class.getModule().getName() : "ALL-UNNAMED";
                System.getLogger(PosixFileChannel.class.getPackageName()).log(System.Logger.Level.WARNING,
                        "libc cannot be linked ({0}): a volume''s files go through the JDK''s channel, which an"
                        + " interrupted thread closes and whose lock any close of the file in this process drops;"
                        + " add --enable-native-access={1} to the java command line", e.getMessage(), module);
                return null;
            }
        }

        private static MethodHandle bind(Linker linker, SymbolLookup libc, String name, FunctionDescriptor d,
                                         Linker.Option... options) {
            return linker.downcallHandle(libc.find(name).orElseThrow(
                    () -> new IllegalArgumentException("libc has no " + name)), d, options);
        }

        static int errno(MemorySegment capture) {
            return (int) ERRNO.get(capture, 0L);
        }

        /** Where a call on this thread leaves its errno: one slot per thread, freed with it. */
        private static final ThreadLocal<MemorySegment> ERRNO_SLOT =
                ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(CAPTURE));

        static MemorySegment errnoSlot() {
            return ERRNO_SLOT.get();
        }

        /** What a downcall threw, to rethrow: a downcall handle throws only unchecked ones. */
        static RuntimeException unchecked(Throwable t) {
            if (t instanceof Error e) {
                throw e;
            }
            return t instanceof RuntimeException r ? r : new IllegalStateException(t);
        }

        static IOException failure(int errno, Path path, String call) {
            String reason = call + ": " + reason(errno);
            return switch (errno) {
                case ENOENT -> new NoSuchFileException(path.toString(), null, reason);
                case EACCES, EPERM -> new AccessDeniedException(path.toString(), null, reason);
                case EEXIST -> new FileAlreadyExistsException(path.toString(), null, reason);
                default -> new IOException(path + ": " + reason);
            };
        }

        private static String reason(int errno) {
            try {
                MemorySegment s = (MemorySegment) LIBC.strerror.invokeExact(errno);
                return s.getString(0) + " (errno " + errno + ")";
            } catch (Throwable t) {
                return "errno " + errno;
            }
        }

        static void closeQuietly(int fd) {
            try {
                int unused = (int) LIBC.close.invokeExact(fd);
            } catch (Throwable ignored) {
                // a close that fails leaves nothing to undo: the descriptor is gone either way (close(2), Linux)
            }
        }
    }
}
