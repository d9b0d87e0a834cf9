package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;

/**
 * Unwraps per second from a {@link LocalKeyVault} holding many keys: what one unwrap costs
 * as the catalog grows. A measurement, not a test: it runs only when asked,
 * {@code ./mvnw -B -ntp -o -pl java test -Dtest=UnwrapRateMeasurement -Dsectorcrypt.measure=true}
 * (add {@code -Dsectorcrypt.measure.keys=N} for another catalog size). Each unwrap also
 * appends one fsynced audit record, which the figures include.
 */
@EnabledIfSystemProperty(named = "sectorcrypt.measure", matches = "true")
class UnwrapRateMeasurement {
    @TempDir
    Path tmp;

    @Test
    void unwrapsPerSecond() {
        int keys = Integer.getInteger("sectorcrypt.measure.keys", 200);
        try (LocalKeyVault vault = TestVaults.local(tmp, Clock.systemUTC())) {
            for (int i = 0; i < keys; i++) {
                String name = String.format("key-%04d", i);
                vault.createKey(name, i % 2 == 0 ? KeyType.AES_256 : KeyType.RSA_2048, null);
                vault.grant(name, "engine", Permission.all());
            }
            String name = String.format("key-%04d", keys / 2 & ~1); // an AES key mid-catalog
            WrappedKey wrapped;
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment dek = arena.allocate(KeyManager.DEK_BYTES);
                dek.fill((byte) 7);
                dek.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 8);
                wrapped = vault.wrap("engine", name, 1, dek);
            }
            for (int round = 0; round < 2; round++) { // the first round warms up
                // describe: the catalog read alone (a read writes no audit record).
                rate(keys, "describe", round, () -> vault.describe("engine", name));
                // append: the one fsynced audit record each unwrap also writes.
                rate(keys, "audit append", round, () -> vault.auditLog().append("engine", vault.id(), name, "1",
                        "measure", "ok"));
                rate(keys, "unwrap", round, () -> {
                    try (Arena arena = Arena.ofConfined()) {
                        MemorySegment dek = vault.unwrap("engine", wrapped, arena);
                        assertEquals(KeyManager.DEK_BYTES, dek.byteSize());
                        dek.fill((byte) 0);
                    }
                });
            }
        }
    }

    private static void rate(int keys, String what, int round, Runnable op) {
        int n = 0;
        long start = System.nanoTime();
        long until = start + 2_000_000_000L;
        while (System.nanoTime() < until) {
            op.run();
            n++;
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        System.out.printf("%s rate (%d keys, %s, round %d): %.0f/s (%d in %.1f s)%n", what, keys, TestVaults.policy(),
                round, n / seconds, n, seconds);
    }
}
