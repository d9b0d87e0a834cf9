package io.sectorcrypt.xts;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The XTS implementations. The best one available is chosen once, when the library loads,
 * after the native kernel passes its known-answer self-test; {@code -Dsectorcrypt.engine=}
 * {@code java|native|aesni|vaes256|vaes512} forces one (for tests and benchmarks).
 */
public enum Engine {
    /** Pure Java over the JCA AES/ECB primitive: runs anywhere, no native code of ours. */
    JAVA("java", 0),
    /** Native, AES-NI on xmm registers. */
    AESNI("native-aesni", NativeXts.SC_TIER_AESNI),
    /** Native, VAES on 256-bit ymm registers (AVX2). */
    VAES256("native-vaes256", NativeXts.SC_TIER_VAES256),
    /** Native, VAES on 512-bit zmm registers (AVX-512). */
    VAES512("native-vaes512", NativeXts.SC_TIER_VAES512);

    /** The system property that forces an engine. */
    public static final String PROPERTY = "sectorcrypt.engine";

    private final String id;
    private final int tier;

    Engine(String id, int tier) {
        this.id = id;
        this.tier = tier;
    }

    /** Stable name for logs, reports and JSON: "java", "native-aesni", ... */
    public String id() {
        return id;
    }

    public boolean isNative() {
        return tier != 0;
    }

    int tier() {
        return tier;
    }

    /** Whether this engine can run here (CPU, OS, native library, self-test). */
    public boolean isAvailable() {
        return EngineSelection.unavailableReason(this) == null;
    }

    /** Why this engine cannot run here, with the fix where there is one; null if it can. */
    public String unavailableReason() {
        return EngineSelection.unavailableReason(this);
    }

    /**
     * The engine this JVM uses by default: the best available, or the one forced with
     * {@value #PROPERTY}. Throws {@link IllegalStateException} if a forced engine cannot run.
     */
    public static Engine selected() {
        return EngineSelection.selected();
    }

    /** The fastest engine available here. */
    public static Engine best() {
        return EngineSelection.best();
    }

    /**
     * Parses an engine name as {@value #PROPERTY} and the CLI take it: {@code java},
     * {@code native} (the best native tier), {@code aesni}, {@code vaes256}, {@code vaes512},
     * or an {@link #id()}.
     */
    public static Engine parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        if (n.equals("native")) {
            return EngineSelection.bestNative();
        }
        for (Engine e : values()) {
            if (e.id.equals(n) || e.name().toLowerCase(Locale.ROOT).equals(n)) {
                return e;
            }
        }
        throw new IllegalArgumentException("unknown engine '" + name + "'; choose one of java, native, "
                + Arrays.stream(values()).filter(Engine::isNative)
                        .map(e -> e.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")));
    }

    XtsImpl impl() {
        return EngineSelection.impl(this);
    }
}
