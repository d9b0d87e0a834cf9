package io.sectorcrypt.hctr2;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import java.util.Arrays;
import io.sectorcrypt.xts.JdkAes;
import io.sectorcrypt.xts.PerThreadPool;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * HCTR2 (Crowley, Huckleberry, Biggers, "Length-preserving encryption with HCTR2", ePrint
 * 2021/1441, section 3) in pure Java over the JCA {@code AES/ECB/NoPadding} primitive and
 * {@link Polyval}. With P = M || N (|M| = 16) and tweak T, encryption is
 *
 * <pre>
 *   MM = M xor H(T, N);   UU = E_K(MM);   S = MM xor UU xor L
 *   V  = N xor XCTR_K(S); U  = UU xor H(T, V);   C = U || V
 * </pre>
 *
 * and decryption the same with the roles of (M, N) and (U, V) swapped and D_K for E_K.
 * Both directions are therefore one procedure here: hash the input's tail, whiten and
 * encrypt or decrypt its first block, derive S, run XCTR over the tail while hashing the
 * output tail in the same chunk, and finish the first block. H(T, X) is POLYVAL under
 * h = E_K(bin(0)) of the length block bin(2|T| + 2 + [16 does not divide |X|]) (|T| in
 * bits), T zero-padded, then X, padded with one 0x01 byte and zeros if partial (as Linux's
 * {@code crypto/hctr2.c}). Both hashes share the prefix, hashed once per message.
 *
 * <p>XCTR (the paper's section 3.2): block i (from 1) of the key stream is
 * E_K(S xor bin(i)), the counter XORed in little-endian. The counter is XORed into the low
 * 64 bits only: messages are at most 2^20 blocks ({@link Hctr2Limits}), so the high bits of
 * bin(i) are zero.
 *
 * <p>In place is safe: the first block is read before anything is written and written
 * last, and the tail is hashed completely before XCTR overwrites it.
 */
final class JavaHctr2 implements Hctr2Impl {
    static final JavaHctr2 INSTANCE = new JavaHctr2();

    /**
     * Names the JCA provider whose AES/ECB the engine composes HCTR2 on; the same property
     * as the pure-Java XTS engine, so one setting (e.g. BCFIPS) moves both.
     */

    /** Bytes per ECB call and per copy: a multiple of 16, big enough to amortise the call, small enough for L1/L2. */
    static final int CHUNK = 16 * 1024;

    static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private JavaHctr2() {
    }

    @Override
    public void message(boolean encrypt, Hctr2Key key, MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        PerThreadPool<Schedule> pool = key.javaSchedules();
        Schedule s = pool.take();
        try {
            s.hashTweak(tweak, src.byteSize());
            s.crypt(encrypt, src, dst);
        } finally {
            pool.give(s);
        }
    }

    @Override
    public void sectors(boolean encrypt, Hctr2Key key, MemorySegment src, MemorySegment dst,
                        long firstIv, long ivStep, int sectorSize, long count) {
        PerThreadPool<Schedule> pool = key.javaSchedules();
        Schedule s = pool.take();
        try {
            for (long i = 0; i < count; i++) {
                s.hashSectorTweak(firstIv + i * ivStep, sectorSize);
                long offset = i * sectorSize;
                s.crypt(encrypt, src.asSlice(offset, sectorSize), dst.asSlice(offset, sectorSize));
            }
        } finally {
            pool.give(s);
        }
    }

    /**
     * XCTR alone (for its published vectors): {@code in} XORed with the key stream
     * E_K(nonce xor bin(i)), i = 1, 2, ...
     */
    static byte[] xctr(Hctr2Key key, byte[] nonce, byte[] in) {
        byte[] out = new byte[in.length];
        key.enter();
        PerThreadPool<Schedule> pool = key.javaSchedules();
        Schedule s = pool.take();
        try {
            s.xctr((long) LONG.get(nonce, 0), (long) LONG.get(nonce, 8), MemorySegment.ofArray(in), 0,
                    MemorySegment.ofArray(out), 0, in.length, false);
        } finally {
            pool.give(s);
            key.exit();
        }
        return out;
    }

    /** One thread's working set for one key. */
    static final class Schedule {
        private final Cipher encryptCipher;
        private final Cipher decryptCipher;
        private final Polyval polyval;
        private final long maskLo;
        private final long maskHi;
        private final byte[] work = new byte[CHUNK];
        private final byte[] counters = new byte[CHUNK];
        private final byte[] stream = new byte[CHUNK];
        private final MemorySegment workSegment = MemorySegment.ofArray(work);
        /** POLYVAL's state after the length block and the tweak: the prefix both hashes share. */
        private long prefixLo;
        private long prefixHi;

        private Schedule(Cipher encryptCipher, Cipher decryptCipher, Polyval polyval, long maskLo, long maskHi) {
            this.encryptCipher = encryptCipher;
            this.decryptCipher = decryptCipher;
            this.polyval = polyval;
            this.maskLo = maskLo;
            this.maskHi = maskHi;
        }

        static Schedule create(Hctr2Key key) {
            byte[] raw = key.copyRawKey();
            try {
                // SecretKeySpec copies the bytes; the JDK's AES keeps its round keys on the heap,
                // which no API can wipe (documented on Hctr2Key).
                SecretKeySpec k = new SecretKeySpec(raw, "AES");
                Cipher enc = JdkAes.ecb();
                enc.init(Cipher.ENCRYPT_MODE, k);
                Cipher dec = JdkAes.ecb();
                dec.init(Cipher.DECRYPT_MODE, k);
                return new Schedule(enc, dec, new Polyval(key.hashKeyLo(), key.hashKeyHi()), key.maskLo(), key.maskHi());
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the JCA provides no usable AES/ECB/NoPadding: " + e.getMessage(), e);
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
        }

        /**
         * Hashes the prefix for a message of {@code messageLength} bytes under {@code tweak}:
         * the length block bin(2|T| + 2 + [16 does not divide |N|]), |T| in bits, then T
         * zero-padded to whole blocks.
         */
        void hashTweak(MemorySegment tweak, long messageLength) {
            long tweakBytes = tweak.byteSize();
            polyval.set(0, 0);
            polyval.block(tweakBytes * 16 + 2 + ((messageLength & 15) != 0 ? 1 : 0), 0);
            for (long pos = 0; pos < tweakBytes; pos += CHUNK) {
                int n = (int) Math.min(CHUNK, tweakBytes - pos);
                MemorySegment.copy(tweak, pos, workSegment, 0, n);
                int padded = (n + 15) & ~15;
                Arrays.fill(work, n, padded, (byte) 0);
                polyval.blocks(work, 0, padded);
            }
            prefixLo = polyval.lo();
            prefixHi = polyval.hi();
        }

        /**
         * The prefix for a sector under dm-crypt's 32-byte plain64 tweak (the IV little-endian
         * in bytes 0..7, zeros after), hashed from the IV without building the tweak.
         */
        void hashSectorTweak(long iv, int sectorSize) {
            polyval.set(0, 0);
            polyval.block(Hctr2Limits.SECTOR_TWEAK_BYTES * 16 + 2 + ((sectorSize & 15) != 0 ? 1 : 0), 0);
            polyval.block(iv, 0);
            polyval.block(0, 0);
            prefixLo = polyval.lo();
            prefixHi = polyval.hi();
        }

        /** One message after {@link #hashTweak} or {@link #hashSectorTweak}; see the class comment. */
        void crypt(boolean encrypt, MemorySegment src, MemorySegment dst) {
            long tail = src.byteSize() - 16;
            long firstLo = src.get(LONG_LE, 0);
            long firstHi = src.get(LONG_LE, 8);
            // H(T, input tail): MM's whitening when encrypting (of N), UU's when decrypting (of V).
            polyval.set(prefixLo, prefixHi);
            for (long pos = 0; pos < tail; pos += CHUNK) {
                int n = (int) Math.min(CHUNK, tail - pos);
                MemorySegment.copy(src, 16 + pos, workSegment, 0, n);
                hashChunk(n);
            }
            long xLo = firstLo ^ polyval.lo();
            long xHi = firstHi ^ polyval.hi();
            LONG.set(work, 0, xLo);
            LONG.set(work, 8, xHi);
            aes(encrypt ? encryptCipher : decryptCipher, work, stream, 16);
            long yLo = (long) LONG.get(stream, 0);
            long yHi = (long) LONG.get(stream, 8);
            // S = MM xor UU xor L, symmetric in X and Y, so the same in both directions.
            long sLo = xLo ^ yLo ^ maskLo;
            long sHi = xHi ^ yHi ^ maskHi;
            polyval.set(prefixLo, prefixHi);
            xctr(sLo, sHi, src, 16, dst, 16, tail, true);
            dst.set(LONG_LE, 0, yLo ^ polyval.lo());
            dst.set(LONG_LE, 8, yHi ^ polyval.hi());
            LONG.set(work, 0, 0L);
            LONG.set(work, 8, 0L);
        }

        /**
         * dst[dstOff..+len) = src[srcOff..+len) xor XCTR_K(S); with {@code hash}, the output
         * also goes into POLYVAL, chunk by chunk while it is in L1.
         */
        void xctr(long sLo, long sHi, MemorySegment src, long srcOff, MemorySegment dst, long dstOff, long len,
                  boolean hash) {
            long counter = 1;
            for (long pos = 0; pos < len; pos += CHUNK) {
                int n = (int) Math.min(CHUNK, len - pos);
                int padded = (n + 15) & ~15;
                for (int i = 0; i < padded; i += 16, counter++) {
                    LONG.set(counters, i, sLo ^ counter);
                    LONG.set(counters, i + 8, sHi);
                }
                aes(encryptCipher, counters, stream, padded);
                MemorySegment.copy(src, srcOff + pos, workSegment, 0, n);
                xorInPlace(work, stream, padded);
                MemorySegment.copy(workSegment, 0, dst, dstOff + pos, n);
                if (hash) {
                    hashChunk(n);
                }
            }
        }

        /**
         * Absorbs work[0..n): whole blocks, then a partial block padded with 0x01 and zeros
         * (the paper's pad(X || 1) in POLYVAL's little-endian bit order, as Linux pads).
         */
        private void hashChunk(int n) {
            int whole = n & ~15;
            polyval.blocks(work, 0, whole);
            if (whole != n) {
                work[n] = 1;
                Arrays.fill(work, n + 1, whole + 16, (byte) 0);
                polyval.blocks(work, whole, 16);
            }
        }

        /**
         * a[i] ^= b[i] over n bytes, 64 bits at a time; same index into both arrays, so C2
         * vectorises it.
         */
        private static void xorInPlace(byte[] a, byte[] b, int n) {
            for (int i = 0; i < n; i += 8) {
                LONG.set(a, i, (long) LONG.get(a, i) ^ (long) LONG.get(b, i));
            }
        }

        private static void aes(Cipher cipher, byte[] in, byte[] out, int n) {
            JdkAes.ecb(cipher, in, out, n);
        }

        void wipe() {
            Arrays.fill(work, (byte) 0);
            Arrays.fill(counters, (byte) 0);
            Arrays.fill(stream, (byte) 0);
            polyval.wipe();
            prefixLo = 0;
            prefixHi = 0;
        }
    }
}
