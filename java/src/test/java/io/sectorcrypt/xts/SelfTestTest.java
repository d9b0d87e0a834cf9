package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class SelfTestTest {

    @Test
    void everyAvailableEnginePassesEveryShippedVector() {
        SelfTest.Report report = SelfTest.run();
        assertTrue(report.ok(), report.toString());
        assertEquals(Engines.available().size(), report.results().size());
        for (SelfTest.EngineResult r : report.results()) {
            assertEquals(26, r.total(), "19 IEEE 1619 vectors + 7 plain64 sectors");
        }
        assertEquals(Engine.selected(), report.selected());
        if (Engine.AESNI.isAvailable()) {
            assertTrue(report.cpuFeatures().contains("AES-NI"));
        }
    }
}
