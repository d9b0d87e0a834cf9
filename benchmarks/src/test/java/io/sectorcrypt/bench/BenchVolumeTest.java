package io.sectorcrypt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@code bench --volume}: what it refuses, and how it turns rounds into ratios (running it takes a minute). */
class BenchVolumeTest {

    @Test
    void refusesOptionsItDoesNotUse() {
        BenchRun run = BenchRun.of("--volume", "--threads", "2");
        assertEquals(1, run.exitCode(), run.out());
        assertEquals("sectorcrypt: --volume measures 2 threads on the engine the library selects, 4096-byte sectors;"
                + " leave out --threads, --engine, --sector-size and --batch", run.err());
        assertEquals("sectorcrypt: --rounds 0 is outside 1 .. 100", BenchRun.of("--volume", "--rounds", "0").err());
    }

    /** Each round's ratio comes from that round's raw row; the summary is their median and range. */
    @Test
    void ratiosArePerRoundAndSummarisedByMedianAndRange() {
        List<VolumeInterleaved.Row> rows = new ArrayList<>();
        double[] raw = {1000, 2000, 4000};
        double[] volume = {800, 1000, 3000};
        for (int round = 1; round <= 3; round++) {
            rows.add(new VolumeInterleaved.Row(round, "seq-1m", "write", "raw", 1 << 20, raw[round - 1],
                    raw[round - 1]));
            rows.add(new VolumeInterleaved.Row(round, "seq-1m", "write", "volume", 1 << 20, volume[round - 1],
                    volume[round - 1] / 2));
        }
        double[] ratios = VolumeInterleaved.ratios(rows, "seq-1m", "write", "volume",
                VolumeInterleaved.Row::requestsPerSec);
        assertEquals("0.75 (0.50..0.80)", VolumeInterleaved.Spread.of(ratios).format());
        StringWriter text = new StringWriter();
        BenchMain.printVolumeTable(new PrintWriter(text, true), rows, 3);
        assertTrue(text.toString().contains("volume seq write x raw: 0.75 (0.50..0.80), per CPU-s: 0.38 (0.25..0.40)"),
                text.toString());
    }
}
