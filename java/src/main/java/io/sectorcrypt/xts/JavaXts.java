package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.concurrent.ConcurrentLinkedDeque;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * XTS in pure Java over the JCA {@code AES/ECB/NoPadding} primitive, which HotSpot turns
 * into AES-NI/VAES code. Needs no native code of ours: the fallback where the kernel
 * cannot load, and the reference the native tiers are tested against.
 *
 * <p>Per chunk of a data unit: the tweaks T_j are computed into one buffer while the
 * plaintext is XORed with them, the whole chunk goes through one ECB call, and the
 * result is XORed with the same tweaks. Ciphertext stealing (IEEE 1619-2007 5.3.2) takes
 * the last full block and the partial block one block at a time.
 */
final class JavaXts implements XtsImpl {
    static final JavaXts INSTANCE = new JavaXts();

    /** Bytes per ECB call; a multiple of 16. Big enough to amortise the call, small enough for L1/L2. */
    static final int CHUNK = 16 * 1024;
    /** Unit tweaks encrypted per ECB call in a batch. */
    private static final int TWEAK_BATCH = CHUNK / 16;

    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private JavaXts() {
    }

    @Override
    public void crypt(boolean encrypt, XtsKey key, MemorySegment src, MemorySegment dst,
                      long firstUnit, int unitSize, long count) {
        Schedules pool = key.javaSchedules();
        Schedule s = pool.take(key);
        try {
            for (long done = 0; done < count; ) {
                int n = (int) Math.min(TWEAK_BATCH, count - done);
                // Encrypt the tweaks of n units in one ECB call: unit numbers, little-endian.
                Arrays.fill(s.unitTweaks, 0, n * 16, (byte) 0);
                for (int u = 0; u < n; u++) {
                    LONG.set(s.unitTweaks, u * 16, firstUnit + done + u);
                }
                s.ecb(s.tweakCipher, s.unitTweaks, s.unitTweaks, n * 16);
                for (int u = 0; u < n; u++) {
                    long offset = (done + u) * unitSize;
                    long tLo = (long) LONG.get(s.unitTweaks, u * 16);
                    long tHi = (long) LONG.get(s.unitTweaks, u * 16 + 8);
                    unit(s, encrypt, tLo, tHi, src, offset, dst, offset, unitSize);
                }
                done += n;
            }
        } finally {
            pool.give(s);
        }
    }

    @Override
    public void cryptUnit(boolean encrypt, XtsKey key, MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        Schedules pool = key.javaSchedules();
        Schedule s = pool.take(key);
        try {
            MemorySegment.copy(tweak, 0, MemorySegment.ofArray(s.unitTweaks), 0, 16);
            s.ecb(s.tweakCipher, s.unitTweaks, s.unitTweaks, 16);
            long tLo = (long) LONG.get(s.unitTweaks, 0);
            long tHi = (long) LONG.get(s.unitTweaks, 8);
            unit(s, encrypt, tLo, tHi, src, 0, dst, 0, (int) src.byteSize());
        } finally {
            pool.give(s);
        }
    }

    /** One data unit; (tLo, tHi) is T_0 = E_K2(i) as a 128-bit little-endian number. */
    private static void unit(Schedule s, boolean encrypt, long tLo, long tHi, MemorySegment src, long srcOff,
                             MemorySegment dst, long dstOff, int len) {
        Cipher data = encrypt ? s.encryptCipher : s.decryptCipher;
        int tail = len & 15;
        int bulk = (len & ~15) - (tail != 0 ? 16 : 0);
        MemorySegment work = MemorySegment.ofArray(s.work);
        MemorySegment out = MemorySegment.ofArray(s.out);
        for (int pos = 0; pos < bulk; ) {
            int n = Math.min(CHUNK, bulk - pos);
            MemorySegment.copy(src, srcOff + pos, work, 0, n);
            for (int i = 0; i < n; i += 16) {
                LONG.set(s.tweaks, i, tLo);
                LONG.set(s.tweaks, i + 8, tHi);
                LONG.set(s.work, i, (long) LONG.get(s.work, i) ^ tLo);
                LONG.set(s.work, i + 8, (long) LONG.get(s.work, i + 8) ^ tHi);
                // T * x: shift the 128-bit value left, fold the carry back with x^7 + x^2 + x + 1.
                long carry = tHi >> 63;
                tHi = (tHi << 1) | (tLo >>> 63);
                tLo = (tLo << 1) ^ (carry & 0x87);
            }
            s.ecb(data, s.work, s.out, n);
            for (int i = 0; i < n; i += 8) {
                LONG.set(s.out, i, (long) LONG.get(s.out, i) ^ (long) LONG.get(s.tweaks, i));
            }
            MemorySegment.copy(out, 0, dst, dstOff + pos, n);
            pos += n;
        }
        if (tail != 0) {
            steal(s, data, encrypt, tLo, tHi, src, srcOff + bulk, dst, dstOff + bulk, tail);
        }
    }

