package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.Vectors.Vector;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every engine that runs here, forced one at a time, against every published vector:
 * NIST CAVP XTSGenAES128/256 in both tweak formats, IEEE 1619-2007 Annex B 1-19, and the
 * OpenSSL-made dm-crypt plain64 sectors, through each API shape (unit with tweak, sector
 * batch, heap and native memory, in place).
 */
class VectorTest {

    static Stream<Arguments> files() {
        return Stream.of(
                        "nist-cavp/tweak-128hexstr/XTSGenAES128.rsp", "nist-cavp/tweak-128hexstr/XTSGenAES256.rsp",
                        "nist-cavp/data-unit-seqno/XTSGenAES128.rsp", "nist-cavp/data-unit-seqno/XTSGenAES256.rsp",
                        "ieee1619/ieee1619-xts.txt", "openssl-plain64/plain64-512.txt",
                        "openssl-plain64/plain64-4096.txt")
                .flatMap(file -> Engines.available().stream().map(engine -> Arguments.of(engine, file)));
    }

    static List<Vector> load(String file) {
        return file.endsWith(".rsp") ? Vectors.nist(file) : Vectors.lineFormat(file);
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("files")
    void everyVectorOfTheFile(Engine engine, String file) {
        List<Vector> vectors = load(file);
        int expected = switch (file) {
            // Whole-byte data units only: 128, 200, 256 bits (AES-128) and 256, 384 (AES-256).
            case String f when f.endsWith("AES128.rsp") -> 800;
            case String f when f.endsWith("AES256.rsp") -> 600;
            case String f when f.startsWith("ieee") -> 19;
            default -> 7;
        };
        assertEquals(expected, vectors.size(), "vectors parsed from " + file);
        for (Vector v : vectors) {
            check(engine, v);
        }
    }

    private static void check(Engine engine, Vector v) {
        boolean equalHalves = Arrays.equals(v.key(), 0, v.key().length / 2, v.key(), v.key().length / 2, v.key().length);
        try (XtsKey key = equalHalves ? XtsKey.ofKnownAnswerVector(v.key()) : XtsKey.of(v.key())) {
            // The vectors number each data unit in units of its own length.
            SectorCipher xts = SectorCipher.of(key, engine, IvConvention.IV_LARGE_SECTORS);
            int n = v.plain().length;
            byte[] out = new byte[n];
            // Unit API on heap arrays, both directions.
            if (v.encrypt()) {
                xts.encryptUnit(v.tweak(), v.plain(), 0, out, 0, n);
                assertArrayEquals(v.cipher(), out, () -> engine + " encrypt " + v);
            }
            xts.decryptUnit(v.tweak(), v.cipher(), 0, out, 0, n);
            assertArrayEquals(v.plain(), out, () -> engine + " decrypt " + v);

            // Sector API, native memory, in place, where the tweak is a 64-bit sector number.
            if (Vectors.isPlain64(v.tweak())) {
                long sector = Vectors.unitNumber(v.tweak());
                try (Arena arena = Arena.ofConfined()) {
                    MemorySegment buf = arena.allocate(n);
                    buf.copyFrom(MemorySegment.ofArray(v.plain()));
                    xts.encrypt(buf, buf, sector, n);
                    assertArrayEquals(v.cipher(), buf.toArray(ValueLayout.JAVA_BYTE), () -> engine + " sector " + v);
                    xts.decrypt(buf, buf, sector, n);
                    assertArrayEquals(v.plain(), buf.toArray(ValueLayout.JAVA_BYTE), () -> engine + " sector " + v);
                }
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.sectorcrypt.xts.Engines#available")
    void plain64SectorsInOneBatchCall(Engine engine) {
        // The seven OpenSSL sectors are not consecutive; check each as a batch of one and,
        // for 0 and 1, as one two-sector call.
        for (String file : List.of("openssl-plain64/plain64-512.txt", "openssl-plain64/plain64-4096.txt")) {
            List<Vector> v = Vectors.lineFormat(file);
            assertTrue(Vectors.unitNumber(v.get(0).tweak()) == 0 && Vectors.unitNumber(v.get(1).tweak()) == 1);
            int size = v.get(0).plain().length;
            byte[] two = new byte[2 * size];
            System.arraycopy(v.get(0).plain(), 0, two, 0, size);
            System.arraycopy(v.get(1).plain(), 0, two, size, size);
            try (XtsKey key = XtsKey.of(v.get(0).key())) {
                SectorCipher.of(key, engine, IvConvention.IV_LARGE_SECTORS).encrypt(two, 0, two, 0, two.length, 0, size);
            }
            assertArrayEquals(v.get(0).cipher(), Arrays.copyOfRange(two, 0, size), file);
            assertArrayEquals(v.get(1).cipher(), Arrays.copyOfRange(two, size, 2 * size), file);
        }
    }
}
