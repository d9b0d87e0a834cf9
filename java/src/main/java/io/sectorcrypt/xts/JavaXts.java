package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * XTS in pure Java over the JCA {@code AES/ECB/NoPadding} primitive (and, to decrypt,
 * {@code AES/CBC/NoPadding} from the same provider), which HotSpot turns into AES-NI/VAES code. Needs no native code of ours: the fallback where the kernel
 * cannot load, and the reference the native tiers are tested against.
 *
 * <p>Per chunk of a data unit: the input is XORed with the tweaks T_j on its way into a
 * work buffer, the whole chunk goes through one ECB (or CBC-decrypt) call, and the result
 * is XORed with the same tweaks on its way to the output. Ciphertext stealing (IEEE 1619-2007 5.3.2) takes
 * the last full block and the partial block one block at a time.
 */
final class JavaXts implements XtsImpl {
    static final JavaXts INSTANCE = new JavaXts();

    /**
     * Names the JCA provider whose AES/ECB the engine composes XTS on (e.g. BCFIPS, for AES
     * inside a FIPS 140-3 validated module); unset, the JCA preference order decides.
     */

    /** Bytes per ECB call; a multiple of 16. Big enough to amortise the call, small enough for L1/L2. */
    static final int CHUNK = 16 * 1024;
    /** Unit tweaks encrypted per ECB call in a batch. */
    private static final int TWEAK_BATCH = CHUNK / 16;

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LE_LONG = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Where a chunk's blocks start in the work buffer: after 16 zero bytes, CBC's X_{-1}. */
    private static final int WORK_DATA = 16;
    /** How far ahead {@link #fillTweaks} computes: T_{j+16} from T_j. */
    private static final int TWEAK_STRIDE = 16;

    private JavaXts() {
    }

    /*
     * Memory is passed as a pair: a byte[] with an index into it, or (array null) a segment
     * with an offset into it. Heap segments over byte[] become the array form, so arrays are
     * always read and written in place.
     */

    @Override
    public void crypt(boolean encrypt, XtsKey key, MemorySegment src, MemorySegment dst,
                      long firstIv, long ivStep, int unitSize, long count) {
        byte[] srcArray = byteArray(src);
        byte[] dstArray = byteArray(dst);
        units(encrypt, key, srcArray, srcArray != null ? null : src, srcArray != null ? src.address() : 0,
                dstArray, dstArray != null ? null : dst, dstArray != null ? dst.address() : 0, null, null, firstIv,
                ivStep, unitSize, count);
    }

    @Override
    public void cryptArrays(boolean encrypt, XtsKey key, byte[] src, int srcOff, byte[] dst, int dstOff,
                            long firstIv, long ivStep, int unitSize, long count) {
        units(encrypt, key, src, null, srcOff, dst, null, dstOff, null, null, firstIv, ivStep, unitSize, count);
    }

    /**
     * As {@link #crypt}, from {@code count * unitSize} bytes of a direct buffer from
     * {@code srcIndex} to another (or the same) from {@code dstIndex}: no segment view of the
     * buffers, which would escape into this engine's (large, not inlined) body and cost 40
     * bytes a call. Each chunk is staged through the engine's buffers with the buffers'
     * absolute bulk get and put; the source chunk is read before the output chunk is written.
     */
    @Override
    public void cryptBuffers(boolean encrypt, XtsKey key, ByteBuffer srcBuffer, int srcIndex, ByteBuffer dstBuffer,
                             int dstIndex, long firstIv, long ivStep, int unitSize, long count) {
        units(encrypt, key, null, null, srcIndex, null, null, dstIndex, srcBuffer, dstBuffer, firstIv, ivStep,
                unitSize, count);
    }

