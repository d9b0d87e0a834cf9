package io.sectorcrypt.hctr2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sectorcrypt.xts.IvConvention;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every native engine (kernel tier) that runs here against the pure-Java engine, which the
 * published vectors pin down: random keys, lengths 16 .. 65536 and tweaks, both directions,
 * in place, off-heap, and sector runs of every shape (several native calls per run
 * included). Nothing runs where no native engine can.
 */
class Hctr2NativeTest {
    private static final SplittableRandom RANDOM = new SplittableRandom(0x4843545232L);

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    @Test
    void widestNativeTierIsSelectedUnlessForced() {
        assumeTrue(Hctr2Engine.NATIVE_AESNI.isAvailable(), Hctr2Engine.NATIVE_AESNI::unavailableReason);
        assumeTrue(System.getProperty(Hctr2Selection.PROPERTY) == null);
        Hctr2Engine widest = Hctr2Engines.availableNative().reduce((a, b) -> b).orElseThrow();
        assertEquals(widest, Hctr2Engine.selected());
        assertEquals(widest, Hctr2Engine.best());
        assertNull(widest.unavailableReason());
        assertEquals("native-aesni", Hctr2Engine.NATIVE_AESNI.id());
        assertEquals("native-vaes256", Hctr2Engine.NATIVE_VAES256.id());
        assertEquals("native-vaes512", Hctr2Engine.NATIVE_VAES512.id());
    }

    @Test
    void tiersTheCpuLacksSayWhy() {
        for (Hctr2Engine e : Hctr2Engine.values()) {
            assertEquals(e.unavailableReason() == null, e.isAvailable(), e.id());
            if (!e.isAvailable()) {
                var ex = org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, e::impl);
                assertTrue(ex.getMessage().startsWith("HCTR2 engine " + e.id() + " cannot run here: "), ex.getMessage());
            }
        }
    }

    @ParameterizedTest(allowZeroInvocations = true) // none where no native engine runs
    @MethodSource("io.sectorcrypt.hctr2.Hctr2Engines#availableNative")
    void messagesMatchJavaBothDirections(Hctr2Engine engine) {
        for (int i = 0; i < 300; i++) {
            int length = i < 48 ? 16 + i : 16 + RANDOM.nextInt(65536 - 16 + 1);
            byte[] tweak = random(i % 7 == 0 ? 32 : RANDOM.nextInt(i % 5 == 0 ? 600 : 80));
            byte[] plain = random(length);
            try (Hctr2Key key = Hctr2Key.of(random(RANDOM.nextBoolean() ? 16 : 32))) {
                Hctr2 java = Hctr2.of(key, Hctr2Engine.JAVA, IvConvention.PLAIN64);
                Hctr2 nat = Hctr2.of(key, engine, IvConvention.PLAIN64);
                String what = "length " + length + ", tweak " + tweak.length;
                byte[] expected = new byte[length];
                java.encrypt(tweak, plain, 0, expected, 0, length);
                byte[] actual = new byte[length + 5];
                nat.encrypt(tweak, plain, 0, actual, 5, length);
                assertArrayEquals(expected, Arrays.copyOfRange(actual, 5, 5 + length), what);
                // Decrypt: random "ciphertext" through both, and the round trip in place.
                byte[] junk = random(length);
                byte[] javaPlain = new byte[length];
                java.decrypt(tweak, junk, 0, javaPlain, 0, length);
                nat.decrypt(tweak, junk, 0, junk, 0, length);
                assertArrayEquals(javaPlain, junk, what + ", decrypt");
                nat.decrypt(tweak, expected, 0, expected, 0, length);
                assertArrayEquals(plain, expected, what + ", round trip");
            }
        }
    }

    @ParameterizedTest(allowZeroInvocations = true) // none where no native engine runs
    @MethodSource("io.sectorcrypt.hctr2.Hctr2Engines#availableNative")
    void offHeapMessagesMatchJava(Hctr2Engine engine) {
        try (Hctr2Key key = Hctr2Key.of(random(32)); Arena arena = Arena.ofConfined()) {
            Hctr2 java = Hctr2.of(key, Hctr2Engine.JAVA, IvConvention.PLAIN64);
            Hctr2 nat = Hctr2.of(key, engine, IvConvention.PLAIN64);
            for (int length : new int[] {16, 255, 4096, 65536, 1 << 20}) {
                MemorySegment tweak = arena.allocate(32);
                tweak.copyFrom(MemorySegment.ofArray(random(32)));
                byte[] plain = random(length);
                byte[] expected = new byte[length];
                java.encrypt(tweak, MemorySegment.ofArray(plain), MemorySegment.ofArray(expected));
                MemorySegment off = arena.allocate(length);
                off.copyFrom(MemorySegment.ofArray(plain));
                nat.encrypt(tweak, off, off);
                assertArrayEquals(expected, off.toArray(ValueLayout.JAVA_BYTE), "length " + length);
                nat.decrypt(tweak, off, off);
                assertArrayEquals(plain, off.toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @ParameterizedTest(allowZeroInvocations = true) // none where no native engine runs
    @MethodSource("io.sectorcrypt.hctr2.Hctr2Engines#availableNative")
    void sectorRunsMatchJavaBothDirections(Hctr2Engine engine) {
        int[] sizes = {512, 1024, 4096};
        for (int i = 0; i < 40; i++) {
            int sectorSize = sizes[RANDOM.nextInt(sizes.length)];
            // Up to 2 MiB, so some runs take more than one native call (1 MiB each).
            int count = i < 4 ? (int) (NativeHctr2.MAX_BYTES_PER_CALL / sectorSize) + i : 1 + RANDOM.nextInt(512);
            long firstIv = (RANDOM.nextBoolean() ? RANDOM.nextLong(1L << 40) : 0xFFFFFFF0L) * (sectorSize / 512);
            IvConvention convention = RANDOM.nextBoolean() ? IvConvention.PLAIN64 : IvConvention.IV_LARGE_SECTORS;
            if (convention == IvConvention.IV_LARGE_SECTORS) {
                firstIv /= sectorSize / 512;
            }
            byte[] plain = random(count * sectorSize);
            try (Hctr2Key key = Hctr2Key.of(random(RANDOM.nextBoolean() ? 16 : 32))) {
                Hctr2 java = Hctr2.of(key, Hctr2Engine.JAVA, convention);
                Hctr2 nat = Hctr2.of(key, engine, convention);
                String what = count + " x " + sectorSize + " from IV " + firstIv + ", " + convention;
                byte[] expected = new byte[plain.length];
                java.encryptSectors(plain, 0, expected, 0, plain.length, firstIv, sectorSize);
                byte[] actual = plain.clone();
                nat.encryptSectors(actual, 0, actual, 0, actual.length, firstIv, sectorSize);
                assertArrayEquals(expected, actual, what);
                assertFalse(Arrays.equals(plain, actual), what);
                byte[] javaPlain = new byte[plain.length];
                java.decryptSectors(plain, 0, javaPlain, 0, plain.length, firstIv, sectorSize);
                byte[] nativePlain = new byte[plain.length];
                nat.decryptSectors(plain, 0, nativePlain, 0, plain.length, firstIv, sectorSize);
                assertArrayEquals(javaPlain, nativePlain, what + ", decrypt");
                nat.decryptSectors(actual, 0, actual, 0, actual.length, firstIv, sectorSize);
                assertArrayEquals(plain, actual, what + ", round trip");
            }
        }
    }
}
