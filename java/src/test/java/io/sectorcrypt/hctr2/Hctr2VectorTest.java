package io.sectorcrypt.hctr2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.sectorcrypt.xts.IvConvention;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every published HCTR2, XCTR and POLYVAL vector, HCTR2 in both directions, out of place and
 * in place, on every engine that runs here.
 */
class Hctr2VectorTest {

    static Stream<Hctr2Vectors.Vector> hctr2() {
        return Stream.concat(Hctr2Vectors.hctr2("HCTR2_AES128.json").stream(),
                Hctr2Vectors.hctr2("HCTR2_AES256.json").stream());
    }

    static Stream<Arguments> hctr2OnEveryEngine() {
        return Hctr2Engines.available().flatMap(e -> hctr2().map(v -> Arguments.of(e, v)));
    }

    static Stream<Hctr2Vectors.Vector> xctr() {
        return Stream.concat(Hctr2Vectors.xctr("XCTR_AES128.json").stream(),
                Hctr2Vectors.xctr("XCTR_AES256.json").stream());
    }

    static List<Hctr2Vectors.Vector> polyval() {
        return Hctr2Vectors.polyval();
    }

    @Test
    void allVectorsAreThere() {
        assertEquals(200, Hctr2Vectors.hctr2("HCTR2_AES128.json").size());
        assertEquals(350, Hctr2Vectors.hctr2("HCTR2_AES256.json").size());
        assertEquals(50, Hctr2Vectors.xctr("XCTR_AES128.json").size());
        assertEquals(90, Hctr2Vectors.xctr("XCTR_AES256.json").size());
        assertEquals(45, polyval().size());
    }

    @ParameterizedTest
    @MethodSource("hctr2OnEveryEngine")
    void hctr2BothDirections(Hctr2Engine engine, Hctr2Vectors.Vector v) {
        try (Hctr2Key key = Hctr2Key.of(v.key())) {
            Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
            byte[] out = new byte[v.in().length];
            hctr2.encrypt(v.tweak(), v.in(), 0, out, 0, out.length);
            assertArrayEquals(v.out(), out, "encrypt");
            hctr2.decrypt(v.tweak(), v.out(), 0, out, 0, out.length);
            assertArrayEquals(v.in(), out, "decrypt");
            byte[] inPlace = v.in().clone();
            hctr2.encrypt(v.tweak(), inPlace, 0, inPlace, 0, inPlace.length);
            assertArrayEquals(v.out(), inPlace, "encrypt in place");
            hctr2.decrypt(v.tweak(), inPlace, 0, inPlace, 0, inPlace.length);
            assertArrayEquals(v.in(), inPlace, "decrypt in place");
        }
    }

    @ParameterizedTest
    @MethodSource("xctr")
    void xctr(Hctr2Vectors.Vector v) {
        try (Hctr2Key key = Hctr2Key.of(v.key())) {
            assertArrayEquals(v.out(), JavaHctr2.xctr(key, v.tweak(), v.in()));
        }
    }

    @ParameterizedTest
    @MethodSource("polyval")
    void polyval(Hctr2Vectors.Vector v) {
        Polyval p = Polyval.of(v.key(), 0);
        p.blocks(v.in(), 0, v.in().length);
        byte[] hash = new byte[16];
        for (int i = 0; i < 8; i++) {
            hash[i] = (byte) (p.lo() >>> (8 * i));
            hash[8 + i] = (byte) (p.hi() >>> (8 * i));
        }
        assertArrayEquals(v.out(), hash);
    }

    /** RFC 8452 appendix A's POLYVAL example, as a second source beside the JSON vectors. */
    @Test
    void rfc8452Example() {
        var hex = java.util.HexFormat.of();
        Polyval p = Polyval.of(hex.parseHex("25629347589242761d31f826ba4b757b"), 0);
        p.blocks(hex.parseHex("4f4f95668c83dfb6401762bb2d01a262d1a24ddd2721d006bbe45f20d3c9f362"), 0, 32);
        byte[] hash = new byte[16];
        for (int i = 0; i < 8; i++) {
            hash[i] = (byte) (p.lo() >>> (8 * i));
            hash[8 + i] = (byte) (p.hi() >>> (8 * i));
        }
        assertEquals("f7a3b47b846119fae5b7866cf5e5b77e", hex.formatHex(hash));
    }

    /** The two 64-bit carry-less halves against a shift-and-XOR reference on random and extreme operands. */
    @Test
    void carrylessMultiplyMatchesSchoolbook() {
        var random = new java.util.SplittableRandom(1441);
        long[] edge = {0, 1, -1, Long.MIN_VALUE, 0x1111111111111111L, 0x8888888888888888L, 0xFFFFFFFF00000000L};
        List<long[]> cases = new java.util.ArrayList<>();
        for (long a : edge) {
            for (long b : edge) {
                cases.add(new long[] {a, b});
            }
        }
        for (int i = 0; i < 20000; i++) {
            cases.add(new long[] {random.nextLong(), random.nextLong()});
        }
        for (long[] c : cases) {
            long lo = 0;
            long hi = 0;
            for (int i = 0; i < 64; i++) {
                if (((c[1] >>> i) & 1) != 0) {
                    lo ^= c[0] << i;
                    hi ^= i == 0 ? 0 : c[0] >>> (64 - i);
                }
            }
            assertEquals(lo, Polyval.clmulLow(c[0], c[1]), () -> "low " + Arrays.toString(c));
            assertEquals(hi, Polyval.clmulHigh(c[0], c[1]), () -> "high " + Arrays.toString(c));
        }
    }
}
