package io.sectorcrypt.hctr2;

import io.sectorcrypt.xts.NativeKernel;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.EnumMap;
import java.util.HexFormat;
import java.util.Map;

/**
 * Chooses the HCTR2 engine once per JVM, as {@code io.sectorcrypt.xts.EngineSelection} does
 * for XTS: each native tier can run when the library loaded, the CPU and OS have what the
 * tier needs (after {@code -Dsectorcrypt.cpu.mask}) and a published vector passes through
 * that tier in both directions; the widest such tier is the default, else the pure-Java
 * engine. Why a tier was skipped is logged at DEBUG (a normal start prints nothing on any
 * CPU); a failed self-test is a WARNING. {@value #PROPERTY}{@code =java|native|aesni|vaes256|vaes512}
 * forces an engine; a forced engine that cannot run makes {@link Hctr2Engine#selected()}
 * throw, saying why.
 */
final class Hctr2Selection {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt");

    /** The system property that forces an HCTR2 engine. */
    static final String PROPERTY = "sectorcrypt.hctr2.engine";

    /**
     * Known answer: HCTR2-AES-256 vector "Random ( 1)" with a 32-byte tweak and a 255-byte
     * message (more than eight blocks, a partial last block) from the HCTR2 authors'
     * published vectors (github.com/google/hctr2, test_vectors/ours/HCTR2/HCTR2_AES256.json).
     */
    private static final String KAT_KEY = "364511a2985f967cc6b494310a6709326c6f6f00f017cbaca5a9479e2e852ffa";
    private static final String KAT_TWEAK = "2888aa9b593b1e9782e55c9e6d1411196e388fd5402bcaf97b4ce4a3d0d28a13";
    private static final String KAT_PLAIN = "95d2f7711bcaa586d94801932f7955297113150ee612bc4d8a31e3402ac65e0d"
            + "68bb4a628dc74577d2b8c71df1d25d97cfac52e53277b6da3085cf2b98e9aa3462b5239eb7a6d4e0b458188c4dde4d01"
            + "838924cafb11d482307a8135a0b4d4b684ea47918c198625a6068d78e6ed87ebdaea737cbf66b872e30ab80ccb1a73f1"
            + "a7ca0ade572bbd2beb8b243822d30e1f17a084983177fd346a4e3d844c0efbedc82a51fad873218adbb5fe1feec4e865"
            + "5484dd966dfdd3317736526b804f9eb4a255bf6641494e87a70ccae7a5c5f66f2756e24822dd5f593cf19f83e52dfb71"
            + "add1ae1b205c47b73bd314ce8142b10af049fac2e786bfcdb0959f8f794154";
    private static final String KAT_CIPHER = "f65751c425612dfad6d93f9a8151dd8e3de7aa2db1dac8a69daa3cab62f280c3"
            + "2ce758721d44c5287fb4f9bc9cb2ab8efad14d72d979f5a0243e90253114384559c8f6e2c6f6c1a7b2f8a7a92b6f123a"
            + "b081a4085759b1564c8f1855335fd66ac6a04bd66b643e9efd6616e2dbeb5fb350503ede8d727601beccc952092d8de7"
            + "d6c366db3608d177c87346262429bf682d2a99435655e493afae4de7554ac04526eb3b12907cdcd1d56f0ad0a9d74b89"
            + "0b07d886ada1c4691f5e8bc49e914125569869783a9eae91d8d9fafbff812509fced2d87bc04629735e126c2461ccfd7"
            + "14ed0209a5b2b6aa274e61b3716b4716b7e8d4af52eb6a6bdb4c65219e1c36";

    /** Why each native engine cannot run here; absent if it can. */
    private static final Map<Hctr2Engine, String> UNAVAILABLE = new EnumMap<>(Hctr2Engine.class);
    private static final Map<Hctr2Engine, Hctr2Impl> IMPLS = new EnumMap<>(Hctr2Engine.class);
    private static final Hctr2Engine BEST;
    private static final Hctr2Engine SELECTED;
    private static final String SELECTION_ERROR;