    /**
     * Ciphertext stealing: the last full block at offset 0 and {@code tail} more bytes.
     * Encryption uses T_{m-1} then T_m; decryption undoes them in the reverse order. Both
     * inputs are read before anything is written, so in place works.
     */
    private static void steal(Schedule s, Cipher data, boolean encrypt, long tLo, long tHi, MemorySegment src,
                              long srcOff, MemorySegment dst, long dstOff, int tail) {
        long carry = tHi >> 63;
        long nHi = (tHi << 1) | (tLo >>> 63);
        long nLo = (tLo << 1) ^ (carry & 0x87);
        byte[] block = s.work;
        MemorySegment.copy(src, srcOff, MemorySegment.ofArray(block), 0, 16 + tail);
        xtsBlock(s, data, block, 0, encrypt ? tLo : nLo, encrypt ? tHi : nHi);
        // block[0..16) = CC (encrypt) or PP (decrypt); block[16..16+tail) = the partial input.
        for (int i = 0; i < tail; i++) {
            byte b = block[16 + i];
            block[16 + i] = block[i];
            block[i] = b;
        }
        xtsBlock(s, data, block, 0, encrypt ? nLo : tLo, encrypt ? nHi : tHi);
        MemorySegment.copy(MemorySegment.ofArray(block), 0, dst, dstOff, 16 + tail);
        Arrays.fill(block, 0, 32, (byte) 0);
    }

    private static void xtsBlock(Schedule s, Cipher data, byte[] b, int off, long tLo, long tHi) {
        LONG.set(b, off, (long) LONG.get(b, off) ^ tLo);
        LONG.set(b, off + 8, (long) LONG.get(b, off + 8) ^ tHi);
        s.ecbAt(data, b, off);
        LONG.set(b, off, (long) LONG.get(b, off) ^ tLo);
        LONG.set(b, off + 8, (long) LONG.get(b, off + 8) ^ tHi);
    }

    /**
     * JCA ciphers keep state and are not thread-safe: each thread takes one key's set of
     * ciphers and buffers from this pool and gives it back, so a key is usable from many
     * threads and the pool grows only to the number of threads using it at once.
     */
    static final class Schedules {
        private final ConcurrentLinkedDeque<Schedule> idle = new ConcurrentLinkedDeque<>();

        Schedule take(XtsKey key) {
            Schedule s = idle.pollFirst();
            return s != null ? s : Schedule.create(key);
        }

        void give(Schedule s) {
            idle.offerFirst(s);
        }

        void clear() {
            Schedule s;
            while ((s = idle.pollFirst()) != null) {
                s.wipeBuffers();
            }
        }
    }

    static final class Schedule {
        final Cipher encryptCipher;
        final Cipher decryptCipher;
        final Cipher tweakCipher;
        final byte[] work = new byte[CHUNK];
        final byte[] out = new byte[CHUNK];
        final byte[] tweaks = new byte[CHUNK];
        final byte[] unitTweaks = new byte[TWEAK_BATCH * 16];

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
                Cipher enc = Cipher.getInstance("AES/ECB/NoPadding");
                enc.init(Cipher.ENCRYPT_MODE, key1);
                Cipher dec = Cipher.getInstance("AES/ECB/NoPadding");
                dec.init(Cipher.DECRYPT_MODE, key1);
                Cipher tweak = Cipher.getInstance("AES/ECB/NoPadding");
                tweak.init(Cipher.ENCRYPT_MODE, key2);
                return new Schedule(enc, dec, tweak);
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("the JCA provides no usable AES/ECB/NoPadding: " + e.getMessage(), e);
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
        }

        void ecb(Cipher cipher, byte[] in, byte[] outBuf, int n) {
            try {
                if (cipher.update(in, 0, n, outBuf, 0) != n) {
                    throw new IllegalStateException("AES/ECB returned a short result");
                }
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/ECB failed: " + e.getMessage(), e);
            }
        }

        void ecbAt(Cipher cipher, byte[] b, int off) {
            try {
                if (cipher.update(b, off, 16, b, off) != 16) {
                    throw new IllegalStateException("AES/ECB returned a short result");
                }
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException("AES/ECB failed: " + e.getMessage(), e);
            }
        }

        void wipeBuffers() {
            Arrays.fill(work, (byte) 0);
            Arrays.fill(out, (byte) 0);
            Arrays.fill(tweaks, (byte) 0);
            Arrays.fill(unitTweaks, (byte) 0);
        }
    }
}
