package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every native tier against the pure-Java engine on random input: keys of both sizes,
 * data units of 16 B to 1 MiB (17..31 and other non-multiples of 16 included), sector
 * numbers up to 2^64 - 1, misaligned offsets, in place and out of place, heap and native
 * memory, both directions. The Java engine itself is pinned to the published vectors by
 * {@link VectorTest}.
 */
class DifferentialTest {
    private static final long SEED = 0x5EC70C4A9L;

    private enum Memory { HEAP, NATIVE }

    /** A buffer of n bytes at a random misalignment inside heap or native memory. */
    private static MemorySegment buffer(Arena arena, Memory memory, int n, int misalign) {
        MemorySegment whole = memory == Memory.HEAP ? MemorySegment.ofArray(new byte[n + misalign])
                : arena.allocate(n + misalign, 64);
        return whole.asSlice(misalign, n);
    }

    private static int unitLength(SplittableRandom rnd, int i) {
        return switch (i % 5) {
            case 0 -> 16 + rnd.nextInt(16);                // 16..31: stealing from the first block
            case 1 -> 16 + rnd.nextInt(2048);
            case 2 -> 16 * (1 + rnd.nextInt(4096));        // whole blocks up to 64 KiB
            case 3 -> 16 + rnd.nextInt(1 << 20);           // up to 1 MiB, mostly not whole blocks
            default -> 1 << 20;                            // exactly 1 MiB
        };
    }

    static byte[] randomKey(SplittableRandom rnd, int size) {
        byte[] key = new byte[size];
        do {
            rnd.nextBytes(key);
        } while (java.util.Arrays.equals(key, 0, size / 2, key, size / 2, size));
        return key;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.sectorcrypt.xts.Engines#availableNative")
    void unitsWithCallerTweaksEqualTheJavaEngine(Engine engine) {
        SplittableRandom rnd = new SplittableRandom(SEED);
        for (int i = 0; i < 120; i++) {
            int n = unitLength(rnd, i);
            byte[] keyBytes = randomKey(rnd, rnd.nextBoolean() ? 64 : 32);
            byte[] tweak = new byte[16];
            rnd.nextBytes(tweak);
            byte[] plain = new byte[n];
            rnd.nextBytes(plain);
            Memory memory = rnd.nextBoolean() ? Memory.HEAP : Memory.NATIVE;
            boolean inPlace = rnd.nextInt(3) == 0;
            String what = engine + " case " + i + ": " + n + " bytes, " + keyBytes.length + "-byte key, " + memory
                    + (inPlace ? ", in place" : "");
            try (XtsKey key = XtsKey.of(keyBytes); Arena arena = Arena.ofConfined()) {
                byte[] expected = new byte[n];
                SectorCipher.of(key, Engine.JAVA).encryptUnit(tweak, plain, 0, expected, 0, n);
                SectorCipher xts = SectorCipher.of(key, engine);

                MemorySegment src = buffer(arena, memory, n, rnd.nextInt(16));
                MemorySegment dst = inPlace ? src : buffer(arena, memory, n, rnd.nextInt(16));
                src.copyFrom(MemorySegment.ofArray(plain));
                MemorySegment tw = MemorySegment.ofArray(tweak);
                xts.encryptUnit(tw, src, dst);
                assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE), what + " encrypt");
                MemorySegment back = inPlace ? dst : src;
                xts.decryptUnit(tw, dst, back);
                assertArrayEquals(plain, back.toArray(ValueLayout.JAVA_BYTE), what + " decrypt");
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.sectorcrypt.xts.Engines#availableNative")
    void sectorBatchesEqualTheJavaEngine(Engine engine) {
        SplittableRandom rnd = new SplittableRandom(SEED + 1);
        int[] sizes = {16, 48, 512, 4096, 65536, 1 << 20};
        for (int i = 0; i < 80; i++) {
            int sectorSize = sizes[rnd.nextInt(sizes.length)];
            int count = 1 + rnd.nextInt(Math.max(1, (2 << 20) / sectorSize));
            count = Math.min(count, 600);
            // Both IV conventions where the sector size allows 512-byte IV units.
            IvConvention convention = sectorSize % 512 == 0 && rnd.nextBoolean()
                    ? IvConvention.PLAIN64 : IvConvention.IV_LARGE_SECTORS;
            long step = convention.ivStep(sectorSize);
            long lastStart = -step - (count - 1) * step; // the run's last IV is then the last multiple of step
            // Half the cases end at the top of the plain64 range, 2^64 - 1 (less the step's remainder).
            long first = rnd.nextBoolean() ? lastStart : rnd.nextLong() >>> rnd.nextInt(64);
            if (Long.compareUnsigned(first, lastStart) > 0) {
                first = lastStart;
            }
            first -= Long.remainderUnsigned(first, step);
            byte[] keyBytes = randomKey(rnd, rnd.nextBoolean() ? 64 : 32);
            int n = count * sectorSize;
            byte[] plain = new byte[n];
            rnd.nextBytes(plain);
            Memory memory = rnd.nextBoolean() ? Memory.HEAP : Memory.NATIVE;
            boolean inPlace = rnd.nextBoolean();
            String what = engine + " case " + i + ": " + count + " x " + sectorSize + " " + convention + " from IV "
                    + Long.toUnsignedString(first) + ", " + memory + (inPlace ? ", in place" : "");
            try (XtsKey key = XtsKey.of(keyBytes); Arena arena = Arena.ofConfined()) {
                byte[] expected = new byte[n];
                SectorCipher.of(key, Engine.JAVA, convention).encrypt(plain, 0, expected, 0, n, first, sectorSize);
                assertFalse(java.util.Arrays.equals(plain, expected), what);
                SectorCipher xts = SectorCipher.of(key, engine, convention);
                MemorySegment src = buffer(arena, memory, n, rnd.nextInt(16));
                MemorySegment dst = inPlace ? src : buffer(arena, memory, n, rnd.nextInt(16));
                src.copyFrom(MemorySegment.ofArray(plain));
                xts.encrypt(src, dst, first, sectorSize);
                assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE), what + " encrypt");
                MemorySegment back = inPlace ? dst : src;
                xts.decrypt(dst, back, first, sectorSize);
                assertArrayEquals(plain, back.toArray(ValueLayout.JAVA_BYTE), what + " decrypt");
            }
        }
    }

