package io.sectorcrypt.hctr2;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.sectorcrypt.xts.NativeKernel;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The native HCTR2 kernel ({@code native/src/hctr2*.c}) through the FFM API, one instance
 * per kernel tier. The bindings mirror the HCTR2 part of {@code include/sectorcrypt.h};
 * this class is initialised only once {@link NativeKernel#lookup()} has found the library.
 *
 * <p>As {@code NativeXts}: critical downcalls (heap arrays passed in place), and a sector
 * run is cut into calls of at most {@link #MAX_BYTES_PER_CALL} bytes so that no call holds
 * off a safepoint for long. One message is one call (at most 2^24 bytes, as one XTS unit).
 */
final class NativeHctr2 implements Hctr2Impl {
    static final int SC_OK = NativeKernel.OK;
    static final long MAX_BYTES_PER_CALL = NativeKernel.MAX_BYTES_PER_CALL;

    private static final Linker.Option CRITICAL = Linker.Option.critical(true);

    private static final MethodHandle sc_hctr2_key_size = bind("sc_hctr2_key_size", FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle sc_hctr2_key_align = bind("sc_hctr2_key_align",
            FunctionDescriptor.of(JAVA_LONG));
    private static final MethodHandle sc_hctr2_key_expand = bind("sc_hctr2_key_expand",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG));
    private static final MethodHandle sc_hctr2_key_wipe = bind("sc_hctr2_key_wipe",
            FunctionDescriptor.ofVoid(ADDRESS));

    private static final FunctionDescriptor MESSAGE = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG);
    private static final FunctionDescriptor UNITS = FunctionDescriptor.of(JAVA_INT,
            ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG);
    private static final MethodHandle sc_hctr2_encrypt = bind("sc_hctr2_encrypt", MESSAGE, CRITICAL);
    private static final MethodHandle sc_hctr2_decrypt = bind("sc_hctr2_decrypt", MESSAGE, CRITICAL);
    private static final MethodHandle sc_hctr2_encrypt_units = bind("sc_hctr2_encrypt_units", UNITS, CRITICAL);
    private static final MethodHandle sc_hctr2_decrypt_units = bind("sc_hctr2_decrypt_units", UNITS, CRITICAL);

    /** The kernel's SC_TIER_* this instance calls. */
    private final int tier;

    NativeHctr2(int tier) {
        this.tier = tier;
    }

    private static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        return NativeKernel.bind(name, descriptor, options);
    }

    @Override
    public void message(boolean encrypt, Hctr2Key key, MemorySegment tweak, MemorySegment src, MemorySegment dst) {
        check(message(encrypt, tier, key.nativeKey(), tweak, src, dst));
    }

    static int message(boolean encrypt, int tier, MemorySegment key, MemorySegment tweak, MemorySegment src,
                       MemorySegment dst) {
        try {
            return encrypt
                    ? (int) sc_hctr2_encrypt.invokeExact(key, tier, tweak, tweak.byteSize(), src, dst,
                            src.byteSize())
                    : (int) sc_hctr2_decrypt.invokeExact(key, tier, tweak, tweak.byteSize(), src, dst,
                            src.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    @Override
    public void sectors(boolean encrypt, Hctr2Key key, MemorySegment src, MemorySegment dst,
                        long firstIv, long ivStep, int sectorSize, long count) {
        MemorySegment expanded = key.nativeKey();
        long perCall = Math.max(1, MAX_BYTES_PER_CALL / sectorSize);
        for (long done = 0; done < count; done += perCall) {
            long n = Math.min(perCall, count - done);
            long offset = done * sectorSize;
            MemorySegment in = src.asSlice(offset, n * sectorSize);
            MemorySegment out = dst.asSlice(offset, n * sectorSize);
            check(units(encrypt, tier, expanded, in, out, sectorSize, n, firstIv + done * ivStep, ivStep));
        }
    }

    private static int units(boolean encrypt, int tier, MemorySegment key, MemorySegment in, MemorySegment out,
                             long unitSize, long count, long firstIv, long ivStep) {
        try {
            return encrypt
                    ? (int) sc_hctr2_encrypt_units.invokeExact(key, tier, in, out, unitSize, count, firstIv,
                            ivStep)
                    : (int) sc_hctr2_decrypt_units.invokeExact(key, tier, in, out, unitSize, count, firstIv,
                            ivStep);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /**
     * Expands the raw AES key into a new {@code sc_hctr2_key} in {@code arena}, aligned as the
     * kernel asks. The caller has validated the key; a refusal here is a bug.
     */
    static MemorySegment expand(Arena arena, MemorySegment raw) {
        try {
            long size = (long) sc_hctr2_key_size.invokeExact();
            long align = (long) sc_hctr2_key_align.invokeExact();
            MemorySegment key = arena.allocate(size, align);
            int rc = (int) sc_hctr2_key_expand.invokeExact(key, raw, raw.byteSize());
            if (rc != SC_OK) {
                key.fill((byte) 0);
            }
            check(rc);
            return key;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** sc_hctr2_key_size(). */
    static long keySize() {
        try {
            return (long) sc_hctr2_key_size.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** sc_hctr2_key_wipe, then a zero fill of our own. */
    static void wipe(MemorySegment key) {
        try {
            sc_hctr2_key_wipe.invokeExact(key);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        } finally {
            key.fill((byte) 0);
        }
    }

    /**
     * The one place a kernel return code becomes an exception. Hctr2 validates first, so any
     * code but SC_OK means Java and C disagree about a rule: name the code, never any data.
     */
    static void check(int rc) {
        if (rc == SC_OK) {
            return;
        }
        throw new IllegalStateException("native HCTR2 kernel refused the call: " + NativeKernel.codeName(rc));
    }
}
