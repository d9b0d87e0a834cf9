package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** Every refused input: its message, and dst left untouched. */
class SectorCipherValidationTest {
    private XtsKey key;
    private SectorCipher xts;

    @BeforeEach
    void open() {
        key = XtsKey.of(DifferentialTest.randomKey(new SplittableRandom(1), 64));
        xts = SectorCipher.of(key);
    }

    @AfterEach
    void close() {
        key.close();
    }

    /**
     * Makes a call that must be refused and checks its exception, its message, and that it
     * wrote nothing: each buffer in {@code untouched} (the call's dst, and src where it is
     * another buffer) is filled with a pattern first where it is writable, and must hold the
     * same bytes afterwards; a ByteBuffer must also keep its position. Buffers are byte[],
     * MemorySegment or ByteBuffer.
     */
    private static void refused(Class<? extends RuntimeException> type, String message, Executable call,
            Object untouched, Object... more) {
        List<Runnable> checks = new ArrayList<>();
        checks.add(unchangedBy(untouched));
        for (Object buffer : more) {
            checks.add(unchangedBy(buffer));
        }
        RuntimeException e = assertThrows(type, call);
        assertEquals(message, e.getMessage());
        checks.forEach(Runnable::run);
    }

    /** Fills {@code buffer} with a pattern if it is writable and returns the check that it still holds what it held. */
    private static Runnable unchangedBy(Object buffer) {
        MemorySegment segment = switch (buffer) {
            case byte[] array -> MemorySegment.ofArray(array);
            case MemorySegment m -> m;
            case ByteBuffer b -> MemorySegment.ofBuffer(b.duplicate().clear());
            default -> throw new IllegalArgumentException("not a buffer: " + buffer);
        };
        if (!segment.isReadOnly()) {
            for (long i = 0; i < segment.byteSize(); i++) {
                segment.set(ValueLayout.JAVA_BYTE, i, (byte) (0xA5 ^ (i * 31)));
            }
        }
        byte[] before = segment.toArray(ValueLayout.JAVA_BYTE);
        int position = buffer instanceof ByteBuffer b ? b.position() : -1;
        return () -> {
            long mismatch = segment.mismatch(MemorySegment.ofArray(before));
            assertEquals(-1, mismatch, "a call that must write nothing wrote into a buffer of " + before.length
                    + " bytes, at byte " + mismatch);
            if (buffer instanceof ByteBuffer b) {
                assertEquals(position, b.position(), "a call that must write nothing moved a buffer's position");
            }
        };
    }

    @Test
    void sectorSizeOutsideTheXtsLimits() {
        byte[] b = new byte[4096];
        refused(IllegalArgumentException.class, "sector size 8 is outside 16 .. 16777216 bytes (an XTS data unit"
                + " holds 1 to 2^20 AES blocks, SP 800-38E)", () -> xts.encrypt(b, 0, b, 0, 16, 0, 8), b);
        refused(IllegalArgumentException.class, "sector size 16777232 is outside 16 .. 16777216 bytes (an XTS data"
                + " unit holds 1 to 2^20 AES blocks, SP 800-38E)", () -> xts.encrypt(b, 0, b, 0, 16, 0, (1 << 24) + 16),
                b);
    }

    @Test
    void notAWholeNumberOfSectors() {
        byte[] src = new byte[1000];
        byte[] dst = new byte[1000];
        refused(IllegalArgumentException.class, "src is 1000 bytes, not a whole number of 512-byte sectors",
                () -> xts.encrypt(src, 0, dst, 0, 1000, 0, 512), dst, src);
    }

    @Test
    void sectorsPastTheLastPlain64Number() {
        byte[] b = new byte[1024];
        refused(IllegalArgumentException.class, "2 sectors from IV 18446744073709551615 run past IV 2^64 - 1"
                + " (18446744073709551615), the last plain64 IV", () -> xts.encrypt(b, 0, b, 0, 1024, -1L, 512), b);
        xts.encrypt(b, 0, b, 0, 512, -1L, 512); // the last sector itself is fine
        xts.encrypt(b, 0, b, 0, 1024, -2L, 512);
    }

