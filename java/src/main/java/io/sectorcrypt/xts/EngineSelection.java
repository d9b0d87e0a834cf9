package io.sectorcrypt.xts;

import java.lang.System.Logger.Level;
import java.util.EnumMap;
import java.util.Map;

/**
 * Decides, once per JVM, which engines can run and which one is used: loads the native
 * kernel, checks its ABI version, asks the CPU which tiers it can run, runs the kernel's
 * known-answer self-test on each, and logs every tier skipped with the reason and the fix.
 */
final class EngineSelection {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt");

    private static final Map<Engine, String> UNAVAILABLE = new EnumMap<>(Engine.class);
    private static final Map<Engine, XtsImpl> IMPLS = new EnumMap<>(Engine.class);
    private static final boolean NATIVE_KEYS;
    private static final int CPU_FEATURES;
    private static final Engine BEST;
    private static final Engine SELECTED;
    private static final String SELECTION_ERROR;

    static {
        IMPLS.put(Engine.JAVA, JavaXts.INSTANCE);
        String libraryProblem = NativeLibrary.lookup().isPresent() ? null : NativeLibrary.unavailableReason();
        int features = 0;
        if (libraryProblem == null) {
            try {
                int abi = NativeXts.abiVersion();
                if (abi != NativeXts.ABI_VERSION) {
                    libraryProblem = "libsectorcrypt.so has ABI version " + abi + " but this jar needs "
                            + NativeXts.ABI_VERSION + "; use the library built with this jar";
                } else {
                    features = NativeXts.cpuFeatures();
                }
            } catch (RuntimeException | LinkageError e) {
                libraryProblem = "binding the native kernel failed: " + e;
            }
        }
        CPU_FEATURES = features;
        int tiers = libraryProblem == null ? NativeXts.cpuTiers() : 0;
        NATIVE_KEYS = (tiers & (1 << NativeXts.SC_TIER_AESNI)) != 0;
        if (libraryProblem != null) {
            LOG.log(Level.INFO, "SectorCrypt native kernel unavailable ({0}); using the pure-Java engine",
                    libraryProblem);
        }
        Engine best = Engine.JAVA;
        for (Engine e : Engine.values()) {
            if (!e.isNative()) {
                continue;
            }
            String reason;
            if (libraryProblem != null) {
                reason = libraryProblem;
            } else if ((tiers & (1 << e.tier())) == 0) {
                reason = missingFeatures(e, features);
            } else {
                int rc = NativeXts.selftest(e.tier());
                reason = rc == NativeXts.SC_OK ? null
                        : "its known-answer self-test failed (code " + rc + "); report this CPU (see 'sectorcrypt selftest')";
            }
            if (reason == null) {
                IMPLS.put(e, new NativeXts(e.tier()));
                best = e;
            } else {
                UNAVAILABLE.put(e, reason);
                if (libraryProblem == null) {
                    LOG.log(Level.INFO, "SectorCrypt skips the {0} tier: {1}", e.id(), reason);
                }
            }
        }
        BEST = best;
        Engine selected = best;
        String error = null;
        String forced = System.getProperty(Engine.PROPERTY);
        if (forced != null && !forced.isBlank()) {
            try {
                selected = Engine.parse(forced);
                if (UNAVAILABLE.containsKey(selected)) {
                    error = "-D" + Engine.PROPERTY + "=" + forced + " asks for " + selected.id()
                            + ", which cannot run here: " + UNAVAILABLE.get(selected);
                }
            } catch (IllegalArgumentException | IllegalStateException e) {
                error = "-D" + Engine.PROPERTY + "=" + forced + ": " + e.getMessage();
            }
        }
        SELECTED = selected;
        SELECTION_ERROR = error;
        LOG.log(Level.DEBUG, "SectorCrypt engine: {0}", error == null ? selected.id() : error);
    }

    private EngineSelection() {
    }

    static Engine selected() {
        if (SELECTION_ERROR != null) {
            throw new IllegalStateException(SELECTION_ERROR);
        }
        return SELECTED;
    }

    static Engine best() {
        return BEST;
    }

    static Engine bestNative() {
        if (!BEST.isNative()) {
            throw new IllegalStateException("no native engine can run here: " + UNAVAILABLE.get(Engine.AESNI));
        }
        return BEST;
    }

    static String unavailableReason(Engine e) {
        return UNAVAILABLE.get(e);
    }

    /** Whether XtsKey should expand a native schedule (AES-NI is needed for key expansion). */
    static boolean nativeKeysAvailable() {
        return NATIVE_KEYS;
    }

    /** SC_CPU_* and SC_OS_* bits as the kernel sees them; 0 without the kernel. */
    static int cpuFeatures() {
        return CPU_FEATURES;
    }

    static XtsImpl impl(Engine e) {
        XtsImpl impl = IMPLS.get(e);
        if (impl == null) {
            throw new IllegalStateException("engine " + e.id() + " cannot run here: " + UNAVAILABLE.get(e));
        }
        return impl;
    }

    /** Names the CPU or OS features a tier lacks, and what would provide them. */
    static String missingFeatures(Engine e, int f) {
        StringBuilder missing = new StringBuilder();
        need(missing, f, NativeXts.SC_CPU_AES, "AES-NI");
        need(missing, f, NativeXts.SC_CPU_PCLMULQDQ, "PCLMULQDQ");
        need(missing, f, NativeXts.SC_CPU_SSE41, "SSE4.1");
        if (e.tier() >= NativeXts.SC_TIER_VAES256) {
            need(missing, f, NativeXts.SC_CPU_AVX2, "AVX2");
            need(missing, f, NativeXts.SC_CPU_VAES, "VAES");
            need(missing, f, NativeXts.SC_CPU_VPCLMULQDQ, "VPCLMULQDQ");
        }
        if (e.tier() >= NativeXts.SC_TIER_VAES512) {
            need(missing, f, NativeXts.SC_CPU_AVX512F, "AVX-512F");
            need(missing, f, NativeXts.SC_CPU_AVX512BW, "AVX-512BW");
            need(missing, f, NativeXts.SC_CPU_AVX512VL, "AVX-512VL");
        }
        if (missing.length() > 0) {
            return "the CPU lacks " + missing + " (no fix: a newer CPU, or a VM that passes these flags through)";
        }
        if (e.tier() >= NativeXts.SC_TIER_VAES256 && (f & NativeXts.SC_OS_YMM) == 0) {
            return "the OS does not save ymm registers (XCR0); enable AVX in the kernel or hypervisor";
        }
        return "the OS does not save zmm/opmask registers (XCR0); enable AVX-512 in the kernel or hypervisor";
    }

    private static void need(StringBuilder missing, int features, int bit, String name) {
        if ((features & bit) == 0) {
            missing.append(missing.length() == 0 ? "" : ", ").append(name);
        }
    }
}
