package io.sectorcrypt.xts;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;
import java.util.function.Function;

/**
 * An AES-XTS key: key1 (data) || key2 (tweak), 32 bytes for XTS-AES-128 or 64 bytes for
 * XTS-AES-256 (IEEE 1619-2007 5.1).
 *
 * <p>The key material lives off-heap only: the raw bytes and, where the native kernel is
 * present, its round keys, expanded once here. {@link #close()} waits for operations in
 * progress on other threads, then zeroes both; the zeroed memory is freed once the key
 * object is unreachable. A key is immutable and may be
 * used from any number of threads at once; any use after close throws
 * {@link KeyClosedException}. Key bytes never appear in {@link #toString()}, in exception
 * messages or in logs.
 *
 * <p>The caller's array or segment is copied, not kept: zero it once the key is built.
 */
public final class XtsKey implements AutoCloseable {
    /** XTS-AES-128: two AES-128 keys. */
    public static final int AES_128_XTS_KEY_BYTES = 32;
    /** XTS-AES-256: two AES-256 keys. */
    public static final int AES_256_XTS_KEY_BYTES = 64;

    private final int size;
    private final MemorySegment raw;
    /** The kernel's expanded key, or null where the kernel is not loaded. */
    private final MemorySegment nativeSchedule;
    /**
     * A zero-length, global-scope alias of {@link #nativeSchedule} handed to downcalls:
     * passing a shared-arena segment would make every call acquire and release the arena
     * (an atomic on one shared word, contended across cores). {@link #guard} keeps the
     * memory alive instead.
     */
    private final MemorySegment nativeScheduleAlias;
    private final InFlightGuard guard = new InFlightGuard();
    private final PerThreadPool<JavaXts.Schedule> javaSchedules = new PerThreadPool<>(
            () -> JavaXts.Schedule.create(this), JavaXts.Schedule::wipeBuffers);

    private XtsKey(MemorySegment source, boolean allowEqualHalves) {
        Objects.requireNonNull(source, "key");
        long length = source.byteSize();
        if (length != AES_128_XTS_KEY_BYTES && length != AES_256_XTS_KEY_BYTES) {
            throw new IllegalArgumentException("an XTS key is 32 bytes (XTS-AES-128) or 64 bytes (XTS-AES-256), not "
                    + length + " bytes");
        }
        // FIPS 140-3 IG C.I (and SP 800-38E): the two halves must differ. Only the IEEE 1619
        // known-answer vector 1, whose halves are equal, may skip this.
        if (!allowEqualHalves && halvesEqual(source)) {
            throw new IllegalArgumentException("the two halves of an XTS key (key1 and key2) must differ"
                    + " (FIPS 140-3 IG C.I); generate the key from a DRBG");
        }
        this.size = (int) length;
        // An automatic arena: close() below zeroes the key material itself, once the guard
        // has seen every operation in flight end, and the GC frees the zeroed memory later.
        // A shared arena's close would add a handshake with every thread (~50 us measured
        // per key) for a lifetime the guard already enforces.
        Arena arena = Arena.ofAuto();
        MemorySegment schedule = null;
        this.raw = arena.allocate(length, 64);
        try {
            raw.copyFrom(source);
            if (EngineSelection.nativeKeysAvailable()) {
                schedule = NativeXts.expand(arena, raw, allowEqualHalves);
            }
        } catch (RuntimeException | Error e) {
            raw.fill((byte) 0);
            throw e;
        }
        this.nativeSchedule = schedule;
        this.nativeScheduleAlias = schedule == null ? null : MemorySegment.ofAddress(schedule.address());
    }

    /** Copies a 32- or 64-byte key. */
    public static XtsKey of(byte[] key) {
        Objects.requireNonNull(key, "key");
        return new XtsKey(MemorySegment.ofArray(key), false);
    }