    /** LUKS2 and dm-crypt's default: 4096-byte sectors have IVs 8 apart, each a multiple of 8. */
    @Test
    void plain64CountsIvsIn512ByteUnits() {
        byte[] b = new byte[8192];
        assertEquals(IvConvention.PLAIN64, xts.ivConvention());
        refused(IllegalArgumentException.class, "2 sectors from IV 18446744073709551608 in steps of 8 run past IV"
                + " 2^64 - 1 (18446744073709551615), the last plain64 IV", () -> xts.encrypt(b, 0, b, 0, 8192, -8L, 4096), b);
        refused(IllegalArgumentException.class, "first IV 5 is not a multiple of 8: with 4096-byte sectors the plain64 IV"
                + " counts 512-byte units and each sector starts at a multiple of 8 (dm-crypt, LUKS2)",
                () -> xts.encrypt(b, 0, b, 0, 4096, 5, 4096), b);
        refused(IllegalArgumentException.class, "sector size 520 is not a multiple of 512 bytes, the unit the plain64 IV"
                + " counts in by default (dm-crypt, LUKS2); count IVs in sectors instead (IvConvention.IV_LARGE_SECTORS,"
                + " dm-crypt's iv_large_sectors)", () -> xts.encrypt(b, 0, b, 0, 1040, 0, 520), b);
        xts.encrypt(b, 0, b, 0, 4096, -8L, 4096); // the last 4096-byte sector: IVs 2^64 - 8 .. 2^64 - 1
        xts.encrypt(b, 0, b, 0, 8192, -16L, 4096);
    }

    /** The same 4096-byte sector k: IV 8k under PLAIN64 is IV k under IV_LARGE_SECTORS only for k = 0. */
    @Test
    void theTwoConventionsDifferFromTheSecondSectorOn() {
        byte[] plain = new byte[3 * 4096];
        new java.util.Random(7).nextBytes(plain);
        byte[] luks = new byte[plain.length];
        byte[] large = new byte[plain.length];
        xts.encrypt(plain, 0, luks, 0, plain.length, 0, 4096);
        SectorCipher.of(key, IvConvention.IV_LARGE_SECTORS).encrypt(plain, 0, large, 0, plain.length, 0, 4096);
        assertArrayEquals(java.util.Arrays.copyOf(luks, 4096), java.util.Arrays.copyOf(large, 4096));
        for (int k = 1; k < 3; k++) {
            byte[] one = new byte[4096];
            SectorCipher.of(key, IvConvention.IV_LARGE_SECTORS).encrypt(plain, k * 4096, one, 0, 4096, 8L * k, 4096);
            assertArrayEquals(one, java.util.Arrays.copyOfRange(luks, k * 4096, (k + 1) * 4096), "sector " + k);
        }
    }

    @Test
    void dstOfAnotherLength() {
        MemorySegment src = MemorySegment.ofArray(new byte[1024]);
        MemorySegment dst = MemorySegment.ofArray(new byte[512]);
        refused(IllegalArgumentException.class, "dst is 512 bytes but src is 1024; they must be the same length",
                () -> xts.encrypt(src, dst, 0, 512), dst, src);
    }

    @Test
    void readOnlyDst() {
        MemorySegment src = MemorySegment.ofArray(new byte[512]);
        MemorySegment readOnly = MemorySegment.ofArray(new byte[512]).asReadOnly();
        refused(IllegalArgumentException.class, "dst is read-only", () -> xts.encrypt(src, readOnly, 0, 512),
                readOnly, src);
        ByteBuffer in = ByteBuffer.allocate(512);
        ByteBuffer readOnlyBuffer = ByteBuffer.allocate(512).asReadOnlyBuffer();
        refused(IllegalArgumentException.class, "dst is read-only", () -> xts.encrypt(in, readOnlyBuffer, 0, 512),
                readOnlyBuffer, in);
    }

