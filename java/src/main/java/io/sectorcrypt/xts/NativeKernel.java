package io.sectorcrypt.xts;

import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * The loaded native kernel and the CPU features {@link EngineSelection} sees, for the other
 * native engines (HCTR2 in {@code io.sectorcrypt.hctr2}) so that one JVM loads the library
 * once, checks its ABI once and honours one {@value EngineSelection#MASK_PROPERTY}. For the
 * engines, not for applications.
 */
public final class NativeKernel {
    /** SC_CPU_* bits of {@code include/sectorcrypt.h}. */
    public static final int CPU_AES = NativeXts.SC_CPU_AES;
    public static final int CPU_PCLMULQDQ = NativeXts.SC_CPU_PCLMULQDQ;
    public static final int CPU_SSE41 = NativeXts.SC_CPU_SSE41;

    /** SC_TIER_* of {@code include/sectorcrypt.h}: HCTR2 runs on the same tiers as XTS. */
    public static final int TIER_AESNI = NativeXts.SC_TIER_AESNI;
    public static final int TIER_VAES256 = NativeXts.SC_TIER_VAES256;
    public static final int TIER_VAES512 = NativeXts.SC_TIER_VAES512;

    /** SC_OK of {@code include/sectorcrypt.h}. */
    public static final int OK = NativeXts.SC_OK;

    /**
     * Bytes per downcall at most: a longer run is cut into calls of this size, so that no
     * critical downcall holds off a safepoint for long. The same bound for every engine.
     */
    public static final long MAX_BYTES_PER_CALL = NativeXts.MAX_BYTES_PER_CALL;

    private NativeKernel() {
    }

    /**
     * A kernel function as a downcall handle, bound as the XTS engines bind theirs.
     *
     * @throws IllegalStateException if the kernel is not available ({@link #unavailableReason()})
     * @throws UnsatisfiedLinkError if the library lacks the function
     */
    public static MethodHandle bind(String name, FunctionDescriptor descriptor, Linker.Option... options) {
        SymbolLookup library = lookup().orElseThrow(() -> new IllegalStateException(unavailableReason()));
        return NativeXts.bind(library, name, descriptor, options);
    }

    /** The name in {@code include/sectorcrypt.h} of a kernel return code, e.g. "SC_E_OVERLAP". */
    public static String codeName(int rc) {
        return NativeXts.codeName(rc);
    }

    /** The kernel, when it loaded with this jar's ABI version; empty otherwise ({@link #unavailableReason()}). */
    public static Optional<SymbolLookup> lookup() {
        return EngineSelection.libraryProblem() == null ? NativeLibrary.lookup() : Optional.empty();
    }

    /** Why {@link #lookup()} is empty, with the fix where there is one; null when it is not. */
    public static String unavailableReason() {
        return EngineSelection.libraryProblem();
    }

    /** Whether the kernel is absent for a normal reason (no build for this platform). */
    public static boolean absenceIsExpected() {
        return NativeLibrary.absenceIsExpected();
    }

    /** SC_CPU_* and SC_OS_* bits as the kernel detected them, less those {@value EngineSelection#MASK_PROPERTY} hides. */
    public static int cpuFeatures() {
        return EngineSelection.cpuFeatures();
    }

    /**
     * The SC_CPU_* and SC_OS_* bits a tier needs: the rule {@code sc_cpu_tiers()} applies,
     * the same that chooses the XTS engines.
     *
     * @throws IllegalArgumentException for a tier that is not a TIER_* constant
     */
    public static int tierFeatures(int tier) {
        for (Engine e : Engine.values()) {
            if (e.isNative() && e.tier() == tier) {
                return EngineSelection.requiredFeatures(e);
            }
        }
        throw new IllegalArgumentException("no native tier " + tier);
    }

    /** The message for an unparseable {@value EngineSelection#MASK_PROPERTY}, or null. */
    public static String maskError() {
        return EngineSelection.maskError();
    }

    /**
     * Names the features of {@code required} that the CPU lacks or the mask hides, e.g.
     * "the CPU lacks PCLMULQDQ" or "-Dsectorcrypt.cpu.mask=aes hides AES-NI".
     */
    public static String missingFeatures(int required) {
        return EngineSelection.missingFeatures(required, cpuFeatures(), NativeXts.cpuFeatures());
    }
}
