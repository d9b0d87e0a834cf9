package io.sectorcrypt.bench;

import io.sectorcrypt.bench.AesCeiling.Width;

/** Child-JVM probe for {@link AesCeilingTest}: each width and why it cannot run (the reasons are fixed at class load). */
public final class PrintCeilings {
    private PrintCeilings() {
    }

    public static void main(String[] args) {
        for (Width w : Width.values()) {
            String reason = AesCeiling.unavailableReason(w);
            System.out.println(w.id() + ": " + (reason == null ? "runs" : reason));
        }
    }
}