    @Test
    void partialOverlapOnHeapAndOffHeap() {
        String message = "src and dst overlap without being the same memory; pass the same region for in-place"
                + " operation, or regions that do not overlap";
        byte[] b = new byte[2048];
        refused(IllegalArgumentException.class, message, () -> xts.encrypt(b, 0, b, 16, 1024, 0, 512), b);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment m = arena.allocate(2048);
            refused(IllegalArgumentException.class, message,
                    () -> xts.decrypt(m.asSlice(512, 1024), m.asSlice(0, 1024), 0, 512), m);
            refused(IllegalArgumentException.class, message, () -> xts.encryptUnit(MemorySegment.ofArray(new byte[16]),
                    m.asSlice(0, 100), m.asSlice(1, 100)), m);
            xts.encrypt(m.asSlice(0, 1024), m.asSlice(1024, 1024), 0, 512); // adjacent is fine
        }
    }

    @Test
    void arrayRangesOutsideTheArrays() {
        byte[] small = new byte[512];
        byte[] big = new byte[4096];
        refused(IndexOutOfBoundsException.class, "src range [0, 0 + 1024) is outside its array of 512 bytes",
                () -> xts.encrypt(small, 0, big, 0, 1024, 0, 512), big, small);
        refused(IndexOutOfBoundsException.class, "dst range [3584, 3584 + 1024) is outside its array of 4096 bytes",
                () -> xts.encrypt(big, 0, big, 3584, 1024, 0, 512), big);
        refused(IndexOutOfBoundsException.class, "src range [-1, -1 + 512) is outside its array of 4096 bytes",
                () -> xts.encrypt(big, -1, big, 0, 512, 0, 512), big);
    }

    @Test
    void byteBufferWithTooLittleRoom() {
        ByteBuffer src = ByteBuffer.allocate(1024);
        ByteBuffer dst = ByteBuffer.allocate(600).position(88);
        refused(IllegalArgumentException.class, "dst has 512 bytes remaining but src has 1024",
                () -> xts.encrypt(src, dst, 0, 512), dst, src);
    }

    @Test
    void byteBuffersAdvanceTheirPositions() {
        ByteBuffer src = ByteBuffer.allocateDirect(2048).position(512);
        ByteBuffer dst = ByteBuffer.allocate(4096).position(100);
        xts.encrypt(src, dst, 3, 512);
        assertEquals(2048, src.position());
        assertEquals(1636, dst.position());
        ByteBuffer same = ByteBuffer.allocateDirect(1024);
        xts.encrypt(same, same, 0, 512);
        assertEquals(1024, same.position());
    }

    @Test
    void unitLengthOutsideTheXtsLimits() {
        byte[] tweak = new byte[16];
        byte[] dst = new byte[15];
        refused(IllegalArgumentException.class, "an XTS data unit is 16 .. 16777216 bytes (SP 800-38E: up to 2^20"
                + " blocks), not 15 bytes", () -> xts.encryptUnit(tweak, new byte[15], 0, dst, 0, 15), dst);
        MemorySegment big = MemorySegment.ofArray(new byte[(1 << 24) + 1]);
        refused(IllegalArgumentException.class, "an XTS data unit is 16 .. 16777216 bytes (SP 800-38E: up to 2^20"
                + " blocks), not 16777217 bytes", () -> xts.encryptUnit(MemorySegment.ofArray(tweak), big, big), big);
    }

    @Test
    void tweakOfAnotherLength() {
        byte[] b = new byte[32];
        refused(IllegalArgumentException.class, "an XTS tweak is 16 bytes, not 8",
                () -> xts.encryptUnit(new byte[8], b, 0, b, 0, 32), b);
        refused(NullPointerException.class, "tweak", () -> xts.encryptUnit(null, b, 0, b, 0, 32), b);
    }

    @Test
    void javaEngineOnAnUninstalledAesProvider() {
        System.setProperty(JdkAes.PROVIDER_PROPERTY, "NoSuchProvider");
        try (XtsKey fresh = XtsKey.of(DifferentialTest.randomKey(new SplittableRandom(2), 64))) {
            byte[] b = new byte[512];
            refused(IllegalStateException.class, "-Dsectorcrypt.java.aes.provider=NoSuchProvider: no JCA provider of"
                    + " that name is installed (for BCFIPS, start the FIPS crypto policy first: it installs the"
                    + " provider)", () -> SectorCipher.of(fresh, Engine.JAVA).encrypt(b, 0, b, 0, 512, 0, 512), b);
        } finally {
            System.clearProperty(JdkAes.PROVIDER_PROPERTY);
        }
    }

    @ParameterizedTest
    @MethodSource("io.sectorcrypt.xts.Engines#available")
    void emptyInputIsANoOp(Engine engine) {
        SectorCipher cipher = SectorCipher.of(key, engine);
        // Zero bytes out of buffers that hold whole sectors: nothing may be written or moved.
        byte[] src = new byte[1024];
        byte[] dst = new byte[1024];
        Runnable srcKept = unchangedBy(src);
        Runnable dstKept = unchangedBy(dst);
        cipher.encrypt(src, 512, dst, 512, 0, 7, 512);
        cipher.decrypt(dst, 0, dst, 0, 0, 7, 512);
        dstKept.run();
        MemorySegment segment = MemorySegment.ofArray(dst);
        cipher.encrypt(segment.asSlice(512, 0), segment.asSlice(0, 0), 7, 512);
        dstKept.run();
        ByteBuffer in = ByteBuffer.wrap(src).position(512).limit(512);
        ByteBuffer out = ByteBuffer.wrap(dst).position(100);
        cipher.encrypt(in, out, 7, 512);
        assertEquals(512, in.position(), "no input: src's position stays");
        assertEquals(100, out.position(), "no output: dst's position stays");
        srcKept.run();
        dstKept.run();
        cipher.encrypt(new byte[0], 0, new byte[0], 0, 0, 0, 512);
    }
}
