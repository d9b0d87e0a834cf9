package io.sectorcrypt.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.bench.AesCeiling.Width;
import io.sectorcrypt.bench.BenchMain.Note;
import io.sectorcrypt.bench.BenchRunner.Row;
import io.sectorcrypt.xts.Engine;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What bench prints from its rows: each tier against its own width's ceiling and the widest; skipped tiers as notes. */
class BenchOutputTest {

    private static Row row(String engine, double gbps) {
        return new Row(engine, "encrypt", 4096, 1, 1, gbps * 1e9);
    }

    private static final List<Row> WIDEST_CPU = List.of(row("native-vaes512", 13.0), row("native-vaes256", 10.0),
            row("native-aesni", 6.0), row("java", 5.2), row("openssl", 6.5), row("ceiling-xmm", 8.0),
            row("ceiling-ymm", 12.5), row("ceiling-zmm", 16.25));

    @Test
    void tableHasOwnAndWidestCeilingColumns() {
        StringWriter text = new StringWriter();
        BenchMain.printTable(new PrintWriter(text, true), WIDEST_CPU, List.of());
        assertEquals("""
                engine           op        sector  batch     GB/s x own ceiling x widest ceiling  x OpenSSL
                native-vaes512   encrypt     4096      1    13.00          0.80             0.80       2.00
                native-vaes256   encrypt     4096      1    10.00          0.80             0.62       1.54
                native-aesni     encrypt     4096      1     6.00          0.75             0.37       0.92
                java             encrypt     4096      1     5.20          0.32             0.32       0.80
                openssl          encrypt     4096      1     6.50             -             0.40       1.00
                ceiling-xmm      encrypt     4096      1     8.00          1.00             0.49       1.23
                ceiling-ymm      encrypt     4096      1    12.50          1.00             0.77       1.92
                ceiling-zmm      encrypt     4096      1    16.25          1.00             1.00       2.50
                """, text.toString());
    }

    /** A first-generation Zen: AES-NI and AVX2, no VAES: only the xmm ceiling, which is then the widest. */
    @Test
    void withoutVaesTheXmmCeilingIsTheWidestAndTheRestAreNotes() {
        List<Row> rows = List.of(row("native-aesni", 4.0), row("java", 3.0), row("ceiling-xmm", 5.0));
        List<Note> notes = List.of(new Note("native-vaes256", "the CPU lacks VAES"),
                new Note("native-vaes512", "the CPU lacks AVX-512"), new Note("ceiling-ymm", "the CPU lacks VAES"),
                new Note("ceiling-zmm", "the CPU lacks VAES"));
        StringWriter text = new StringWriter();
        BenchMain.printTable(new PrintWriter(text, true), rows, notes);
        String[] lines = text.toString().split("\n");
        assertEquals("native-aesni     encrypt     4096      1     4.00          0.80             0.80          -", lines[1]);
        assertEquals("java             encrypt     4096      1     3.00          0.60             0.60          -", lines[2]);
        assertEquals("note: native-vaes256 skipped: the CPU lacks VAES", lines[4]);
        assertEquals("note: ceiling-zmm skipped: the CPU lacks VAES", lines[7]);
    }

    @Test
    void jsonRowsCarryBothRatiosAndSkippedEnginesTheirReason() {
        assertEquals("{\"engine\":\"native-aesni\",\"op\":\"encrypt\",\"sectorSize\":4096,\"batch\":1,\"threads\":1,"
                + "\"bytesPerSec\":6.000e+09,\"xOwnCeiling\":0.750,\"xWidestCeiling\":0.369}",
                BenchMain.json(row("native-aesni", 6.0), WIDEST_CPU));
        assertEquals("{\"engine\":\"openssl\",\"op\":\"encrypt\",\"sectorSize\":4096,\"batch\":1,\"threads\":1,"
                + "\"bytesPerSec\":6.500e+09,\"xOwnCeiling\":null,\"xWidestCeiling\":0.400}",
                BenchMain.json(row("openssl", 6.5), WIDEST_CPU));
        assertEquals("{\"engine\":\"native-vaes512\",\"skipped\":\"forced off: \\\"x\\\"\\\\y\"}",
                BenchMain.json(new Note("native-vaes512", "forced off: \"x\"\\y")));
    }

    /** Whatever this CPU is: every engine or width that cannot run is a note with its reason, and only those. */
    @Test
    void notesNameEveryEngineAndCeilingThatCannotRunHere() {
        List<Note> notes = BenchMain.notes(true);
        for (Engine e : Engine.values()) {
            assertEquals(!e.isAvailable(), notes.contains(new Note(e.id(), e.unavailableReason())), e.id());
        }
        for (Width w : Width.values()) {
            String reason = AesCeiling.unavailableReason(w);
            assertEquals(reason != null, notes.contains(new Note(w.id(), reason)), w.id());
        }
        assertTrue(BenchMain.notes(false).stream().noneMatch(n -> n.engine().startsWith("ceiling-")));
    }

    @Test
    void refusesSectorSizesOutsideTheXtsLimits() {
        BenchRun run = BenchRun.of("--sector-size", "8");
        assertEquals(1, run.exitCode(), run.out());
        assertEquals("sectorcrypt: --sector-size: sector size 8 is outside 16 .. 16777216 bytes (an XTS data unit holds"
                + " 1 to 2^20 AES blocks, SP 800-38E)", run.err());
    }
}