    /** The Java engine's segment paths (heap slices at any offset, native memory) against its array path. */
    @org.junit.jupiter.api.Test
    void javaEngineSegmentsEqualItsArrays() {
        SplittableRandom rnd = new SplittableRandom(SEED + 3);
        for (int i = 0; i < 40; i++) {
            int sectorSize = i % 2 == 0 ? 512 : 16 + rnd.nextInt(100);
            int count = 1 + rnd.nextInt(20);
            int n = count * sectorSize;
            byte[] plain = new byte[n];
            rnd.nextBytes(plain);
            Memory memory = rnd.nextBoolean() ? Memory.HEAP : Memory.NATIVE;
            boolean inPlace = rnd.nextBoolean();
            long first = rnd.nextLong() >>> 1;
            try (XtsKey key = XtsKey.of(randomKey(rnd, rnd.nextBoolean() ? 64 : 32)); Arena arena = Arena.ofConfined()) {
                SectorCipher java = SectorCipher.of(key, Engine.JAVA, IvConvention.IV_LARGE_SECTORS);
                byte[] expected = new byte[n];
                java.encrypt(plain, 0, expected, 0, n, first, sectorSize);
                MemorySegment src = buffer(arena, memory, n, rnd.nextInt(16));
                MemorySegment dst = inPlace ? src : buffer(arena, memory, n, rnd.nextInt(16));
                src.copyFrom(MemorySegment.ofArray(plain));
                java.encrypt(src, dst, first, sectorSize);
                assertArrayEquals(expected, dst.toArray(ValueLayout.JAVA_BYTE), "case " + i + " " + memory);
                MemorySegment back = inPlace ? dst : src;
                java.decrypt(dst, back, first, sectorSize);
                assertArrayEquals(plain, back.toArray(ValueLayout.JAVA_BYTE), "case " + i + " " + memory);
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("io.sectorcrypt.xts.Engines#availableNative")
    void longRequestsSplitAcrossCallsMatchOneJavaPass(Engine engine) {
        // 3 MiB + 512 of 512-byte sectors: several downcalls, one logical request.
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        int n = (3 << 20) + 512;
        byte[] plain = new byte[n];
        rnd.nextBytes(plain);
        try (XtsKey key = XtsKey.of(randomKey(rnd, 64))) {
            byte[] expected = new byte[n];
            byte[] actual = new byte[n];
            SectorCipher.of(key, Engine.JAVA).encrypt(plain, 0, expected, 0, n, 1L << 40, 512);
            SectorCipher.of(key, engine).encrypt(plain, 0, actual, 0, n, 1L << 40, 512);
            assertArrayEquals(expected, actual);
        }
    }
}
