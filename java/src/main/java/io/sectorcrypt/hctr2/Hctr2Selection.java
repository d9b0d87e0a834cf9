package io.sectorcrypt.hctr2;

import io.sectorcrypt.xts.NativeKernel;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Locale;

/**
 * Chooses the HCTR2 engine once per JVM, as {@code io.sectorcrypt.xts.EngineSelection} does
 * for XTS: the native kernel when the library loaded, the CPU has AES-NI and PCLMULQDQ
 * (after {@code -Dsectorcrypt.cpu.mask}) and a published vector passes through it in both
 * directions; otherwise the pure-Java engine. Why native was skipped is logged at DEBUG (a
 * normal start prints nothing); a failed self-test is a WARNING.
 * {@value #PROPERTY}{@code =java|native} forces an engine; a forced engine that cannot run
 * makes {@link Hctr2Engine#selected()} throw, saying why.
 */
final class Hctr2Selection {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt");

    /** The system property that forces an HCTR2 engine. */
    static final String PROPERTY = "sectorcrypt.hctr2.engine";

    /** AES-NI + PCLMULQDQ + SSE4.1: what the kernel's SC_TIER_AESNI asks of the CPU. */
    private static final int REQUIRED = NativeKernel.CPU_AES | NativeKernel.CPU_PCLMULQDQ | NativeKernel.CPU_SSE41;

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

    /** Why native cannot run here, or null if it can. */
    private static final String NATIVE_UNAVAILABLE;
    private static final Hctr2Engine SELECTED;
    private static final String SELECTION_ERROR;

    static {
        String reason = nativeProblem();
        NATIVE_UNAVAILABLE = reason;
        if (reason != null) {
            LOG.log(Level.DEBUG, "SectorCrypt HCTR2 skips native-aesni: {0}", reason);
        }
        Hctr2Engine selected = reason == null ? Hctr2Engine.NATIVE_AESNI : Hctr2Engine.JAVA;
        String error = null;
        String forced = System.getProperty(PROPERTY);
        if (forced != null && !forced.isBlank()) {
            String n = forced.trim().toLowerCase(Locale.ROOT);
            if (n.equals("java")) {
                selected = Hctr2Engine.JAVA;
            } else if (n.equals("native") || n.equals(Hctr2Engine.NATIVE_AESNI.id())) {
                selected = Hctr2Engine.NATIVE_AESNI;
                if (reason != null) {
                    error = "-D" + PROPERTY + "=" + forced + " asks for native-aesni, which cannot run here: " + reason;
                }
            } else {
                error = "-D" + PROPERTY + "=" + forced + ": unknown HCTR2 engine; choose java or native";
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

    private static String nativeProblem() {
        String mask = NativeKernel.maskError();
        if (mask != null) {
            return mask;
        }
        if (NativeKernel.lookup().isEmpty()) {
            return NativeKernel.unavailableReason();
        }
        if ((NativeKernel.cpuFeatures() & REQUIRED) != REQUIRED) {
            return NativeKernel.missingFeatures(REQUIRED);
        }
        try {
            if (!selfTest()) {
                String reason = "its known-answer self-test failed; report this CPU (see 'sectorcrypt selftest')";
                LOG.log(Level.WARNING, "SectorCrypt HCTR2 skips native-aesni: {0}", reason);
                return reason;
            }
        } catch (RuntimeException | LinkageError e) {
            String reason = "binding the native HCTR2 kernel failed: " + e;
            LOG.log(Level.WARNING, "SectorCrypt HCTR2 skips native-aesni: {0}", reason);
            return reason;
        }
        return null;
    }

    /** The published vector through the kernel, both directions, out of place and in place. */
    private static boolean selfTest() {
        HexFormat hex = HexFormat.of();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = NativeHctr2.expand(arena, arena.allocateFrom(
                    ValueLayout.JAVA_BYTE, hex.parseHex(KAT_KEY)));
            try {
                MemorySegment tweak = MemorySegment.ofArray(hex.parseHex(KAT_TWEAK));
                byte[] plain = hex.parseHex(KAT_PLAIN);
                byte[] expected = hex.parseHex(KAT_CIPHER);
                byte[] out = new byte[plain.length];
                boolean ok = NativeHctr2.message(true, key, tweak, MemorySegment.ofArray(plain),
                        MemorySegment.ofArray(out)) == NativeHctr2.SC_OK && Arrays.equals(out, expected);
                ok &= NativeHctr2.message(false, key, tweak, MemorySegment.ofArray(out),
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

    /** Whether Hctr2Key should expand a native key. */
    static boolean nativeAvailable() {
        return NATIVE_UNAVAILABLE == null;
    }

    static String unavailableReason(Hctr2Engine e) {
        return e == Hctr2Engine.NATIVE_AESNI ? NATIVE_UNAVAILABLE : null;
    }

    static Hctr2Impl impl(Hctr2Engine e) {
        return switch (e) {
            case JAVA -> JavaHctr2.INSTANCE;
            case NATIVE_AESNI -> {
                if (NATIVE_UNAVAILABLE != null) {
                    throw new IllegalStateException("HCTR2 engine native-aesni cannot run here: " + NATIVE_UNAVAILABLE);
                }
                yield NativeHctr2.INSTANCE;
            }
        };
    }
}
