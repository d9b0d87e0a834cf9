package io.sectorcrypt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class JitWarmUpTest {
    @Test
    void runsTheOperationUntilTheJitHasBeenQuietForSeveralSlices() throws Exception {
        AtomicLong runs = new AtomicLong();
        long millis = JitWarmUp.untilCompiled(() -> runs.incrementAndGet());
        assertTrue(millis >= JitWarmUp.QUIET_SLICES * JitWarmUp.SLICE_MILLIS,
                "returned after " + millis + " ms, before " + JitWarmUp.QUIET_SLICES + " quiet slices");
        assertTrue(millis < JitWarmUp.LIMIT_MILLIS, "never settled: " + millis + " ms");
        assertTrue(runs.get() > JitWarmUp.QUIET_SLICES, "ran " + runs.get() + " times");
    }

    @Test
    void anOperationsFailureStopsTheWarmUp() {
        IllegalStateException thrown = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class,
                () -> JitWarmUp.untilCompiled(() -> {
                    throw new IllegalStateException("engine cannot run here");
                }));
        assertEquals("engine cannot run here", thrown.getMessage());
    }
}
