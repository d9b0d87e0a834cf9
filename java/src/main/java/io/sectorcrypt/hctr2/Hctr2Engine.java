package io.sectorcrypt.hctr2;

/**
 * The HCTR2 implementations, chosen once per JVM (after the native kernel's known-answer
 * self-test) the way {@link io.sectorcrypt.xts.Engine} chooses XTS tiers;
 * {@code -Dsectorcrypt.hctr2.engine=java|native} forces one (for tests and benchmarks).
 */
public enum Hctr2Engine {
    /** Pure Java: the JDK's AES/ECB (AES-NI through HotSpot) and a constant-time POLYVAL in Java. */
    JAVA("java"),
    /** Native, AES-NI + PCLMULQDQ on xmm registers ({@code native/src/hctr2_aesni.c}). */
    NATIVE_AESNI("native-aesni");

    private final String id;

    Hctr2Engine(String id) {
        this.id = id;
    }

    /** Stable name for logs and reports: "java", "native-aesni". */
    public String id() {
        return id;
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
     * The engine used by default: native-aesni where it runs, else java; or the one forced
     * with {@code -Dsectorcrypt.hctr2.engine}. Throws {@link IllegalStateException} if a
     * forced engine cannot run here.
     */
    public static Hctr2Engine selected() {
        return Hctr2Selection.selected();
    }

    Hctr2Impl impl() {
        return Hctr2Selection.impl(this);
    }
}
