package io.sectorcrypt.hctr2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.IvConvention;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The message and sector APIs beyond the vectors: dm-crypt tweaks, wide-block diffusion,
 * round trips, refusals, secrecy; on every engine that runs here.
 */
@ParameterizedClass
@MethodSource("io.sectorcrypt.hctr2.Hctr2Engines#available")
class Hctr2Test {
    @Parameter
    Hctr2Engine engine;

    private static final SplittableRandom RANDOM = new SplittableRandom(20211441);

    private static byte[] random(int n) {
        byte[] b = new byte[n];
        RANDOM.nextBytes(b);
        return b;
    }

    /** dm-crypt's plain64 tweak for capi:hctr2(aes)-plain64, built independently of the engine: 32 bytes. */
    private static byte[] plain64Tweak(long iv) {
        byte[] t = new byte[32];
        for (int i = 0; i < 8; i++) {
            t[i] = (byte) (iv >>> (8 * i));
        }
        return t;
    }

    @ParameterizedTest
    @ValueSource(ints = {512, 4096})
    void sectorsEqualPerSectorMessagesWithPlain64Tweaks(int sectorSize) {
        int sectors = 5;
        long firstSector = 0xFFFFFFFFL;  // crosses 2^32 in 512-byte units
        long firstIv = firstSector * (sectorSize / 512);
        byte[] plain = random(sectors * sectorSize);
        try (Hctr2Key key = Hctr2Key.of(random(32))) {
            Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
            byte[] expected = new byte[plain.length];
            for (int i = 0; i < sectors; i++) {
                long iv = firstIv + (long) i * (sectorSize / 512);
                hctr2.encrypt(plain64Tweak(iv), plain, i * sectorSize, expected, i * sectorSize, sectorSize);
            }
            byte[] actual = new byte[plain.length];
            hctr2.encryptSectors(plain, 0, actual, 0, plain.length, firstIv, sectorSize);
            assertArrayEquals(expected, actual);
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment off = arena.allocate(plain.length);
                off.copyFrom(MemorySegment.ofArray(plain));
                hctr2.encryptSectors(off, off, firstIv, sectorSize);
                assertArrayEquals(expected, off.toArray(ValueLayout.JAVA_BYTE), "off-heap, in place");
                hctr2.decryptSectors(off, off, firstIv, sectorSize);
                assertArrayEquals(plain, off.toArray(ValueLayout.JAVA_BYTE));
            }
            hctr2.decryptSectors(actual, 0, actual, 0, actual.length, firstIv, sectorSize);
            assertArrayEquals(plain, actual);
        }
    }

    @Test
    void ivLargeSectorsCountsWholeSectors() {
        byte[] plain = random(3 * 4096);
        try (Hctr2Key key = Hctr2Key.of(random(16))) {
            Hctr2 large = Hctr2.of(key, engine, IvConvention.IV_LARGE_SECTORS);
            byte[] out = new byte[plain.length];
            large.encryptSectors(plain, 0, out, 0, plain.length, 7, 4096);
            byte[] third = new byte[4096];
            large.encrypt(plain64Tweak(9), plain, 2 * 4096, third, 0, 4096);
            assertArrayEquals(third, Arrays.copyOfRange(out, 2 * 4096, 3 * 4096));
        }
    }

    /**
     * Wide block: one flipped plaintext bit changes every whole 16-byte block of the
     * ciphertext (each stays equal with probability 2^-128), unlike XTS where only one block
     * changes. A partial last block is not checked: a few bytes collide too often to test.
     */
    @ParameterizedTest
    @ValueSource(ints = {16, 17, 31, 512, 4096, 4100})
    void oneBitChangesEveryCiphertextBlock(int length) {
        try (Hctr2Key key = Hctr2Key.of(random(32))) {
            Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
            byte[] tweak = random(32);
            byte[] plain = random(length);
            byte[] c1 = new byte[length];
            hctr2.encrypt(tweak, plain, 0, c1, 0, length);
            for (int bit : new int[] {0, 7, (8 * 16) % (8 * length), 8 * length - 1, RANDOM.nextInt(8 * length)}) {
                byte[] flipped = plain.clone();
                flipped[bit / 8] ^= (byte) (1 << (bit % 8));
                byte[] c2 = new byte[length];
                hctr2.encrypt(tweak, flipped, 0, c2, 0, length);
                for (int b = 0; b + 16 <= length; b += 16) {
                    assertFalse(Arrays.equals(c1, b, b + 16, c2, b, b + 16), "bit " + bit + ": block at " + b + " unchanged");
                }
            }
            byte[] otherTweak = tweak.clone();
            otherTweak[31] ^= 1;
            byte[] c3 = new byte[length];
            hctr2.encrypt(otherTweak, plain, 0, c3, 0, length);
            assertFalse(Arrays.equals(c1, 0, 16, c3, 0, 16), "the tweak changes the first block");
            assertFalse(Arrays.equals(c1, length - 16, length, c3, length - 16, length), "and the last");
        }
    }

    @Test
    void roundTripsRandomLengthsAndTweaks() {
        for (int i = 0; i < 200; i++) {
            int length = i < 40 ? 16 + i : 16 + RANDOM.nextInt(65536 - 16 + 1);
            byte[] tweak = random(RANDOM.nextInt(80));
            byte[] plain = random(length);
            try (Hctr2Key key = Hctr2Key.of(random(RANDOM.nextBoolean() ? 16 : 32))) {
                Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
                byte[] c = new byte[length + 3];
                hctr2.encrypt(tweak, plain, 0, c, 3, length);
                assertFalse(Arrays.equals(plain, 0, length, c, 3, 3 + length));
                byte[] back = new byte[length];
                hctr2.decrypt(tweak, c, 3, back, 0, length);
                assertArrayEquals(plain, back, () -> "length " + length + ", tweak " + tweak.length);
            }
        }
    }

    /** Lengths across the 16 KiB chunk boundary, where the XCTR counter and the hash continue into the next chunk. */
    @Test
    void chunkBoundariesMatchInPlaceAndOffHeap() {
        try (Hctr2Key key = Hctr2Key.of(random(32)); Arena arena = Arena.ofConfined()) {
            Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
            byte[] tweak = random(32);
            for (int length : new int[] {JavaHctr2.CHUNK + 15, JavaHctr2.CHUNK + 16, JavaHctr2.CHUNK + 17,
                    2 * JavaHctr2.CHUNK + 16, 3 * JavaHctr2.CHUNK + 1}) {
                byte[] plain = random(length);
                byte[] c = new byte[length];
                hctr2.encrypt(tweak, plain, 0, c, 0, length);
                MemorySegment off = arena.allocate(length);
                off.copyFrom(MemorySegment.ofArray(plain));
                hctr2.encrypt(MemorySegment.ofArray(tweak), off, off);
                assertArrayEquals(c, off.toArray(ValueLayout.JAVA_BYTE), "length " + length);
                hctr2.decrypt(MemorySegment.ofArray(tweak), off, off);
                assertArrayEquals(plain, off.toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void refusesBadInputsWithClearMessages() {
        try (Hctr2Key key = Hctr2Key.of(new byte[32])) {
            Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
            byte[] buf = new byte[8192];
            var e = assertThrows(IllegalArgumentException.class, () -> hctr2.encrypt(new byte[32], buf, 0, buf, 0, 15));
            assertTrue(e.getMessage().contains("16 .. 16777216"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> hctr2.encrypt(new byte[0], new byte[Hctr2Limits.MAX_MESSAGE_BYTES + 1], 0,
                            new byte[Hctr2Limits.MAX_MESSAGE_BYTES + 1], 0, Hctr2Limits.MAX_MESSAGE_BYTES + 1));
            assertThrows(IndexOutOfBoundsException.class, () -> hctr2.encrypt(new byte[0], buf, 8000, buf, 0, 512));
            e = assertThrows(IllegalArgumentException.class, () -> hctr2.encrypt(new byte[0], buf, 0, buf, 16, 512));
            assertTrue(e.getMessage().contains("overlap"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> hctr2.encryptSectors(buf, 0, buf, 0, 4000, 0, 512));
            assertTrue(e.getMessage().contains("whole number of 512-byte sectors"), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> hctr2.encryptSectors(buf, 0, buf, 0, 8192, 1, 4096));
            assertTrue(e.getMessage().contains("not a multiple of 8"), e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> hctr2.encryptSectors(buf, 0, buf, 0, 8192, 0, 1000));
            assertThrows(IllegalArgumentException.class, () -> hctr2.encryptSectors(buf, 0, buf, 0, 8192, -8, 4096));
            MemorySegment readOnly = MemorySegment.ofArray(new byte[32]).asReadOnly();
            e = assertThrows(IllegalArgumentException.class,
                    () -> hctr2.encrypt(MemorySegment.ofArray(new byte[0]), readOnly, readOnly));
            assertTrue(e.getMessage().contains("read-only"), e.getMessage());
            assertThrows(NullPointerException.class, () -> hctr2.encrypt(null, buf, 0, buf, 0, 16));
        }
        for (int bad : new int[] {0, 15, 24, 48, 64}) {
            var e = assertThrows(IllegalArgumentException.class, () -> Hctr2Key.of(new byte[bad]));
            assertTrue(e.getMessage().contains("16 bytes (HCTR2-AES-128) or 32 bytes"), e.getMessage());
        }
    }

    @Test
    void closedKeyIsRefusedAndZeroed() {
        byte[] raw = random(32);
        Hctr2Key key = Hctr2Key.of(raw);
        Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
        byte[] buf = new byte[64];
        hctr2.encrypt(new byte[0], buf, 0, buf, 0, 64);
        assertTrue(key.hasKeyMaterial(raw));
        key.close();
        key.close();
        assertTrue(key.isClosed());
        var e = assertThrows(IllegalStateException.class, () -> hctr2.encrypt(new byte[0], buf, 0, buf, 0, 64));
        assertTrue(e.getMessage().contains("closed"), e.getMessage());
        assertEquals("Hctr2Key[HCTR2-AES-256, closed]", key.toString());
        if (engine.isNative()) {
            byte[] expanded = key.nativeKey().reinterpret(NativeHctr2.keySize()).toArray(ValueLayout.JAVA_BYTE);
            assertArrayEquals(new byte[expanded.length], expanded, "the native expanded key is wiped");
        }
    }

    @Test
    void keyNeverAppearsInTextOrMessages() {
        byte[] raw = random(32);
        String hex = HexFormat.of().formatHex(raw);
        try (Hctr2Key key = Hctr2Key.of(raw)) {
            Hctr2 hctr2 = Hctr2.of(key, engine, IvConvention.PLAIN64);
            StringBuilder text = new StringBuilder(key.toString()).append(hctr2);
            for (Runnable bad : new Runnable[] {
                    () -> hctr2.encrypt(new byte[0], new byte[8], 0, new byte[8], 0, 8),
                    () -> hctr2.encryptSectors(new byte[100], 0, new byte[100], 0, 100, 0, 512)}) {
                try {
                    bad.run();
                } catch (RuntimeException ex) {
                    text.append(ex);
                }
            }
            String all = text.toString().toLowerCase();
            assertFalse(all.contains(hex.substring(0, 16)), all);
            assertFalse(all.contains(hex.substring(32)), all);
            assertEquals("Hctr2Key[HCTR2-AES-256]", key.toString());
        }
        assertNotEquals(0, raw.length); // the caller's array is the caller's to zero
    }
}
