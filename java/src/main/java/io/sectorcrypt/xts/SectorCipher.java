package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.util.Objects;

/**
 * Encrypts and decrypts disk sectors with AES-XTS (IEEE 1619-2007, NIST SP 800-38E), exactly
 * as dm-crypt's {@code aes-xts-plain64}: each sector is one XTS data unit whose tweak is its
 * IV, an unsigned 64-bit number, little-endian. A run of sectors is given by the IV of its
 * first sector; the IVs of the others follow the cipher's {@link IvConvention}: by default
 * {@link IvConvention#PLAIN64}, dm-crypt's and LUKS2's 512-byte units (a 4096-byte sector
 * {@code k} has IV {@code 8k}); {@link IvConvention#IV_LARGE_SECTORS} counts whole sectors.
 *
 * <p>Data may be a {@link MemorySegment} (native or heap), a {@link ByteBuffer} (direct or
 * heap) or a {@code byte[]}; heap arrays reach the native kernel without a copy. src and dst
 * may be the same memory (in place) but must not otherwise overlap. Every argument is
 * checked before any byte is written: a refused call leaves dst untouched.
 *
 * <p>A cipher is immutable and thread-safe; it does not own its key (close the key).
 *
 * <pre>{@code
 * try (XtsKey key = XtsKey.of(keyBytes)) {
 *     SectorCipher xts = SectorCipher.of(key);          // IVs in 512-byte units, as LUKS2
 *     xts.encrypt(plain, cipherText, 8 * sector, 4096);  // the first sector's IV
 * }
 * }</pre>
 */
public final class SectorCipher implements SectorTransform {
    private final XtsKey key;
    private final Engine engine;
    private final XtsImpl impl;
    private final IvConvention ivConvention;

    private SectorCipher(XtsKey key, Engine engine, IvConvention ivConvention) {
        this.key = Objects.requireNonNull(key, "key");
        this.engine = Objects.requireNonNull(engine, "engine");
        this.ivConvention = Objects.requireNonNull(ivConvention, "ivConvention");
        this.impl = engine.impl();
        if (engine.isNative() && !key.hasNativeSchedule()) {
            throw new IllegalStateException("engine " + engine.id() + " needs a key made while the native kernel"
                    + " was loaded");
        }
    }

    /**
     * A cipher on the selected engine ({@link Engine#selected()}), IVs in 512-byte units
     * ({@link IvConvention#PLAIN64}).
     *
     * @throws IllegalStateException if an engine forced with {@value Engine#PROPERTY} cannot run here
     */
    public static SectorCipher of(XtsKey key) {
        return new SectorCipher(key, Engine.selected(), IvConvention.PLAIN64);
    }

    /**
     * A cipher on the selected engine with the given IV convention.
     *
     * @throws IllegalStateException if an engine forced with {@value Engine#PROPERTY} cannot run here
     */
    public static SectorCipher of(XtsKey key, IvConvention ivConvention) {
        return new SectorCipher(key, Engine.selected(), ivConvention);
    }

    /**
     * A cipher on a given engine, IVs in 512-byte units ({@link IvConvention#PLAIN64}).
     *
     * @throws IllegalStateException if the engine cannot run here
     */
    public static SectorCipher of(XtsKey key, Engine engine) {
        return new SectorCipher(key, engine, IvConvention.PLAIN64);
    }

    /**
     * A cipher on a given engine with the given IV convention.
     *
     * @throws IllegalStateException if the engine cannot run here
     */
    public static SectorCipher of(XtsKey key, Engine engine, IvConvention ivConvention) {
        return new SectorCipher(key, engine, ivConvention);
    }

    public XtsKey key() {
        return key;
    }

    public Engine engine() {
        return engine;
    }

    /** How this cipher counts sector IVs. */
    @Override
    public IvConvention ivConvention() {
        return ivConvention;
    }

    /**
     * Encrypts whole sectors from src into dst (same length; may be the same memory).
     *
     * @param firstIv the first sector's IV, unsigned, in the unit of {@link #ivConvention()}
     * @param sectorSize bytes per sector (data unit): 16 .. 2^24, a multiple of 512 under
     *        {@link IvConvention#PLAIN64}
     * @throws IllegalArgumentException if src is not whole sectors, dst differs in length, is
     *         read-only or partly overlaps src, or the IVs break {@link IvConvention#checkRun}
     * @throws KeyClosedException if the key is closed
     */
    @Override
    public void encrypt(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        sectors(true, src, dst, firstIv, sectorSize);
    }

    /** Decrypts whole sectors from src into dst, as {@link #encrypt(MemorySegment, MemorySegment, long, int)}. */
    @Override
    public void decrypt(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        sectors(false, src, dst, firstIv, sectorSize);
    }

    /**
     * Encrypts the whole sectors in {@code src.remaining()} bytes into dst at its position;
     * both positions advance by that many bytes (once, if src and dst are the same buffer).
     */
    public void encrypt(ByteBuffer src, ByteBuffer dst, long firstIv, int sectorSize) {
        buffers(true, src, dst, firstIv, sectorSize);
    }

    /** Decrypts like {@link #encrypt(ByteBuffer, ByteBuffer, long, int)}. */
    public void decrypt(ByteBuffer src, ByteBuffer dst, long firstIv, int sectorSize) {
        buffers(false, src, dst, firstIv, sectorSize);
    }

    /** Encrypts {@code length} bytes of whole sectors from src[srcOffset..] into dst[dstOffset..]. */
    public void encrypt(byte[] src, int srcOffset, byte[] dst, int dstOffset, int length, long firstIv,
                        int sectorSize) {
        arrays(true, src, srcOffset, dst, dstOffset, length, firstIv, sectorSize);
    }