    static {
        IMPLS.put(Hctr2Engine.JAVA, JavaHctr2.INSTANCE);
        Hctr2Engine best = Hctr2Engine.JAVA;
        for (Hctr2Engine e : Hctr2Engine.values()) {
            if (!e.isNative()) {
                continue;
            }
            String reason = nativeProblem(e);
            if (reason == null) {
                IMPLS.put(e, new NativeHctr2(e.tier()));
                best = e;
            } else {
                UNAVAILABLE.put(e, reason);
                LOG.log(Level.DEBUG, "SectorCrypt HCTR2 skips {0}: {1}", e.id(), reason);
            }
        }
        BEST = best;
        Hctr2Engine selected = best;
        String error = null;
        String forced = System.getProperty(PROPERTY);
        if (forced != null && !forced.isBlank()) {
            try {
                selected = Hctr2Engine.parse(forced);
                if (UNAVAILABLE.containsKey(selected)) {
                    error = "-D" + PROPERTY + "=" + forced + " asks for " + selected.id()
                            + ", which cannot run here: " + UNAVAILABLE.get(selected);
                }
            } catch (IllegalArgumentException | IllegalStateException e) {
                error = "-D" + PROPERTY + "=" + forced + ": " + e.getMessage();
            }
            if (error != null) {
                LOG.log(Level.WARNING, "SectorCrypt: {0}", error);
            }
        }
        SELECTED = selected;
        SELECTION_ERROR = error;
        LOG.log(Level.DEBUG, "SectorCrypt HCTR2 engine: {0}", error == null ? selected.id() : error);
    }

    private Hctr2Selection() {
    }

    private static String nativeProblem(Hctr2Engine e) {
        String mask = NativeKernel.maskError();
        if (mask != null) {
            return mask;
        }
        if (NativeKernel.lookup().isEmpty()) {
            return NativeKernel.unavailableReason();
        }
        int required = NativeKernel.tierFeatures(e.tier());
        if ((NativeKernel.cpuFeatures() & required) != required) {
            return NativeKernel.missingFeatures(required);
        }
        try {
            if (!selfTest(e.tier())) {
                String reason = "its known-answer self-test failed; report this CPU (see 'sectorcrypt selftest')";
                LOG.log(Level.WARNING, "SectorCrypt HCTR2 skips {0}: {1}", e.id(), reason);
                return reason;
            }
        } catch (RuntimeException | LinkageError ex) {
            String reason = "binding the native HCTR2 kernel failed: " + ex;
            LOG.log(Level.WARNING, "SectorCrypt HCTR2 skips {0}: {1}", e.id(), reason);
            return reason;
        }
        return null;
    }

    /** The published vector through one tier of the kernel, both directions, out of place and in place. */
    private static boolean selfTest(int tier) {
        HexFormat hex = HexFormat.of();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = NativeHctr2.expand(arena, arena.allocateFrom(
                    ValueLayout.JAVA_BYTE, hex.parseHex(KAT_KEY)));
            try {
                MemorySegment tweak = MemorySegment.ofArray(hex.parseHex(KAT_TWEAK));
                byte[] plain = hex.parseHex(KAT_PLAIN);
                byte[] expected = hex.parseHex(KAT_CIPHER);
                byte[] out = new byte[plain.length];
                boolean ok = NativeHctr2.message(true, tier, key, tweak, MemorySegment.ofArray(plain),
                        MemorySegment.ofArray(out)) == NativeHctr2.SC_OK && Arrays.equals(out, expected);
                ok &= NativeHctr2.message(false, tier, key, tweak, MemorySegment.ofArray(out),
                        MemorySegment.ofArray(out)) == NativeHctr2.SC_OK && Arrays.equals(out, plain);
                return ok;
            } finally {
                NativeHctr2.wipe(key);
            }
        }
    }

    static Hctr2Engine selected() {
        if (SELECTION_ERROR != null) {
            throw new IllegalStateException(SELECTION_ERROR);
        }
        return SELECTED;
    }

    static Hctr2Engine best() {
        return BEST;
    }

    static Hctr2Engine bestNative() {
        if (!BEST.isNative()) {
            throw new IllegalStateException("no native HCTR2 engine can run here: "
                    + UNAVAILABLE.get(Hctr2Engine.NATIVE_AESNI));
        }
        return BEST;
    }

    /** Whether Hctr2Key should expand a native key: some native engine runs here. */
    static boolean nativeAvailable() {
        return BEST.isNative();
    }

    static String unavailableReason(Hctr2Engine e) {
        return UNAVAILABLE.get(e);
    }

    static Hctr2Impl impl(Hctr2Engine e) {
        Hctr2Impl impl = IMPLS.get(e);
        if (impl == null) {
            throw new IllegalStateException("HCTR2 engine " + e.id() + " cannot run here: " + UNAVAILABLE.get(e));
        }
        return impl;
    }
}