    /** Copies a 32- or 64-byte key from a segment, on or off the heap, without a heap copy. */
    public static XtsKey of(MemorySegment key) {
        return new XtsKey(key, false);
    }

    /** For the IEEE 1619 known-answer vector whose halves are equal; never for real data. */
    static XtsKey ofKnownAnswerVector(byte[] key) {
        return new XtsKey(MemorySegment.ofArray(key), true);
    }

    /** 32 (XTS-AES-128) or 64 (XTS-AES-256). */
    public int size() {
        return size;
    }

    /** "XTS-AES-128" or "XTS-AES-256". */
    public String algorithm() {
        return size == AES_128_XTS_KEY_BYTES ? "XTS-AES-128" : "XTS-AES-256";
    }

    public boolean isClosed() {
        return guard.isClosed();
    }

    /**
     * Waits for operations in progress, then zeroes the key material. Idempotent;
     * safe to call from any thread.
     */
    @Override
    public void close() {
        if (!guard.close()) {
            return;
        }
        if (nativeSchedule != null) {
            NativeXts.wipe(nativeSchedule);
        }
        raw.fill((byte) 0);
        javaSchedules.clear();
    }

    @Override
    public String toString() {
        return "XtsKey[" + algorithm() + (isClosed() ? ", closed]" : "]");
    }

    /** Starts a use: the key stays open until {@link #exit(int)}. Throws if closed. */
    int enter() {
        return guard.enter();
    }

    void exit(int token) {
        guard.exit(token);
    }

    boolean hasNativeSchedule() {
        return nativeSchedule != null;
    }

    /** The expanded key for downcalls; valid between {@link #enter()} and {@link #exit(int)}. */
    MemorySegment nativeSchedule() {
        return nativeScheduleAlias;
    }

    PerThreadPool<JavaXts.Schedule> javaSchedules() {
        return javaSchedules;
    }

    /**
     * The one door to the raw key bytes, for building JCA key schedules: a fresh heap copy
     * the caller zeroes as soon as it is used. Valid between enter() and exit().
     */
    byte[] copyRawKey() {
        return raw.toArray(ValueLayout.JAVA_BYTE);
    }

    /**
     * Lends the raw key bytes (key1 || key2) to {@code use} as a read-only off-heap segment,
     * valid only during the call: for wrapping this key under a key-encryption key and for
     * the LUKS2 digest of a volume key, so that the key has one home and no second copy is
     * kept elsewhere. {@code use} must not keep, log or copy the segment to the heap beyond
     * what the wrapping primitive itself needs (and then zero that copy).
     *
     * @throws KeyClosedException if the key is closed
     */
    public <R> R withKeyBytes(Function<MemorySegment, R> use) {
        Objects.requireNonNull(use, "use");
        int token = enter();
        try {
            return use.apply(raw.asReadOnly());
        } finally {
            exit(token);
        }
    }

    /**
     * Whether {@code candidate} holds exactly this key, compared in constant time; lets a
     * caller that is handed the same key again (a JCA cipher re-initialised per sector)
     * keep this expanded key instead of building another. Reveals nothing else.
     */
    public boolean hasKeyMaterial(byte[] candidate) {
        Objects.requireNonNull(candidate, "candidate");
        if (candidate.length != size) {
            return false;
        }
        int token = enter();
        try {
            int diff = 0;
            for (int i = 0; i < size; i++) {
                diff |= raw.get(ValueLayout.JAVA_BYTE, i) ^ candidate[i];
            }
            return diff == 0;
        } finally {
            exit(token);
        }
    }

    /** Constant time: the loop never exits early on the first differing byte. */
    private static boolean halvesEqual(MemorySegment key) {
        int half = (int) key.byteSize() / 2;
        int diff = 0;
        for (int i = 0; i < half; i++) {
            diff |= key.get(ValueLayout.JAVA_BYTE, i) ^ key.get(ValueLayout.JAVA_BYTE, half + i);
        }
        return diff == 0;
    }
}