    private static void units(boolean encrypt, XtsKey key, byte[] srcArray, MemorySegment src, long srcBase,
                              byte[] dstArray, MemorySegment dst, long dstBase, ByteBuffer srcBuffer,
                              ByteBuffer dstBuffer, long firstIv, long ivStep, int unitSize, long count) {
        PerThreadPool<Schedule> pool = key.javaSchedules();
        Schedule s = pool.take();
        try {
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(TWEAK_BATCH, count - done);
                // Encrypt the tweaks of n units in one ECB call: their plain64 IVs, little-endian.
                Arrays.fill(s.unitTweaks, 0, n * 16, (byte) 0);
                for (int u = 0; u < n; u++) {
                    LONG.set(s.unitTweaks, u * 16, firstIv + (done + u) * ivStep);
                }
                // Out of place: the JDK's CipherCore copies (allocates) an input that is also the output.
                s.ecb(s.tweakCipher, s.unitTweaks, s.encryptedTweaks, n * 16);
                for (int u = 0; u < n; u++) {
                    long offset = (done + u) * unitSize;
                    long tLo = (long) LONG.get(s.encryptedTweaks, u * 16);
                    long tHi = (long) LONG.get(s.encryptedTweaks, u * 16 + 8);
                    unit(s, encrypt, tLo, tHi, srcArray, src, srcBase + offset, dstArray, dst, dstBase + offset,
                            srcBuffer, dstBuffer, unitSize);
                }
                done += n;
            }
        } finally {
            pool.give(s);
        }
    }

    @Override
    public void cryptUnit(boolean encrypt, XtsKey key, MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        PerThreadPool<Schedule> pool = key.javaSchedules();
        Schedule s = pool.take();
        try {
            MemorySegment.copy(tweak, 0, s.unitTweakSegment, 0, 16);
            s.ecb(s.tweakCipher, s.unitTweaks, s.encryptedTweaks, 16);
            long tLo = (long) LONG.get(s.encryptedTweaks, 0);
            long tHi = (long) LONG.get(s.encryptedTweaks, 8);
            byte[] srcArray = byteArray(src);
            byte[] dstArray = byteArray(dst);
            unit(s, encrypt, tLo, tHi, srcArray, srcArray != null ? null : src, srcArray != null ? src.address() : 0,
                    dstArray, dstArray != null ? null : dst, dstArray != null ? dst.address() : 0, null, null,
                    (int) src.byteSize());
        } finally {
            pool.give(s);
        }
    }

    /**
     * One data unit; (tLo, tHi) is T_0 = E_K2(i) as a 128-bit little-endian number. Per
     * chunk: the chunk's tweaks into a long[] ({@link #fillTweaks}), one fused pass
     * src xor T into the work buffer, one ECB (or CBC-decrypt) call, one fused pass out xor
     * T (and, for CBC, the chaining value) into dst. Every loop is straight-line XORs and
     * shifts over public indices: constant time.
     *
     * <p>Decryption rides AES/CBC/NoPadding when the provider has it: fed X_i = C_i xor T_i
     * from an all-zero IV (each doFinal starts from it again), it returns D(X_i) xor X_{i-1},
     * so P_i = out_i xor X_{i-1} xor T_i, with X_{-1} = 0: the 16 zero bytes in front of the
     * work buffer's data. HotSpot runs CBC decryption many blocks in flight on every AES-NI
     * CPU, ECB only with AVX-512.
     */
    private static void unit(Schedule s, boolean encrypt, long tLo, long tHi, byte[] srcArray, MemorySegment src,
                             long srcOff, byte[] dstArray, MemorySegment dst, long dstOff, ByteBuffer srcBuffer,
                             ByteBuffer dstBuffer, int len) {
        boolean cbc = !encrypt && s.cbcDecryptCipher != null;
        Cipher data = encrypt ? s.encryptCipher : cbc ? s.cbcDecryptCipher : s.decryptCipher;
        int tail = len & 15;
        int bulk = (len & ~15) - (tail != 0 ? 16 : 0);
        byte[] work = s.work;
        byte[] out = s.out;
        long[] tweaks = s.tweaks;
        for (int pos = 0; pos < bulk; ) {
            int n = Math.min(CHUNK, bulk - pos);
            int longs = n >>> 3;
            fillTweaks(tweaks, s.tweakLos, s.tweakHis, n >>> 4, tLo, tHi);
            // The tweak after this chunk's last block: T * x.
            long lastLo = tweaks[longs - 2];
            long lastHi = tweaks[longs - 1];
            tHi = (lastHi << 1) | (lastLo >>> 63);
            tLo = (lastLo << 1) ^ ((lastHi >> 63) & 0x87);
            if (srcBuffer != null) {
                srcBuffer.get((int) (srcOff + pos), out, 0, n);
                xorIn(work, out, 0, tweaks, longs);

            } else if (srcArray != null) {
                xorIn(work, srcArray, (int) (srcOff + pos), tweaks, longs);
            } else {
                xorIn(work, src, srcOff + pos, tweaks, longs);
            }
            JdkAes.blocks(data, work, WORK_DATA, out, 0, n);
            if (dstBuffer != null || dstArray != null) {
                if (cbc) {
                    xorOutChained(out, tweaks, work, longs);
                } else {
                    xorOut(out, tweaks, longs);
                }
                if (dstBuffer != null) {
                    dstBuffer.put((int) (dstOff + pos), out, 0, n);
                } else {
                    System.arraycopy(out, 0, dstArray, (int) (dstOff + pos), n);
                }
            } else if (cbc) {
                xorOutChained(dst, dstOff + pos, out, tweaks, work, longs);
            } else {
                xorOut(dst, dstOff + pos, out, tweaks, longs);
            }
            pos += n;
        }
        if (tail != 0) {
            steal(s, encrypt ? s.encryptCipher : s.decryptCipher, encrypt, tLo, tHi, srcArray, src, srcOff + bulk,
                    dstArray, dst, dstOff + bulk, srcBuffer, dstBuffer, tail);
        }
    }

    /** work[WORK_DATA + 8k..] = src[8k..] xor tweaks[k] as longs, k < longs: src copied and XORed in one pass. */
    static void xorIn(byte[] work, byte[] src, int srcOff, long[] tweaks, int longs) {
        for (int k = 0; k < longs; k++) {
            LONG.set(work, WORK_DATA + 8 * k, (long) LONG.get(src, srcOff + 8 * k) ^ tweaks[k]);
        }
    }

    static void xorIn(byte[] work, MemorySegment src, long srcOff, long[] tweaks, int longs) {
        for (int k = 0; k < longs; k++) {
            LONG.set(work, WORK_DATA + 8 * k, src.get(LE_LONG, srcOff + 8L * k) ^ tweaks[k]);
        }
    }

    /**
     * out[8k..] ^= tweaks[k] as longs, in place: for arrays and buffers, which then take a
     * bulk copy (measured faster on arrays than one fused loop into dst at an offset).
     */
    static void xorOut(byte[] out, long[] tweaks, int longs) {
        for (int k = 0; k < longs; k++) {
            LONG.set(out, 8 * k, (long) LONG.get(out, 8 * k) ^ tweaks[k]);
        }
    }

    /** dst[8k..] = out[8k..] xor tweaks[k] as longs: XOR and copy out in one pass. */
    static void xorOut(MemorySegment dst, long dstOff, byte[] out, long[] tweaks, int longs) {
        for (int k = 0; k < longs; k++) {
            dst.set(LE_LONG, dstOff + 8L * k, (long) LONG.get(out, 8 * k) ^ tweaks[k]);
        }
    }

    /** As {@link #xorOut}, and undoing CBC's chaining: work[8k..] is X_{i-1} (16 zero bytes before X_0). */
    static void xorOutChained(byte[] out, long[] tweaks, byte[] work, int longs) {
        for (int k = 0; k < longs; k++) {
            LONG.set(out, 8 * k, (long) LONG.get(out, 8 * k) ^ tweaks[k] ^ (long) LONG.get(work, 8 * k));
        }
    }

    /** As {@link #xorOut(MemorySegment, long, byte[], long[], int)}, undoing CBC's chaining. */
    static void xorOutChained(MemorySegment dst, long dstOff, byte[] out, long[] tweaks, byte[] work,
                                      int longs) {
        for (int k = 0; k < longs; k++) {
            dst.set(LE_LONG, dstOff + 8L * k, (long) LONG.get(out, 8 * k) ^ tweaks[k] ^ (long) LONG.get(work, 8 * k));
        }
    }

    /**
     * Writes T_0 .. T_{blocks-1} (T_0 = {lo, hi}) to tweaks as {lo, hi} pairs. The first
     * {@link #TWEAK_STRIDE} come from the serial doubling chain (about three cycles a block,
     * most of the engine's time when it made all of them); the rest from the tweak
     * TWEAK_STRIDE blocks back: T_{j+16} = T_j * x^16, a shift by 16 bits with the 16 bits
     * shifted out folded back with x^7 + x^2 + x + 1. That loop runs over separate lo and hi
     * arrays, where every lane does the same work and C2 vectorises it; a last scalar pass
     * interleaves them.
     */
    static void fillTweaks(long[] tweaks, long[] los, long[] his, int blocks, long lo, long hi) {
        int serial = Math.min(TWEAK_STRIDE, blocks);
        for (int j = 0; j < serial; j++) {
            los[j] = lo;
            his[j] = hi;
            long carry = hi >> 63;
            hi = (hi << 1) | (lo >>> 63);
            lo = (lo << 1) ^ (carry & 0x87);
        }
        for (int j = 0; j < blocks - TWEAK_STRIDE; j++) {
            long l = los[j];
            long h = his[j];
            long c = h >>> (64 - TWEAK_STRIDE);
            los[j + TWEAK_STRIDE] = (l << TWEAK_STRIDE) ^ c ^ (c << 1) ^ (c << 2) ^ (c << 7);
            his[j + TWEAK_STRIDE] = (h << TWEAK_STRIDE) | (l >>> (64 - TWEAK_STRIDE));
        }
        for (int j = 0; j < blocks; j++) {
            tweaks[2 * j] = los[j];
            tweaks[2 * j + 1] = his[j];
        }
    }

    /** The byte[] behind a heap segment (its address() is then the offset into it), or null. */
    private static byte[] byteArray(MemorySegment segment) {
        return segment.heapBase().orElse(null) instanceof byte[] array && !segment.isReadOnly() ? array : null;
    }

    /**
     * Ciphertext stealing: the last full block at offset 0 and {@code tail} more bytes.
     * Encryption uses T_{m-1} then T_m; decryption undoes them in the reverse order. Both
     * inputs are read before anything is written, so in place works.
     */
    private static void steal(Schedule s, Cipher data, boolean encrypt, long tLo, long tHi, byte[] srcArray,
                              MemorySegment src, long srcOff, byte[] dstArray, MemorySegment dst, long dstOff,
                              ByteBuffer srcBuffer, ByteBuffer dstBuffer, int tail) {
        long carry = tHi >> 63;
        long nHi = (tHi << 1) | (tLo >>> 63);
        long nLo = (tLo << 1) ^ (carry & 0x87);
        byte[] block = s.work;
        if (srcBuffer != null) {
            srcBuffer.get((int) srcOff, block, 0, 16 + tail);
        } else if (srcArray != null) {
            System.arraycopy(srcArray, (int) srcOff, block, 0, 16 + tail);
        } else {
            MemorySegment.copy(src, srcOff, s.workSegment, 0, 16 + tail);
        }
        xtsBlock(s, data, block, 0, encrypt ? tLo : nLo, encrypt ? tHi : nHi);
        // block[0..16) = CC (encrypt) or PP (decrypt); block[16..16+tail) = the partial input.
        for (int i = 0; i < tail; i++) {
            byte b = block[16 + i];
            block[16 + i] = block[i];
            block[i] = b;
        }
        xtsBlock(s, data, block, 0, encrypt ? nLo : tLo, encrypt ? nHi : tHi);
        if (dstBuffer != null) {
            dstBuffer.put((int) dstOff, block, 0, 16 + tail);
        } else if (dstArray != null) {
            System.arraycopy(block, 0, dstArray, (int) dstOff, 16 + tail);
        } else {
            MemorySegment.copy(s.workSegment, 0, dst, dstOff, 16 + tail);
        }
        Arrays.fill(block, 0, 32, (byte) 0);
    }

    private static void xtsBlock(Schedule s, Cipher data, byte[] b, int off, long tLo, long tHi) {
        LONG.set(b, off, (long) LONG.get(b, off) ^ tLo);
        LONG.set(b, off + 8, (long) LONG.get(b, off + 8) ^ tHi);
        s.ecbAt(data, b, off);
        LONG.set(b, off, (long) LONG.get(b, off) ^ tLo);
        LONG.set(b, off + 8, (long) LONG.get(b, off + 8) ^ tHi);
    }

    static final class Schedule {
        final Cipher encryptCipher;
        final Cipher decryptCipher;
        final Cipher tweakCipher;
        /** AES/CBC/NoPadding decrypting under key 1 from a zero IV, or null: the provider has none. */
        final Cipher cbcDecryptCipher;
        final byte[] work = new byte[WORK_DATA + CHUNK];
        /** The provider the AES comes from, for reports and tests. */
        String aesProvider() {
            return encryptCipher.getProvider().getName();
        }

        /** The provider of the CBC decryption the bulk of decryption rides, or null (ECB then). */
        String cbcProvider() {
            return cbcDecryptCipher == null ? null : cbcDecryptCipher.getProvider().getName();
        }


        final byte[] out = new byte[CHUNK];
        final long[] tweaks = new long[CHUNK / 8];
        final long[] tweakLos = new long[CHUNK / 16];
        final long[] tweakHis = new long[CHUNK / 16];
        final byte[] unitTweaks = new byte[TWEAK_BATCH * 16];
        final byte[] encryptedTweaks = new byte[TWEAK_BATCH * 16];
        final MemorySegment workSegment = MemorySegment.ofArray(work);
        final MemorySegment outSegment = MemorySegment.ofArray(out);
        final MemorySegment unitTweakSegment = MemorySegment.ofArray(unitTweaks);

        private Schedule(Cipher encryptCipher, Cipher decryptCipher, Cipher cbcDecryptCipher, Cipher tweakCipher) {
            this.encryptCipher = encryptCipher;
            this.decryptCipher = decryptCipher;
            this.cbcDecryptCipher = cbcDecryptCipher;
            this.tweakCipher = tweakCipher;
        }

        static Schedule create(XtsKey key) {
            byte[] raw = key.copyRawKey();
            try {
                int half = raw.length / 2;
                // SecretKeySpec copies the bytes; the JDK's AES keeps its own round keys on the
                // heap, which no API can wipe: a documented limit of the pure-Java engine.
                SecretKeySpec key1 = new SecretKeySpec(raw, 0, half, "AES");
                SecretKeySpec key2 = new SecretKeySpec(raw, half, half, "AES");
                Cipher enc = JdkAes.ecb();
                enc.init(Cipher.ENCRYPT_MODE, key1);
                Cipher dec = JdkAes.ecb();
                dec.init(Cipher.DECRYPT_MODE, key1);
                Cipher tweak = JdkAes.ecb();
                tweak.init(Cipher.ENCRYPT_MODE, key2);
                return new Schedule(enc, dec, cbcDecrypt(key1), tweak);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the JCA provides no usable AES/ECB/NoPadding: " + e.getMessage(), e);
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
        }

        /** CBC decryption under key1 from a zero IV, from the ECB's provider; null where it has none. */
        private static Cipher cbcDecrypt(SecretKeySpec key1) {
            Cipher cbc;
            try {
                cbc = JdkAes.cbc();
            } catch (GeneralSecurityException e) {
                return null; // decrypt through ECB, as before
            }
            try {
                cbc.init(Cipher.DECRYPT_MODE, key1, new IvParameterSpec(new byte[16]));
                return cbc;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/CBC/NoPadding refused the key: " + e.getMessage(), e);
            }
        }

        /** n bytes through ECB ({@link JdkAes#ecb(Cipher, byte[], byte[], int)}). */
        void ecb(Cipher cipher, byte[] in, byte[] outBuf, int n) {
            JdkAes.ecb(cipher, in, outBuf, n);
        }

        /** One block of b in place, through the out buffer (an in-place update makes CipherCore copy). */
        void ecbAt(Cipher cipher, byte[] b, int off) {
            try {
                if (cipher.doFinal(b, off, 16, out, 0) != 16) {
                    throw new IllegalStateException("AES/ECB returned a short result");
                }
                System.arraycopy(out, 0, b, off, 16);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/ECB failed: " + e.getMessage(), e);
            }
        }

        void wipeBuffers() {
            Arrays.fill(work, (byte) 0);
            Arrays.fill(out, (byte) 0);
            Arrays.fill(tweaks, 0L);
            Arrays.fill(tweakLos, 0L);
            Arrays.fill(tweakHis, 0L);
            Arrays.fill(unitTweaks, (byte) 0);
            Arrays.fill(encryptedTweaks, (byte) 0);
        }
    }
}
