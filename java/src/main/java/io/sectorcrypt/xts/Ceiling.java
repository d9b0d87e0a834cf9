package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Benchmark support: the hardware ceiling every engine is reported against. AES rounds
 * alone (ECB under key1, no tweak work) on VAES zmm registers, so XTS on the same core can
 * only approach it. Never a way to encrypt data: ECB leaks patterns.
 */
public final class Ceiling {
    private Ceiling() {
    }

    /** Whether the ceiling can be measured here (the VAES-512 tier is available). */
    public static boolean isAvailable() {
        return Engine.VAES512.isAvailable();
    }

    /** AES-encrypts {@code in} into {@code out} (same length, a multiple of 64) in ECB mode. */
    public static void aesRounds(XtsKey key, MemorySegment in, MemorySegment out) {
        Objects.requireNonNull(key, "key");
        if (!isAvailable()) {
            throw new IllegalStateException("the ceiling needs the VAES-512 tier: " + Engine.VAES512.unavailableReason());
        }
        if (in.byteSize() != out.byteSize() || in.byteSize() % 64 != 0) {
            throw new IllegalArgumentException("in and out must be the same length, a multiple of 64 bytes");
        }
        int token = key.enter();
        try {
            NativeXts.check(NativeXts.ceilingEcb(key.nativeSchedule(), in, out));
        } finally {
            key.exit(token);
        }
    }
}
