package io.sectorcrypt.hctr2;

import io.sectorcrypt.xts.NativeKernel;
import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The HCTR2 implementations: the pure-Java engine and one native engine per kernel tier,
 * as {@link io.sectorcrypt.xts.Engine} has for XTS. The best one available is chosen once
 * per JVM, after each native tier passes a known-answer test;
 * {@code -Dsectorcrypt.hctr2.engine=java|native|aesni|vaes256|vaes512} (or an {@link #id()})
 * forces one, for tests and benchmarks.
 */
public enum Hctr2Engine {
    /** Pure Java: the JDK's AES/ECB (AES-NI through HotSpot) and a constant-time POLYVAL in Java. */
    JAVA("java", 0),
    /** Native, AES-NI + PCLMULQDQ on xmm registers ({@code native/src/hctr2_aesni.c}). */
    NATIVE_AESNI("native-aesni", NativeKernel.TIER_AESNI),
    /** Native, VAES + VPCLMULQDQ on 256-bit ymm registers ({@code native/src/hctr2_vaes256.c}). */
    NATIVE_VAES256("native-vaes256", NativeKernel.TIER_VAES256),
    /** Native, VAES + VPCLMULQDQ on 512-bit zmm registers ({@code native/src/hctr2_vaes512.c}). */
    NATIVE_VAES512("native-vaes512", NativeKernel.TIER_VAES512);

    private final String id;
    private final int tier;

    Hctr2Engine(String id, int tier) {
        this.id = id;
        this.tier = tier;
    }

    /** Stable name for logs and reports: "java", "native-aesni", "native-vaes256", "native-vaes512". */
    public String id() {
        return id;
    }

    public boolean isNative() {
        return tier != 0;
    }

    /** The kernel's SC_TIER_* for a native engine; 0 for {@link #JAVA}. */
    int tier() {
        return tier;
    }

    /** Whether this engine can run here (native library, CPU, mask, self-test). */
    public boolean isAvailable() {
        return Hctr2Selection.unavailableReason(this) == null;
    }

    /** Why this engine cannot run here; null if it can. */
    public String unavailableReason() {
        return Hctr2Selection.unavailableReason(this);
    }

    /**
     * The engine used by default: the widest native tier that runs here, else java; or the
     * one forced with {@code -Dsectorcrypt.hctr2.engine}. Throws {@link IllegalStateException}
     * if a forced engine cannot run here.
     */
    public static Hctr2Engine selected() {
        return Hctr2Selection.selected();
    }

    /** The fastest engine available here (the widest native tier, else java). */
    public static Hctr2Engine best() {
        return Hctr2Selection.best();
    }

    /**
     * Parses an engine name as {@code -Dsectorcrypt.hctr2.engine} takes it: {@code java},
     * {@code native} (the best native tier), {@code aesni}, {@code vaes256}, {@code vaes512},
     * or an {@link #id()}.
     *
     * @throws IllegalArgumentException for an unknown name
     * @throws IllegalStateException for {@code native} where no native engine runs
     */
    public static Hctr2Engine parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("native")) {
            return Hctr2Selection.bestNative();
        }
        for (Hctr2Engine e : values()) {
            if (e.id.equals(n) || (e.isNative() && e.id.equals("native-" + n))) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown HCTR2 engine '" + name + "'; choose one of java, native, "
                + Arrays.stream(values()).filter(Hctr2Engine::isNative)
                        .map(e -> e.id.substring("native-".length())).collect(Collectors.joining(", ")));
    }

    Hctr2Impl impl() {
        return Hctr2Selection.impl(this);
    }
}
