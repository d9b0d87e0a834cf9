package io.sectorcrypt.hctr2;

import static io.sectorcrypt.xts.Checks.arrayRange;
import static io.sectorcrypt.xts.Checks.output;

import io.sectorcrypt.xts.IvConvention;
import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * HCTR2-AES, the length-preserving wide-block cipher of Crowley, Huckleberry and Biggers
 * ("Length-preserving encryption with HCTR2", IACR ePrint 2021/1441; Linux's
 * {@code hctr2(aes)} since 6.0): every output bit depends on every input bit of the
 * message, so, unlike XTS, a one-bit change anywhere changes the whole sector.
 *
 * <p>Two shapes of use:
 * <ul>
 *   <li>one message of 16 .. 2^24 bytes with a tweak of 0 .. 2^24 bytes
 *       ({@link #encrypt(byte[], byte[], int, byte[], int, int)}; {@link Hctr2Limits});</li>
 *   <li>a run of whole disk sectors exactly as dm-crypt's {@code capi:hctr2(aes)-plain64}:
 *       each sector is one message whose 32-byte tweak holds its IV little-endian in bytes
 *       0..7 and zeros after; the IVs follow the cipher's {@link IvConvention}, by default
 *       {@link IvConvention#PLAIN64} (512-byte units, as LUKS2: 4096-byte sector k has IV 8k).</li>
 * </ul>
 *
 * <p>src and dst may be the same memory (in place) but must not otherwise overlap. Every
 * argument is checked before any byte is written. A cipher is immutable and thread-safe;
 * it does not own its key (close the key).
 *
 * <pre>{@code
 * try (Hctr2Key key = Hctr2Key.of(key32)) {
 *     Hctr2 hctr2 = Hctr2.of(key);
 *     hctr2.encryptSectors(plain, cipherText, 8 * sector, 4096);  // the first sector's IV
 * }
 * }</pre>
 */
public final class Hctr2 {
    private final Hctr2Key key;
    private final Hctr2Engine engine;
    private final Hctr2Impl impl;
    private final IvConvention ivConvention;

    private Hctr2(Hctr2Key key, Hctr2Engine engine, IvConvention ivConvention) {
        this.key = Objects.requireNonNull(key, "key");
        this.engine = Objects.requireNonNull(engine, "engine");
        this.ivConvention = Objects.requireNonNull(ivConvention, "ivConvention");
        this.impl = engine.impl();
    }

    /** A cipher on the selected engine ({@link Hctr2Engine#selected()}), sector IVs in 512-byte units. */
    public static Hctr2 of(Hctr2Key key) {
        return new Hctr2(key, Hctr2Engine.selected(), IvConvention.PLAIN64);
    }

    /** A cipher on a given engine with the given sector IV convention. */
    public static Hctr2 of(Hctr2Key key, Hctr2Engine engine, IvConvention ivConvention) {
        return new Hctr2(key, engine, ivConvention);
    }

    public Hctr2Key key() {
        return key;
    }

    public Hctr2Engine engine() {
        return engine;
    }

    public IvConvention ivConvention() {
        return ivConvention;
    }

    /**
     * Encrypts one message from src into dst (same length; may be the same memory).
     *
     * @param tweak 0 .. 2^24 bytes
     * @throws IllegalArgumentException if src is not 16 .. 2^24 bytes, the tweak is too
     *         long, dst differs in length, is read-only or partly overlaps src
     * @throws IllegalStateException if the key is closed
     */
    public void encrypt(MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        message(true, tweak, src, dst);
    }

    /** Decrypts one message, as {@link #encrypt(MemorySegment, MemorySegment, MemorySegment)}. */
    public void decrypt(MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        message(false, tweak, src, dst);
    }

    /** Encrypts {@code length} bytes from src[srcOffset..] into dst[dstOffset..] as one message. */
    public void encrypt(byte[] tweak, byte[] src, int srcOffset, byte[] dst, int dstOffset, int length) {
        messageArrays(true, tweak, src, srcOffset, dst, dstOffset, length);
    }

    /** Decrypts like {@link #encrypt(byte[], byte[], int, byte[], int, int)}. */
    public void decrypt(byte[] tweak, byte[] src, int srcOffset, byte[] dst, int dstOffset, int length) {
        messageArrays(false, tweak, src, srcOffset, dst, dstOffset, length);
    }

    /**
     * Encrypts whole sectors from src into dst (same length; may be the same memory), each
     * with its dm-crypt plain64 tweak.
     *
     * @param firstIv the first sector's IV, unsigned, in the unit of {@link #ivConvention()}
     * @param sectorSize bytes per sector: 16 .. 2^24, a multiple of 512 under {@link IvConvention#PLAIN64}
     * @throws IllegalArgumentException if src is not whole sectors, dst differs in length, is
     *         read-only or partly overlaps src, or the IVs break {@link IvConvention#checkRun}
     * @throws IllegalStateException if the key is closed
     */
    public void encryptSectors(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        sectors(true, src, dst, firstIv, sectorSize);
    }

    /** Decrypts whole sectors, as {@link #encryptSectors(MemorySegment, MemorySegment, long, int)}. */
    public void decryptSectors(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        sectors(false, src, dst, firstIv, sectorSize);
    }

    /** Encrypts {@code length} bytes of whole sectors from src[srcOffset..] into dst[dstOffset..]. */
    public void encryptSectors(byte[] src, int srcOffset, byte[] dst, int dstOffset, int length, long firstIv,
                               int sectorSize) {
        sectorArrays(true, src, srcOffset, dst, dstOffset, length, firstIv, sectorSize);
    }

    /** Decrypts like {@link #encryptSectors(byte[], int, byte[], int, int, long, int)}. */
    public void decryptSectors(byte[] src, int srcOffset, byte[] dst, int dstOffset, int length, long firstIv,
                               int sectorSize) {
        sectorArrays(false, src, srcOffset, dst, dstOffset, length, firstIv, sectorSize);
    }

    private void message(boolean encrypt, MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        Objects.requireNonNull(tweak, "tweak");
        Hctr2Limits.checkTweakLength(tweak.byteSize());
        output(src, dst);
        Hctr2Limits.checkMessageLength(src.byteSize());
        key.enter();
        try {
            impl.message(encrypt, key, tweak, src, dst);
        } finally {
            key.exit();
        }
    }

    private void messageArrays(boolean encrypt, byte[] tweak, byte[] src, int srcOffset, byte[] dst, int dstOffset,
                               int length) {
        Objects.requireNonNull(tweak, "tweak");
        arrayRange("src", src, srcOffset, length);
        arrayRange("dst", dst, dstOffset, length);
        message(encrypt, MemorySegment.ofArray(tweak), MemorySegment.ofArray(src).asSlice(srcOffset, length),
                MemorySegment.ofArray(dst).asSlice(dstOffset, length));
    }

    private void sectors(boolean encrypt, MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        output(src, dst);
        Hctr2Limits.checkMessageLength(sectorSize);
        long step = ivConvention.ivStep(sectorSize);
        long count = src.byteSize() / sectorSize;
        if (count * sectorSize != src.byteSize()) {
            throw new IllegalArgumentException("src is " + src.byteSize() + " bytes, not a whole number of "
                    + sectorSize + "-byte sectors");
        }
        ivConvention.checkRun(firstIv, count, sectorSize);
        if (count == 0) {
            return;
        }
        key.enter();
        try {
            impl.sectors(encrypt, key, src, dst, firstIv, step, sectorSize, count);
        } finally {
            key.exit();
        }
    }

    private void sectorArrays(boolean encrypt, byte[] src, int srcOffset, byte[] dst, int dstOffset, int length,
                              long firstIv, int sectorSize) {
        arrayRange("src", src, srcOffset, length);
        arrayRange("dst", dst, dstOffset, length);
        sectors(encrypt, MemorySegment.ofArray(src).asSlice(srcOffset, length),
                MemorySegment.ofArray(dst).asSlice(dstOffset, length), firstIv, sectorSize);
    }

    @Override
    public String toString() {
        return "Hctr2[" + key.algorithm() + ", " + engine.id() + ", " + ivConvention + "]";
    }
}
