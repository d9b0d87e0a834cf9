package io.sectorcrypt.volume;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.WritableByteChannel;
import java.util.Arrays;

/**
 * A {@link FileChannel} over a byte array, positional reads and writes only: what
 * {@link io.sectorcrypt.volume.luks2.Luks2Header} uses. Lets the header fuzzer read a
 * hundred thousand images without a system call each.
 */
final class MemoryFileChannel extends FileChannel {
    private byte[] bytes;
    private int length;

    MemoryFileChannel(byte[] image) {
        this.bytes = image.clone();
        this.length = image.length;
    }

    /** The current contents. */
    byte[] contents() {
        return Arrays.copyOf(bytes, length);
    }

    @Override
    public int read(ByteBuffer dst, long position) {
        if (position >= length) {
            return -1;
        }
        int n = (int) Math.min(dst.remaining(), length - position);
        dst.put(bytes, (int) position, n);
        return n;
    }

    @Override
    public int write(ByteBuffer src, long position) {
        int n = src.remaining();
        long end = position + n;
        if (end > Integer.MAX_VALUE - 8) {
            throw new UnsupportedOperationException("an in-memory channel holds less than 2 GiB");
        }
        if (end > bytes.length) {
            bytes = Arrays.copyOf(bytes, (int) Math.max(end, 2L * bytes.length));
        }
        src.get(bytes, (int) position, n);
        length = (int) Math.max(length, end);
        return n;
    }

    @Override
    public long size() {
        return length;
    }

    @Override
    public void force(boolean metaData) {
    }

    @Override
    public int read(ByteBuffer dst) {
        throw new UnsupportedOperationException("positional reads only");
    }

    @Override
    public long read(ByteBuffer[] dsts, int offset, int length) {
        throw new UnsupportedOperationException("positional reads only");
    }

    @Override
    public int write(ByteBuffer src) {
        throw new UnsupportedOperationException("positional writes only");
    }

    @Override
    public long write(ByteBuffer[] srcs, int offset, int length) {
        throw new UnsupportedOperationException("positional writes only");
    }

    @Override
    public long position() {
        throw new UnsupportedOperationException("positional I/O only");
    }

    @Override
    public FileChannel position(long newPosition) {
        throw new UnsupportedOperationException("positional I/O only");
    }

    @Override
    public FileChannel truncate(long size) {
        length = (int) Math.min(length, size);
        return this;
    }

    @Override
    public long transferTo(long position, long count, WritableByteChannel target) throws IOException {
        throw new UnsupportedOperationException();
    }

    @Override
    public long transferFrom(ReadableByteChannel src, long position, long count) throws IOException {
        throw new UnsupportedOperationException();
    }

    @Override
    public MappedByteBuffer map(MapMode mode, long position, long size) {
        throw new UnsupportedOperationException();
    }

    @Override
    public FileLock lock(long position, long size, boolean shared) {
        throw new UnsupportedOperationException();
    }

    @Override
    public FileLock tryLock(long position, long size, boolean shared) {
        throw new UnsupportedOperationException();
    }

    @Override
    protected void implCloseChannel() {
    }
}
