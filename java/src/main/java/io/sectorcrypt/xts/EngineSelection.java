package io.sectorcrypt.xts;

import java.lang.System.Logger.Level;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Decides, once per JVM, which engines can run and which one is used: loads the native
 * kernel, checks its ABI version, asks the CPU which tiers it can run, runs the kernel's
 * known-answer self-test on each, and records why each tier was skipped.
 *
 * <p>Logging follows what an operator must act on. A tier the CPU or OS lacks is normal on
 * that machine: logged at DEBUG ({@code selftest} and {@code bench} print the reasons). One
 * WARNING each for what needs action: a tier that fails its known-answer test, a native
 * library that is present but does not load, a forced engine or a feature mask that cannot
 * be honoured. A normal start logs nothing at INFO or above on any CPU.
 *
 * <p>{@value #MASK_PROPERTY} hides CPU features from this selection, as {@code OPENSSL_ia32cap}
 * does for OpenSSL, so that every CPU class (VAES with and without AVX-512, AES-NI only, no
 * native kernel) can be selected and tested on one machine: e.g. {@code
 * -Dsectorcrypt.cpu.mask=vaes} selects as on a CPU without VAES. Masking only ever removes
 * tiers; the kernel's own detection still guards every call.
 */
final class EngineSelection {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt");

    /** The system property that hides CPU features from the selection. */
    static final String MASK_PROPERTY = "sectorcrypt.cpu.mask";

    /** The names {@value #MASK_PROPERTY} takes, in /proc/cpuinfo's spelling where it has one. */
    private static final Map<String, Integer> MASKABLE = new LinkedHashMap<>();

    static {
        MASKABLE.put("aes", NativeXts.SC_CPU_AES);
        MASKABLE.put("pclmulqdq", NativeXts.SC_CPU_PCLMULQDQ);
        MASKABLE.put("sse4_1", NativeXts.SC_CPU_SSE41);
        MASKABLE.put("avx", NativeXts.SC_CPU_AVX);
        MASKABLE.put("avx2", NativeXts.SC_CPU_AVX2);
        MASKABLE.put("vaes", NativeXts.SC_CPU_VAES);
        MASKABLE.put("vpclmulqdq", NativeXts.SC_CPU_VPCLMULQDQ);
        MASKABLE.put("avx512", NativeXts.SC_CPU_AVX512F | NativeXts.SC_CPU_AVX512BW | NativeXts.SC_CPU_AVX512VL);
        MASKABLE.put("avx512f", NativeXts.SC_CPU_AVX512F);
        MASKABLE.put("avx512bw", NativeXts.SC_CPU_AVX512BW);
        MASKABLE.put("avx512vl", NativeXts.SC_CPU_AVX512VL);
    }

    private static final Map<Engine, String> UNAVAILABLE = new EnumMap<>(Engine.class);
    private static final Map<Engine, XtsImpl> IMPLS = new EnumMap<>(Engine.class);
    private static final boolean NATIVE_KEYS;
    private static final int CPU_FEATURES;
    /** Why the native library cannot be used at all, or null when it loaded with the right ABI. */
    private static final String LIBRARY_PROBLEM;
    private static final Engine BEST;
    private static final Engine SELECTED;
    private static final String SELECTION_ERROR;
    /** A mask that cannot be honoured: every engine refuses, not only the default one. */
    private static final String MASK_ERROR;

    static {
        IMPLS.put(Engine.JAVA, JavaXts.INSTANCE);
        String configError = null;
        int mask = 0;
        try {
            mask = parseMask(System.getProperty(MASK_PROPERTY));
        } catch (IllegalArgumentException e) {
            configError = e.getMessage();
            LOG.log(Level.WARNING, "SectorCrypt: {0}", configError);
        }
        String libraryProblem = NativeLibrary.lookup().isPresent() ? null : NativeLibrary.unavailableReason();
        int detected = 0;
        if (libraryProblem == null) {
            try {
                int abi = NativeXts.abiVersion();
                if (abi != NativeXts.ABI_VERSION) {
                    libraryProblem = "libsectorcrypt.so has ABI version " + abi + " but this jar needs "
                            + NativeXts.ABI_VERSION + "; use the library built with this jar";
                } else {
                    detected = NativeXts.cpuFeatures();
                }
            } catch (RuntimeException | LinkageError e) {
                libraryProblem = "binding the native kernel failed: " + e;
            }
            if (libraryProblem != null) {
                LOG.log(Level.WARNING, "SectorCrypt native kernel unusable ({0}); using the pure-Java engine",
                        libraryProblem);
            }
        } else {
            LOG.log(NativeLibrary.absenceIsExpected() ? Level.DEBUG : Level.WARNING,
                    "SectorCrypt native kernel unavailable ({0}); using the pure-Java engine", libraryProblem);
        }
        final int features = detected & ~mask;
        CPU_FEATURES = features;
        LIBRARY_PROBLEM = libraryProblem;
        int tiers = libraryProblem == null ? NativeXts.cpuTiers() : 0;
        NATIVE_KEYS = (tiers & (1 << NativeXts.SC_TIER_AESNI)) != 0 && missing(Engine.AESNI, features).isEmpty();
        Engine best = Engine.JAVA;
        for (Engine e : Engine.values()) {
            if (!e.isNative()) {
                continue;
            }
            String reason;
            if (libraryProblem != null) {
                reason = libraryProblem;
            } else if ((tiers & (1 << e.tier())) == 0 || !missing(e, features).isEmpty()) {
                reason = missingFeatures(e, features, detected);
            } else {
                int rc = NativeXts.selftest(e.tier());
                reason = rc == NativeXts.SC_OK ? null
                        : "its known-answer self-test failed (code " + rc + "); report this CPU (see 'sectorcrypt selftest')";
                if (reason != null) {
                    LOG.log(Level.WARNING, "SectorCrypt skips the {0} tier: {1}", e.id(), reason);
                }
            }
            if (reason == null) {
                IMPLS.put(e, new NativeXts(e.tier()));
                best = e;
            } else {
                UNAVAILABLE.put(e, reason);
                LOG.log(Level.DEBUG, "SectorCrypt skips the {0} tier: {1}", e.id(), reason);
            }
        }
        BEST = best;
        Engine selected = best;
        String error = configError;
        String forced = System.getProperty(Engine.PROPERTY);
        if (error == null && forced != null && !forced.isBlank()) {
            try {
                selected = Engine.parse(forced);
                if (UNAVAILABLE.containsKey(selected)) {
                    error = "-D" + Engine.PROPERTY + "=" + forced + " asks for " + selected.id()
                            + ", which cannot run here: " + UNAVAILABLE.get(selected);
                }
            } catch (IllegalArgumentException | IllegalStateException e) {
                error = "-D" + Engine.PROPERTY + "=" + forced + ": " + e.getMessage();
            }
            if (error != null) {
                LOG.log(Level.WARNING, "SectorCrypt: {0}", error);
            }
        }
        SELECTED = selected;
        SELECTION_ERROR = error;
        MASK_ERROR = configError;
        LOG.log(Level.DEBUG, "SectorCrypt engine: {0}", error == null ? selected.id() : error);
    }

    private EngineSelection() {
    }

    /**
     * The SC_CPU_* bits named by a {@value #MASK_PROPERTY} value: a comma-separated list of
     * {@link #MASKABLE} names; null or blank hides nothing.
     *
     * @throws IllegalArgumentException naming the first unknown feature and the known ones
     */
    static int parseMask(String value) {
        if (value == null || value.isBlank()) {
            return 0;
        }
        int mask = 0;
        for (String part : value.split(",")) {
            String name = part.trim().toLowerCase(Locale.ROOT).replace('.', '_');
            Integer bits = MASKABLE.get(name);
            if (bits == null) {
                throw new IllegalArgumentException("-D" + MASK_PROPERTY + "=" + value + ": unknown CPU feature '"
                        + part.trim() + "'; choose from " + String.join(", ", MASKABLE.keySet()));
            }
            mask |= bits;
        }
        return mask;
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

    /** SC_CPU_* and SC_OS_* bits as the kernel sees them, less any masked; 0 without the kernel. */
    static int cpuFeatures() {
        return CPU_FEATURES;
    }

    /** Why the native library cannot be used (absent, wrong ABI, failed to bind), or null if it can. */
    static String libraryProblem() {
        return LIBRARY_PROBLEM;
    }

    /** The {@value #MASK_PROPERTY} value that cannot be parsed, as a message; null if it parsed. */
    static String maskError() {
        return MASK_ERROR;
    }

    static XtsImpl impl(Engine e) {
        if (MASK_ERROR != null) {
            throw new IllegalStateException(MASK_ERROR);
        }
        XtsImpl impl = IMPLS.get(e);
        if (impl == null) {
            throw new IllegalStateException("engine " + e.id() + " cannot run here: " + UNAVAILABLE.get(e));
        }
        return impl;
    }

    /**
     * The CPU and OS features each native tier needs: the Java copy of the rule that
     * {@code sc_cpu_tiers()} applies in the kernel, so that masked features remove tiers.
     */
    static int requiredFeatures(Engine e) {
        int aesni = NativeXts.SC_CPU_AES | NativeXts.SC_CPU_PCLMULQDQ | NativeXts.SC_CPU_SSE41;
        int vaes256 = aesni | NativeXts.SC_CPU_AVX | NativeXts.SC_CPU_AVX2 | NativeXts.SC_CPU_VAES
                | NativeXts.SC_CPU_VPCLMULQDQ | NativeXts.SC_OS_YMM;
        int vaes512 = vaes256 | NativeXts.SC_CPU_AVX512F | NativeXts.SC_CPU_AVX512BW | NativeXts.SC_CPU_AVX512VL
                | NativeXts.SC_OS_ZMM;
        return switch (e) {
            case JAVA -> 0;
            case AESNI -> aesni;
            case VAES256 -> vaes256;
            case VAES512 -> vaes512;
        };
    }

    private static String missing(Engine e, int features) {
        return missing(requiredFeatures(e), features);
    }

    private static String missing(int required, int features) {
        int lacking = required & ~features;
        StringBuilder names = new StringBuilder();
        name(names, lacking, NativeXts.SC_CPU_AES, "AES-NI");
        name(names, lacking, NativeXts.SC_CPU_PCLMULQDQ, "PCLMULQDQ");
        name(names, lacking, NativeXts.SC_CPU_SSE41, "SSE4.1");
        name(names, lacking, NativeXts.SC_CPU_AVX, "AVX");
        name(names, lacking, NativeXts.SC_CPU_AVX2, "AVX2");
        name(names, lacking, NativeXts.SC_CPU_VAES, "VAES");
        name(names, lacking, NativeXts.SC_CPU_VPCLMULQDQ, "VPCLMULQDQ");
        name(names, lacking, NativeXts.SC_CPU_AVX512F, "AVX-512F");
        name(names, lacking, NativeXts.SC_CPU_AVX512BW, "AVX-512BW");
        name(names, lacking, NativeXts.SC_CPU_AVX512VL, "AVX-512VL");
        return names.toString();
    }

    /**
     * Names the CPU or OS features a tier lacks, and what would provide them.
     *
     * @param features the features selection sees (detected, less masked)
     * @param detected the features the kernel detected
     */
    static String missingFeatures(Engine e, int features, int detected) {
        return missingFeatures(requiredFeatures(e), features, detected);
    }

    /** As {@link #missingFeatures(Engine, int, int)} for a set of required SC_CPU_* / SC_OS_* bits. */
    static String missingFeatures(int required, int features, int detected) {
        int osSupport = NativeXts.SC_OS_YMM | NativeXts.SC_OS_ZMM;
        String absent = missing(required, detected | osSupport);
        if (!absent.isEmpty()) {
            return "the CPU lacks " + absent + " (no fix: a newer CPU, or a VM that passes these flags through)";
        }
        String hidden = missing(required, features | osSupport);
        if (!hidden.isEmpty()) {
            return "-D" + MASK_PROPERTY + "=" + System.getProperty(MASK_PROPERTY) + " hides " + hidden;
        }
        int lacking = required & ~features;
        if ((lacking & NativeXts.SC_OS_YMM) != 0) {
            return "the OS does not save ymm registers (XCR0); enable AVX in the kernel or hypervisor";
        }
        return "the OS does not save zmm/opmask registers (XCR0); enable AVX-512 in the kernel or hypervisor";
    }

    private static void name(StringBuilder names, int lacking, int bit, String name) {
        if ((lacking & bit) != 0) {
            names.append(names.length() == 0 ? "" : ", ").append(name);
        }
    }
}
