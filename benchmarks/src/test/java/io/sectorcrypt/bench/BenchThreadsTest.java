package io.sectorcrypt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** {@code bench --threads}: what it refuses, and the JSON rows it prints (running it takes minutes). */
class BenchThreadsTest {

    @Test
    void refusesThreadCountsOutOfRange() {
        BenchRun run = BenchRun.of("--threads", "0");
        assertEquals(1, run.exitCode(), run.out());
        assertEquals("sectorcrypt: --threads 0 is outside 1 .. 1024", run.err());
    }

    @Test
    void refusesShapesItDoesNotMeasure() {
        BenchRun run = BenchRun.of("--threads", "2", "--sector-size", "512");
        assertEquals(1, run.exitCode(), run.out());
        assertEquals("sectorcrypt: --threads measures 4 KiB and 1 MiB requests of 4096-byte sectors; leave out"
                + " --sector-size and --batch", run.err());
    }

    @Test
    void refusesMoreThanOneEngine() {
        BenchRun run = BenchRun.of("--threads", "1", "--engine", "java,native");
        assertEquals(1, run.exitCode(), run.out());
        assertEquals("sectorcrypt: --threads measures one engine; name one with --engine, not [java, native]",
                run.err());
    }

    /** A bare '%' in a description made picocli warn on stderr at every help and usage message. */
    @Test
    void helpFormatsWithoutPicocliWarnings() {
        java.io.PrintStream realErr = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        BenchRun run;
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            run = BenchRun.of("--help");
        } finally {
            System.setErr(realErr);
        }
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().replaceAll("\\s+", " ").contains("at 50 % and 90 % of its peak"), run.out());
        assertEquals("", captured.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    @Test
    void jsonRowsCarryTheThreadCount() {
        QueueBenchRunner.Row row = new QueueBenchRunner.Row("native-vaes512", "queue-latency", 4096, 1, 2, 1, 4.1e9,
                1.0e6, 1.75, 0.5, 1200, 8800, 31000);
        assertEquals("{\"engine\":\"native-vaes512\",\"op\":\"queue-latency\",\"sectorSize\":4096,\"batch\":1,"
                + "\"threads\":2,\"producers\":1,\"bytesPerSec\":4.100e+09,\"requestsPerSec\":1.000e+06,"
                + "\"cpuCores\":1.750,\"load\":0.50,\"p50Nanos\":1200,\"p99Nanos\":8800,\"p999Nanos\":31000}",
                BenchMain.queueJson(row));
    }
}
