package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.Engine;
import org.junit.jupiter.api.Test;

class SelftestCommandTest {

    @Test
    void reportsTheChosenEngineAndPassesEveryKnownAnswerTest() {
        CliRun run = CliRun.of("selftest");
        assertEquals(0, run.exitCode(), run.out() + run.err());
        assertTrue(run.out().contains("Chosen engine: " + Engine.best().id() + "\n"), run.out());
        assertTrue(run.out().contains("Result: PASS"), run.out());
        for (Engine e : Engine.values()) {
            if (e.isAvailable()) {
                assertTrue(run.out().contains(String.format("  %-15s 26/26 PASS", e.id())), run.out());
            } else {
                // The only place besides bench where a user learns why a tier did not run.
                assertTrue(run.out().contains(String.format("  %-15s skipped: %s%n", e.id(), e.unavailableReason())),
                        run.out());
            }
        }
    }
}
