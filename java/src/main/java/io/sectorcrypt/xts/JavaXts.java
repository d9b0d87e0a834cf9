package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * XTS in pure Java over the JCA {@code AES/ECB/NoPadding} primitive, which HotSpot turns
 * into AES-NI/VAES code. Needs no native code of ours: the fallback where the kernel
 * cannot load, and the reference the native tiers are tested against.
 *
 * <p>Per chunk of a data unit: the input is XORed with the tweaks T_j into a work buffer,
 * the whole chunk goes through one ECB call, and the result is XORed with the same
 * tweaks on its way to the output. Ciphertext stealing (IEEE 1619-2007 5.3.2) takes
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
                dstArray, dstArray != null ? null : dst, dstArray != null ? dst.address() : 0, firstIv, ivStep, unitSize, count);
    }

    @Override
    public void cryptArrays(boolean encrypt, XtsKey key, byte[] src, int srcOff, byte[] dst, int dstOff,
                            long firstIv, long ivStep, int unitSize, long count) {
        units(encrypt, key, src, null, srcOff, dst, null, dstOff, firstIv, ivStep, unitSize, count);
    }

    private static void units(boolean encrypt, XtsKey key, byte[] srcArray, MemorySegment src, long srcBase,
                              byte[] dstArray, MemorySegment dst, long dstBase, long firstIv, long ivStep, int unitSize,
                              long count) {
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
                    unit(s, encrypt, tLo, tHi, srcArray, src, srcBase + offset, dstArray, dst, dstBase + offset, unitSize);
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
                    dstArray, dstArray != null ? null : dst, dstArray != null ? dst.address() : 0, (int) src.byteSize());
        } finally {
            pool.give(s);
        }
    }

    /**
     * One data unit; (tLo, tHi) is T_0 = E_K2(i) as a 128-bit little-endian number. Per
     * chunk: the tweaks T_j into a buffer, src copied to the work buffer and XORed with
     * them, one ECB call, the result XORed with them and copied to dst. The XOR loops have
     * the one shape C2 vectorises (same index, no offsets), so they cost little next to the
     * copies, which are bulk copies, and the ECB call, which runs at AES-NI/VAES speed.
     */
    private static void unit(Schedule s, boolean encrypt, long tLo, long tHi, byte[] srcArray, MemorySegment src,
                             long srcOff, byte[] dstArray, MemorySegment dst, long dstOff, int len) {
        Cipher data = encrypt ? s.encryptCipher : s.decryptCipher;
        int tail = len & 15;
        int bulk = (len & ~15) - (tail != 0 ? 16 : 0);
        byte[] work = s.work;
        byte[] out = s.out;
        byte[] tweaks = s.tweaks;
        long[] next = s.nextTweak;
        next[0] = tLo;
        next[1] = tHi;
        for (int pos = 0; pos < bulk; ) {
            int n = Math.min(CHUNK, bulk - pos);
            fillTweaks(tweaks, n, next);
            if (srcArray != null) {
                System.arraycopy(srcArray, (int) (srcOff + pos), work, 0, n);
            } else {
                MemorySegment.copy(src, srcOff + pos, s.workSegment, 0, n);
            }
            xorInPlace(work, tweaks, n);
            s.ecb(data, work, out, n);
            xorInPlace(out, tweaks, n);
            if (dstArray != null) {
                System.arraycopy(out, 0, dstArray, (int) (dstOff + pos), n);
            } else {
                MemorySegment.copy(s.outSegment, 0, dst, dstOff + pos, n);
            }
            pos += n;
        }
        if (tail != 0) {
            steal(s, data, encrypt, next[0], next[1], srcArray, src, srcOff + bulk, dstArray, dst, dstOff + bulk, tail);
        }
    }

    /**
     * a[i] ^= b[i] over n bytes, 64 bits at a time. Kept to this shape (same index into
     * both arrays, no offsets) so C2 can prove the accesses line up and vectorise the loop.
     */
    private static void xorInPlace(byte[] a, byte[] b, int n) {
        for (int i = 0; i < n; i += 8) {
            LONG.set(a, i, (long) LONG.get(a, i) ^ (long) LONG.get(b, i));
        }
    }

    /**
     * Writes T_j, T_{j+1}, ... for n bytes of blocks, starting from next = {lo, hi}, and
     * leaves the tweak of the block after them in next. One serial chain: measured faster
     * on JDK 25 than two interleaved x^2 chains or independent per-block shifts, none of
     * which C2 vectorises.
     */
    private static void fillTweaks(byte[] tweaks, int n, long[] next) {
        long lo = next[0];
        long hi = next[1];
        for (int i = 0; i < n; i += 16) {
            LONG.set(tweaks, i, lo);
            LONG.set(tweaks, i + 8, hi);
            // T * x: shift the 128-bit value left, fold the carry back with x^7 + x^2 + x + 1.
            long carry = hi >> 63;
            hi = (hi << 1) | (lo >>> 63);
            lo = (lo << 1) ^ (carry & 0x87);
        }
        next[0] = lo;
        next[1] = hi;
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
                              int tail) {
        long carry = tHi >> 63;
        long nHi = (tHi << 1) | (tLo >>> 63);
        long nLo = (tLo << 1) ^ (carry & 0x87);
        byte[] block = s.work;
        if (srcArray != null) {
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
        if (dstArray != null) {
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
        final byte[] work = new byte[CHUNK];
        /** The provider the AES comes from, for reports and tests. */
        String aesProvider() {
            return encryptCipher.getProvider().getName();
        }


        final byte[] out = new byte[CHUNK];
        final byte[] tweaks = new byte[CHUNK];
        final long[] nextTweak = new long[2];
        final byte[] unitTweaks = new byte[TWEAK_BATCH * 16];
        final byte[] encryptedTweaks = new byte[TWEAK_BATCH * 16];
        final MemorySegment workSegment = MemorySegment.ofArray(work);
        final MemorySegment outSegment = MemorySegment.ofArray(out);
        final MemorySegment unitTweakSegment = MemorySegment.ofArray(unitTweaks);

        private Schedule(Cipher encryptCipher, Cipher decryptCipher, Cipher tweakCipher) {
            this.encryptCipher = encryptCipher;
            this.decryptCipher = decryptCipher;
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
                return new Schedule(enc, dec, tweak);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the JCA provides no usable AES/ECB/NoPadding: " + e.getMessage(), e);
            } finally {
                Arrays.fill(raw, (byte) 0);
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
            Arrays.fill(tweaks, (byte) 0);
            Arrays.fill(unitTweaks, (byte) 0);
            Arrays.fill(encryptedTweaks, (byte) 0);
        }
    }
}
