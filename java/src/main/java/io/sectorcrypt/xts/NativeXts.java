package io.sectorcrypt.xts;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * The native kernel through the FFM API: one instance per CPU tier. The bindings mirror
 * {@code include/sectorcrypt.h} one to one; this class is initialised only once
 * {@link NativeLibrary#lookup()} has found the library.
 *
 * <p>The data calls are critical downcalls: no thread-state transition (cheap for one
 * sector) and heap arrays are passed in place, without a copy. A critical call holds off
 * safepoints, so no call covers more than {@link #MAX_BYTES_PER_CALL} bytes (about 0.1 ms
 * at the kernel's speed): a long request becomes several calls rather than a GC stall.
 */
final class NativeXts implements XtsImpl {
    static final int ABI_VERSION = 3;

    static final int SC_OK = 0;
    static final int SC_E_NULL = -1;
    static final int SC_E_KEY_LENGTH = -2;
    static final int SC_E_KEY_HALVES_EQUAL = -3;
    static final int SC_E_KEY_NOT_EXPANDED = -4;
    static final int SC_E_LENGTH = -5;
    static final int SC_E_RANGE = -6;
    static final int SC_E_TIER = -7;
    static final int SC_E_OVERLAP = -8;
    static final int SC_E_SELFTEST = -9;

    static final int SC_TIER_AESNI = 1;
    static final int SC_TIER_VAES256 = 2;
    static final int SC_TIER_VAES512 = 3;

    static final int SC_CPU_AES = 1;
    static final int SC_CPU_PCLMULQDQ = 1 << 1;
    static final int SC_CPU_SSE41 = 1 << 2;
    static final int SC_CPU_AVX = 1 << 3;
    static final int SC_CPU_AVX2 = 1 << 4;
    static final int SC_CPU_VAES = 1 << 5;
    static final int SC_CPU_VPCLMULQDQ = 1 << 6;
    static final int SC_CPU_AVX512F = 1 << 7;
    static final int SC_CPU_AVX512BW = 1 << 8;
    static final int SC_CPU_AVX512VL = 1 << 9;
    static final int SC_OS_YMM = 1 << 10;
    static final int SC_OS_ZMM = 1 << 11;

    static final int SC_KEY_ALLOW_EQUAL_HALVES = 1;

    static final long MAX_BYTES_PER_CALL = 1 << 20;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIBRARY = NativeLibrary.lookup()
            .orElseThrow(() -> new IllegalStateException(NativeLibrary.unavailableReason()));
    private static final Linker.Option CRITICAL = Linker.Option.critical(true);

    private static final MethodHandle sc_abi_version = bind("sc_abi_version", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle sc_cpu_features = bind("sc_cpu_features", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle sc_cpu_tiers = bind("sc_cpu_tiers", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle sc_xts_key_size = bind("sc_xts_key_size", FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle sc_xts_key_align = bind("sc_xts_key_align", FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle sc_xts_key_expand = bind("sc_xts_key_expand",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle sc_xts_key_wipe = bind("sc_xts_key_wipe", FunctionDescriptor.ofVoid(ADDRESS));
    private static final MethodHandle sc_selftest = bind("sc_selftest", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    private static final FunctionDescriptor UNITS = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final FunctionDescriptor UNIT = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
    private static final MethodHandle sc_xts_encrypt_units = bind("sc_xts_encrypt_units", UNITS, CRITICAL);
    private static final MethodHandle sc_xts_decrypt_units = bind("sc_xts_decrypt_units", UNITS, CRITICAL);
    private static final MethodHandle sc_xts_encrypt_unit = bind("sc_xts_encrypt_unit", UNIT, CRITICAL);
    private static final MethodHandle sc_xts_decrypt_unit = bind("sc_xts_decrypt_unit", UNIT, CRITICAL);

    private final int tier;

    NativeXts(int tier) {
        this.tier = tier;
    }

    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return bind(LIBRARY, name, descriptor, options);
    }

    /** One kernel function as a downcall handle: the one way every native engine binds the kernel. */
    static MethodHandle bind(SymbolLookup library, String name, FunctionDescriptor descriptor,
                             Linker.Option... options) {
        MemorySegment symbol = library.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libsectorcrypt.so lacks " + name));
        return LINKER.downcallHandle(symbol, descriptor, options);
    }

    /** The name in {@code include/sectorcrypt.h} of a kernel return code, e.g. "SC_E_OVERLAP". */
    static String codeName(int rc) {
        return switch (rc) {
            case SC_OK -> "SC_OK";
            case SC_E_NULL -> "SC_E_NULL";
            case SC_E_KEY_LENGTH -> "SC_E_KEY_LENGTH";
            case SC_E_KEY_HALVES_EQUAL -> "SC_E_KEY_HALVES_EQUAL";
            case SC_E_KEY_NOT_EXPANDED -> "SC_E_KEY_NOT_EXPANDED";
            case SC_E_LENGTH -> "SC_E_LENGTH";
            case SC_E_RANGE -> "SC_E_RANGE";
            case SC_E_TIER -> "SC_E_TIER";
            case SC_E_OVERLAP -> "SC_E_OVERLAP";
            case SC_E_SELFTEST -> "SC_E_SELFTEST";
            default -> "unknown code " + rc;
        };
    }

    @Override
    public void crypt(boolean encrypt, XtsKey key, MemorySegment src, MemorySegment dst,
                      long firstIv, long ivStep, int unitSize, long count) {
        MemorySegment expanded = key.nativeSchedule();
        long total = count * unitSize;
        if (total <= MAX_BYTES_PER_CALL) {
            check(encrypt ? encryptUnits(expanded, tier, src, dst, unitSize, count, firstIv, ivStep)
                          : decryptUnits(expanded, tier, src, dst, unitSize, count, firstIv, ivStep));
            return;
        }
        long perCall = Math.max(1, MAX_BYTES_PER_CALL / unitSize);
        for (long done = 0; done < count; done += perCall) {
            long n = Math.min(perCall, count - done);
            long offset = done * unitSize;
            MemorySegment in = src.asSlice(offset, n * unitSize);
            MemorySegment out = dst.asSlice(offset, n * unitSize);
            long iv = firstIv + done * ivStep;
            check(encrypt ? encryptUnits(expanded, tier, in, out, unitSize, n, iv, ivStep)
                          : decryptUnits(expanded, tier, in, out, unitSize, n, iv, ivStep));
        }
    }

    /**
     * Heap segments over the arrays: critical downcalls take them in place, and C2 removes the
     * wrappers, but only if the downcall is compiled into the method that made them. So the
     * usual call (up to {@link #MAX_BYTES_PER_CALL}) makes its downcall right here, not
     * through {@link #crypt}: once the segment path has compiled that on its own, C2 refuses
     * to inline it ("already compiled into a big method") and the wrappers escape, 144 bytes
     * a call.
     */
    @Override
    public void cryptArrays(boolean encrypt, XtsKey key, byte[] src, int srcOff, byte[] dst, int dstOff,
                            long firstIv, long ivStep, int unitSize, long count) {
        long length = count * unitSize;
        MemorySegment in = MemorySegment.ofArray(src).asSlice(srcOff, length);
        MemorySegment out = src == dst && srcOff == dstOff ? in : MemorySegment.ofArray(dst).asSlice(dstOff, length);
        if (length > MAX_BYTES_PER_CALL) {
            crypt(encrypt, key, in, out, firstIv, ivStep, unitSize, count);
            return;
        }
        MemorySegment expanded = key.nativeSchedule();
        int rc;
        try {
            rc = encrypt
                    ? (int) sc_xts_encrypt_units.invokeExact(expanded, tier, in, out, (long) unitSize, count, firstIv,
                            ivStep)
                    : (int) sc_xts_decrypt_units.invokeExact(expanded, tier, in, out, (long) unitSize, count, firstIv,
                            ivStep);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        check(rc);
    }

    /**
     * As {@link #cryptArrays}, over direct buffers: the downcall is made here, beside the views.
     * The downcall is written out again rather than shared with cryptArrays: one method making
     * views over both arrays and buffers was measured allocation-free for each kind alone, but
     * a process using both then allocated 72-112 bytes a call on one buffer in place, not 32
     * ({@code AllocationProbe segment,array,direct-in-place,two-direct-buffers native-vaes512}).
     * Calling {@link #encryptUnits} and {@link #decryptUnits} from both, as {@link #crypt}
     * does, kept each kind alone at 0 too, but the same mixed run then allocated 72 bytes a
     * call on arrays (decrypt) in 6 runs of 9, against 32 in every run of the code below.
     */
    @Override
    public void cryptBuffers(boolean encrypt, XtsKey key, ByteBuffer src, int srcIndex, ByteBuffer dst, int dstIndex,
                             long firstIv, long ivStep, int unitSize, long count) {
        long length = count * unitSize;
        MemorySegment in = MemorySegment.ofBuffer(src).asSlice(srcIndex - src.position(), length);
        MemorySegment out = src == dst && srcIndex == dstIndex ? in
                : MemorySegment.ofBuffer(dst).asSlice(dstIndex - dst.position(), length);
        if (length > MAX_BYTES_PER_CALL) {
            crypt(encrypt, key, in, out, firstIv, ivStep, unitSize, count);
            return;
        }
        MemorySegment expanded = key.nativeSchedule();
        int rc;
        try {
            rc = encrypt
                    ? (int) sc_xts_encrypt_units.invokeExact(expanded, tier, in, out, (long) unitSize, count, firstIv,
                            ivStep)
                    : (int) sc_xts_decrypt_units.invokeExact(expanded, tier, in, out, (long) unitSize, count, firstIv,
                            ivStep);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        check(rc);
    }

    @Override
    public void cryptUnit(boolean encrypt, XtsKey key, MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        MemorySegment expanded = key.nativeSchedule();
        try {
            int rc = encrypt
                    ? (int) sc_xts_encrypt_unit.invokeExact(expanded, tier, tweak, src, dst, src.byteSize())
                    : (int) sc_xts_decrypt_unit.invokeExact(expanded, tier, tweak, src, dst, src.byteSize());
            check(rc);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static int encryptUnits(MemorySegment key, int tier, MemorySegment in, MemorySegment out,
                                    long unitSize, long count, long firstIv, long ivStep) {
        try {
            return (int) sc_xts_encrypt_units.invokeExact(key, tier, in, out, unitSize, count, firstIv, ivStep);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static int decryptUnits(MemorySegment key, int tier, MemorySegment in, MemorySegment out,
                                    long unitSize, long count, long firstIv, long ivStep) {
        try {
            return (int) sc_xts_decrypt_units.invokeExact(key, tier, in, out, unitSize, count, firstIv, ivStep);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Expands {@code raw} into a new {@code sc_xts_key} allocated in {@code arena}. The
     * caller has validated the key; a refusal here is a bug and says which rule failed.
     */
    static MemorySegment expand(Arena arena, MemorySegment raw, boolean allowEqualHalves) {
        try {
            long size = (long) sc_xts_key_size.invokeExact();
            long align = (long) sc_xts_key_align.invokeExact();
            MemorySegment schedule = arena.allocate(size, align);
            int rc = (int) sc_xts_key_expand.invokeExact(schedule, raw, raw.byteSize(),
                    allowEqualHalves ? SC_KEY_ALLOW_EQUAL_HALVES : 0);
            check(rc);
            return schedule;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static void wipe(MemorySegment schedule) {
        try {
            sc_xts_key_wipe.invokeExact(schedule);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    static int abiVersion() {
        return callInt(sc_abi_version);
    }

    static int cpuFeatures() {
        return callInt(sc_cpu_features);
    }

    static int cpuTiers() {
        return callInt(sc_cpu_tiers);
    }

    static int selftest(int tier) {
        try {
            return (int) sc_selftest.invokeExact(tier);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    private static int callInt(MethodHandle handle) {
        try {
            return (int) handle.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * The one place a kernel return code becomes an exception. Java validates first, so any
     * code but SC_OK means Java and C disagree about a rule: report which, never any data.
     */
    static void check(int rc) {
        if (rc == SC_OK) {
            return;
        }
        String what = switch (rc) {
            case SC_E_NULL -> "a required pointer was NULL";
            case SC_E_KEY_LENGTH -> "the key is not 32 or 64 bytes";
            case SC_E_KEY_HALVES_EQUAL -> "key1 equals key2 (FIPS 140-3 IG C.I)";
            case SC_E_KEY_NOT_EXPANDED -> "the key schedule is not expanded";
            case SC_E_LENGTH -> "a data unit length is outside 16 .. 2^24 bytes";
            case SC_E_RANGE -> "the IV step is 0 or the last sector's IV exceeds 2^64 - 1";
            case SC_E_TIER -> "the CPU tier cannot run on this machine";
            case SC_E_OVERLAP -> "input and output overlap";
            case SC_E_SELFTEST -> "the known-answer self-test failed";
            default -> "unknown error code " + rc;
        };
        throw new IllegalStateException("native XTS kernel refused the call: " + what);
    }
}
