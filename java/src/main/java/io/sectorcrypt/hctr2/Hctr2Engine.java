package io.sectorcrypt.hctr2;

/**
 * The HCTR2 implementations. Only the pure-Java one exists so far; the native kernel
 * (AES-NI/VAES with PCLMULQDQ) will join as further constants, chosen once per JVM after
 * its known-answer self-test the way {@link io.sectorcrypt.xts.Engine} chooses XTS tiers.
 */
public enum Hctr2Engine {
    /** Pure Java: the JDK's AES/ECB (AES-NI through HotSpot) and a constant-time POLYVAL in Java. */
    JAVA("java", JavaHctr2.INSTANCE);

    private final String id;
    private final Hctr2Impl impl;

    Hctr2Engine(String id, Hctr2Impl impl) {
        this.id = id;
        this.impl = impl;
    }

    /** Stable name for logs and reports: "java". */
    public String id() {
        return id;
    }

    /** The engine used by default: the fastest that runs here (today always {@link #JAVA}). */
    public static Hctr2Engine selected() {
        return JAVA;
    }

    Hctr2Impl impl() {
        return impl;
    }
}
