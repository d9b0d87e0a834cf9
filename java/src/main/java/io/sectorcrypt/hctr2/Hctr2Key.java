package io.sectorcrypt.hctr2;

import io.sectorcrypt.xts.JdkAes;
import io.sectorcrypt.xts.KeyClosedException;
import io.sectorcrypt.xts.PerThreadPool;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.GeneralSecurityException;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Function;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * An HCTR2-AES key: one AES key K of 16 bytes (HCTR2-AES-128) or 32 bytes (HCTR2-AES-256)
 * (Crowley, Huckleberry, Biggers, ePrint 2021/1441, section 3).
 *
 * <p>Set-up derives, once, what HCTR2 takes from K: the POLYVAL key h = E_K(bin(0)) and the
 * mask L = E_K(bin(1)) (bin: a 16-byte little-endian number). K, h and L live off-heap
 * only, in one 64-byte segment that {@link #close()} zeroes after operations in progress
 * on other threads have ended; the zeroed memory is freed once the key is unreachable.
 * The pure-Java engine works on the JDK's AES, which keeps its round keys on the heap
 * where no API can wipe them, and on a per-thread copy of h, which close() zeroes: the
 * same documented limit as the XTS pure-Java engine. Where the native engine runs, the
 * kernel's expanded key (sc_hctr2_key, aligned as sc_hctr2_key_align() asks) sits beside
 * them off-heap, and close() wipes it too (sc_hctr2_key_wipe, then a zero fill).
 *
 * <p>A key is immutable and may be used from any number of threads at once; use after
 * close throws {@link KeyClosedException}. Key bytes never appear in
 * {@link #toString()}, in exception messages or in logs. The caller's array is copied, not
 * kept: zero it once the key is built.
 */
public final class Hctr2Key implements AutoCloseable {
    /** HCTR2-AES-128. */
    public static final int AES_128_KEY_BYTES = 16;
    /** HCTR2-AES-256. */
    public static final int AES_256_KEY_BYTES = 32;

    /** Layout of {@link #material}: K (16 or 32 bytes, padded to 32), then h, then L. */
    private static final long H_OFFSET = 32;
    private static final long L_OFFSET = 48;

    private final int size;
    private final MemorySegment material;
    /** The kernel's expanded key (sc_hctr2_key), or null where the native engine cannot run. */
    private final MemorySegment nativeKey;
    /** A zero-length global alias of {@link #nativeKey} for downcalls (as XtsKey: no arena acquire per call). */
    private final MemorySegment nativeKeyAlias;
    private final Guard guard = new Guard();
    private final PerThreadPool<JavaHctr2.Schedule> javaSchedules = new PerThreadPool<>(
            () -> JavaHctr2.Schedule.create(this), JavaHctr2.Schedule::wipe);

    private Hctr2Key(MemorySegment source) {
        Objects.requireNonNull(source, "key");
        long length = source.byteSize();
        if (length != AES_128_KEY_BYTES && length != AES_256_KEY_BYTES) {
            throw new IllegalArgumentException("an HCTR2 key is one AES key: 16 bytes (HCTR2-AES-128) or 32 bytes"
                    + " (HCTR2-AES-256), not " + length + " bytes");
        }
        this.size = (int) length;
        // An automatic arena, as XtsKey: close() zeroes the bytes itself once the guard has
        // seen every use end; the GC frees the zeroed memory later.
        Arena arena = Arena.ofAuto();
        this.material = arena.allocate(64, 64);
        MemorySegment expanded = null;
        byte[] raw = null;
        byte[] constants = new byte[32];
        byte[] derived = new byte[32];
        try {
            material.asSlice(0, length).copyFrom(source);
            raw = source.toArray(ValueLayout.JAVA_BYTE);
            constants[16] = 1; // bin(0) || bin(1), little-endian
            Cipher aes = JdkAes.ecb();
            aes.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(raw, "AES"));
            // Out of place: the JDK would copy an in-place input to a heap array we cannot zero.
            if (aes.doFinal(constants, 0, 32, derived, 0) != 32) {
                throw new IllegalStateException("AES/ECB returned a short result");
            }
            MemorySegment.copy(MemorySegment.ofArray(derived), 0, material, H_OFFSET, 32);
            if (Hctr2Selection.nativeAvailable()) {
                expanded = NativeHctr2.expand(arena, material.asSlice(0, length));
            }
        } catch (GeneralSecurityException e) {
            material.fill((byte) 0);
            throw new IllegalStateException("the JCA provides no usable AES/ECB/NoPadding: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            material.fill((byte) 0);
            throw e;
        } finally {
            if (raw != null) {
                Arrays.fill(raw, (byte) 0);
            }
            Arrays.fill(derived, (byte) 0);
        }
        this.nativeKey = expanded;
        this.nativeKeyAlias = expanded == null ? null : MemorySegment.ofAddress(expanded.address());
    }

    /** Copies a 16- or 32-byte AES key. */
    public static Hctr2Key of(byte[] key) {
        Objects.requireNonNull(key, "key");
        return new Hctr2Key(MemorySegment.ofArray(key));
    }

    /** Copies a 16- or 32-byte AES key from a segment, on or off the heap. */
    public static Hctr2Key of(MemorySegment key) {
        return new Hctr2Key(key);
    }

    /** 16 (HCTR2-AES-128) or 32 (HCTR2-AES-256). */
    public int size() {
        return size;
    }

    /** "HCTR2-AES-128" or "HCTR2-AES-256". */
    public String algorithm() {
        return size == AES_128_KEY_BYTES ? "HCTR2-AES-128" : "HCTR2-AES-256";
    }

    public boolean isClosed() {
        return guard.closed;
    }

    /** Waits for operations in progress, then zeroes K, h, L and the native expanded key. Idempotent; any thread. */
    @Override
    public void close() {
        if (!guard.close()) {
            return;
        }
        if (nativeKey != null) {
            NativeHctr2.wipe(nativeKey);
        }
        material.fill((byte) 0);
        javaSchedules.clear();
    }

    @Override
    public String toString() {
        return "Hctr2Key[" + algorithm() + (isClosed() ? ", closed]" : "]");
    }

    /**
     * Whether {@code candidate} holds exactly this key, compared in constant time; lets a
     * JCA cipher re-initialised with the same key keep this one. Reveals nothing else.
     */
    public boolean hasKeyMaterial(byte[] candidate) {
        Objects.requireNonNull(candidate, "candidate");
        if (candidate.length != size) {
            return false;
        }
        enter();
        try {
            int diff = 0;
            for (int i = 0; i < size; i++) {
                diff |= material.get(ValueLayout.JAVA_BYTE, i) ^ candidate[i];
            }
            return diff == 0;
        } finally {
            exit();
        }
    }

    /**
     * Lends the raw AES key K to {@code use} as a read-only off-heap segment, valid only
     * during the call: for wrapping this key under a key-encryption key (the outer layer of
     * a DOUBLE disk) and for its digest, so that the key has one home. {@code use} must not
     * keep, log or copy the segment beyond what the wrapping primitive itself needs.
     *
     * @throws KeyClosedException if the key is closed
     */
    public <R> R withKeyBytes(Function<MemorySegment, R> use) {
        Objects.requireNonNull(use, "use");
        enter();
        try {
            return use.apply(material.asSlice(0, size).asReadOnly());
        } finally {
            exit();
        }
    }

    /** Starts a use: the key stays open until {@link #exit()}. Throws if closed. */
    void enter() {
        guard.enter();
    }

    void exit() {
        guard.exit();
    }

    /**
     * The one door to the raw AES key, for building JCA ciphers: a fresh heap copy the
     * caller zeroes as soon as it is used. Valid between enter() and exit().
     */
    byte[] copyRawKey() {
        return material.asSlice(0, size).toArray(ValueLayout.JAVA_BYTE);
    }

    /** h = E_K(bin(0)), the POLYVAL key, as (lo, hi) little-endian words. Valid between enter() and exit(). */
    long hashKeyLo() {
        return material.get(JavaHctr2.LONG_LE, H_OFFSET);
    }

    long hashKeyHi() {
        return material.get(JavaHctr2.LONG_LE, H_OFFSET + 8);
    }

    /** L = E_K(bin(1)), as (lo, hi). Valid between enter() and exit(). */
    long maskLo() {
        return material.get(JavaHctr2.LONG_LE, L_OFFSET);
    }

    long maskHi() {
        return material.get(JavaHctr2.LONG_LE, L_OFFSET + 8);
    }

    /**
     * The expanded native key for downcalls. Valid between enter() and exit(); throws if the
     * native engine could not run when this key was made.
     */
    MemorySegment nativeKey() {
        if (nativeKeyAlias == null) {
            throw new IllegalStateException("this Hctr2Key holds no native key: the native HCTR2 engine cannot run here");
        }
        return nativeKeyAlias;
    }

    PerThreadPool<JavaHctr2.Schedule> javaSchedules() {
        return javaSchedules;
    }

    /**
     * Counts uses in progress so that close() zeroes nothing under a running operation.
     * Ordering: enter() increments (volatile read-modify-write) then reads {@code closed};
     * close() writes {@code closed} then reads the count: either the entering thread sees
     * closed and backs out, or the closing thread sees it and waits. One counter, not
     * XtsKey's striped cells: enough until a native engine makes contention matter.
     */
    private static final class Guard {
        private final AtomicInteger inFlight = new AtomicInteger();
        private volatile boolean closed;

        void enter() {
            inFlight.incrementAndGet();
            if (closed) {
                inFlight.decrementAndGet();
                throw new KeyClosedException("Hctr2Key");
            }
        }

        void exit() {
            inFlight.decrementAndGet();
        }

        /** True for the one call that closes; waits for uses in progress to end. */
        synchronized boolean close() {
            if (closed) {
                return false;
            }
            closed = true;
            while (inFlight.get() != 0) {
                Thread.onSpinWait();
            }
            return true;
        }
    }
}