    /** Decrypts like {@link #encrypt(byte[], int, byte[], int, int, long, int)}. */
    public void decrypt(byte[] src, int srcOffset, byte[] dst, int dstOffset, int length, long firstIv,
                        int sectorSize) {
        arrays(false, src, srcOffset, dst, dstOffset, length, firstIv, sectorSize);
    }

    /**
     * Encrypts one data unit of any length from 16 bytes to 16 MiB (ciphertext stealing
     * when it is not a multiple of 16) with the caller's 16-byte tweak value.
     */
    public void encryptUnit(MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        unit(true, tweak, src, dst);
    }

    public void decryptUnit(MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        unit(false, tweak, src, dst);
    }

    public void encryptUnit(byte[] tweak, byte[] src, int srcOffset, byte[] dst, int dstOffset, int length) {
        unitArrays(true, tweak, src, srcOffset, dst, dstOffset, length);
    }

    public void decryptUnit(byte[] tweak, byte[] src, int srcOffset, byte[] dst, int dstOffset, int length) {
        unitArrays(false, tweak, src, srcOffset, dst, dstOffset, length);
    }

    private void sectors(boolean encrypt, MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        Checks.sectorSize(sectorSize);
        Checks.output(src, dst);
        long count = Checks.wholeSectors("src", src.byteSize(), sectorSize);
        long ivStep = ivConvention.checkRun(firstIv, count, sectorSize);
        if (count == 0) {
            return;
        }
        int token = key.enter();
        try {
            impl.crypt(encrypt, key, src, dst, firstIv, ivStep, sectorSize, count);
        } finally {
            key.exit(token);
        }
    }

    private void buffers(boolean encrypt, ByteBuffer src, ByteBuffer dst, long firstIv, int sectorSize) {
        Objects.requireNonNull(src, "src");
        Objects.requireNonNull(dst, "dst");
        int n = src.remaining();
        if (dst.remaining() < n) {
            throw new IllegalArgumentException("dst has " + dst.remaining() + " bytes remaining but src has " + n);
        }
        if (dst.isReadOnly()) {
            throw new IllegalArgumentException("dst is read-only");
        }
        if (src.isDirect() && dst.isDirect()) {
            // Direct buffers go to the engine as buffers: a segment view made here would escape
            // into the engine's call and cost an allocation per call. The views made for the
            // overlap check of two buffers stay here, where C2 removes them.
            if (src != dst) {
                Checks.noPartialOverlap(MemorySegment.ofBuffer(src).address(), MemorySegment.ofBuffer(dst).address(), n);
            }
            directBuffers(encrypt, src, dst, firstIv, sectorSize);
            return;
        }
        MemorySegment in = MemorySegment.ofBuffer(src);
        MemorySegment out = src == dst ? in : MemorySegment.ofBuffer(dst).asSlice(0, n);
        sectors(encrypt, in, out, firstIv, sectorSize);
        src.position(src.position() + n);
        if (dst != src) {
            dst.position(dst.position() + n);
        }
    }

    private void directBuffers(boolean encrypt, ByteBuffer src, ByteBuffer dst, long firstIv, int sectorSize) {
        int n = src.remaining();
        Checks.sectorSize(sectorSize);
        long count = Checks.wholeSectors("src", n, sectorSize);
        long ivStep = ivConvention.checkRun(firstIv, count, sectorSize);
        if (count != 0) {
            int token = key.enter();
            try {
                impl.cryptBuffers(encrypt, key, src, src.position(), dst, dst.position(), firstIv, ivStep, sectorSize,
                        count);
            } finally {
                key.exit(token);
            }
        }
        src.position(src.position() + n);
        if (dst != src) {
            dst.position(dst.position() + n);
        }
    }

    private void arrays(boolean encrypt, byte[] src, int srcOffset, byte[] dst, int dstOffset, int length,
                        long firstIv, int sectorSize) {
        Checks.arrayRange("src", src, srcOffset, length);
        Checks.arrayRange("dst", dst, dstOffset, length);
        Checks.sectorSize(sectorSize);
        if (src == dst && srcOffset != dstOffset && Math.abs(srcOffset - dstOffset) < length) {
            throw new IllegalArgumentException(Checks.PARTIAL_OVERLAP);
        }
        long count = Checks.wholeSectors("src", length, sectorSize);
        long ivStep = ivConvention.checkRun(firstIv, count, sectorSize);
        if (count == 0) {
            return;
        }
        int token = key.enter();
        try {
            impl.cryptArrays(encrypt, key, src, srcOffset, dst, dstOffset, firstIv, ivStep, sectorSize, count);
        } finally {
            key.exit(token);
        }
    }

    private void unit(boolean encrypt, MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        Checks.tweak(tweak);
        Checks.output(src, dst);
        Checks.unitLength(src.byteSize());
        int token = key.enter();
        try {
            impl.cryptUnit(encrypt, key, tweak, src, dst);
        } finally {
            key.exit(token);
        }
    }

    private void unitArrays(boolean encrypt, byte[] tweak, byte[] src, int srcOffset, byte[] dst, int dstOffset,
                            int length) {
        Objects.requireNonNull(tweak, "tweak");
        Checks.arrayRange("src", src, srcOffset, length);
        Checks.arrayRange("dst", dst, dstOffset, length);
        unit(encrypt, MemorySegment.ofArray(tweak), MemorySegment.ofArray(src).asSlice(srcOffset, length),
                MemorySegment.ofArray(dst).asSlice(dstOffset, length));
    }

    @Override
    public String toString() {
        return "SectorCipher[" + key.algorithm() + ", " + engine.id() + ", " + ivConvention + "]";
    }
}
