package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * Direct ByteBuffers, which the engines take as buffers (the Java engine stages them chunk
 * by chunk, without a segment view): in place and from one buffer to another, the same bytes
 * as on a byte[], whatever the buffers' positions and byte order, for sectors of one block to
 * several chunks, the positions advanced, and partly overlapping buffers refused.
 */
class JavaXtsDirectBufferTest {

    @Test
    void inPlaceOnADirectBufferEqualsArrays() {
        SplittableRandom rnd = new SplittableRandom(0xB0FFE7L);
        int[] sectorSizes = {512, 4096, 65536, 1 << 20};
        for (int i = 0; i < 24; i++) {
            int sectorSize = sectorSizes[i % sectorSizes.length];
            int count = 1 + rnd.nextInt(i % sectorSizes.length == 3 ? 2 : 5);
            int n = sectorSize * count;
            int position = rnd.nextInt(64);
            byte[] keyBytes = DifferentialTest.randomKey(rnd, rnd.nextBoolean() ? 64 : 32);
            byte[] plain = new byte[n];
            rnd.nextBytes(plain);
            long firstIv = (rnd.nextLong() >>> 30) * (sectorSize / 512);
            try (XtsKey key = XtsKey.of(keyBytes)) {
                SectorCipher xts = SectorCipher.of(key, Engine.JAVA);
                byte[] expected = new byte[n];
                xts.encrypt(plain, 0, expected, 0, n, firstIv, sectorSize);
                ByteBuffer buffer = ByteBuffer.allocateDirect(position + n + 7)
                        .order(i % 2 == 0 ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN);
                buffer.position(position).put(plain).position(position).limit(position + n);
                xts.encrypt(buffer, buffer, firstIv, sectorSize);
                assertEquals(position + n, buffer.position());
                byte[] got = new byte[n];
                buffer.get(position, got);
                assertArrayEquals(expected, got, "encrypt " + sectorSize + " x " + count);
                xts.decrypt(buffer.position(position), buffer, firstIv, sectorSize);
                buffer.get(position, got);
                assertArrayEquals(plain, got, "decrypt " + sectorSize + " x " + count);
            }
        }
    }

    @Test
    void fromOneDirectBufferToAnotherEqualsArraysOnEveryEngine() {
        SplittableRandom rnd = new SplittableRandom(0x7B0FFE75L);
        for (Engine engine : Engines.available()) {
            for (int sectorSize : new int[] {512, 4096, 65536}) {
                int n = sectorSize * (1 + rnd.nextInt(3));
                int srcPosition = rnd.nextInt(64);
                int dstPosition = rnd.nextInt(64);
                byte[] plain = new byte[n];
                rnd.nextBytes(plain);
                long firstIv = (rnd.nextLong() >>> 30) * (sectorSize / 512);
                try (XtsKey key = XtsKey.of(DifferentialTest.randomKey(rnd, 64))) {
                    SectorCipher xts = SectorCipher.of(key, engine);
                    byte[] expected = new byte[n];
                    xts.encrypt(plain, 0, expected, 0, n, firstIv, sectorSize);
                    ByteBuffer src = ByteBuffer.allocateDirect(srcPosition + n);
                    src.position(srcPosition).put(plain).position(srcPosition);
                    // dst has more room than src has bytes: only src.remaining() are written.
                    ByteBuffer dst = ByteBuffer.allocateDirect(dstPosition + n + 32).position(dstPosition);
                    xts.encrypt(src, dst, firstIv, sectorSize);
                    assertEquals(srcPosition + n, src.position());
                    assertEquals(dstPosition + n, dst.position());
                    byte[] got = new byte[n];
                    dst.get(dstPosition, got);
                    assertArrayEquals(expected, got, engine + " encrypt " + sectorSize);
                    assertEquals(0, dst.get(dstPosition + n), engine + " wrote past the data");
                    ByteBuffer back = ByteBuffer.allocateDirect(n);
                    xts.decrypt(dst.position(dstPosition).limit(dstPosition + n), back, firstIv, sectorSize);
                    back.get(0, got);
                    assertArrayEquals(plain, got, engine + " decrypt " + sectorSize);
                }
            }
        }
    }

    @Test
    void directBuffersThatPartlyOverlapAreRefusedOnEveryEngine() {
        for (Engine engine : Engines.available()) {
            try (XtsKey key = XtsKey.of(DifferentialTest.randomKey(new SplittableRandom(3), 64))) {
                SectorCipher xts = SectorCipher.of(key, engine);
                ByteBuffer whole = ByteBuffer.allocateDirect(8192);
                ByteBuffer src = whole.slice(0, 4096);
                ByteBuffer dst = whole.slice(512, 4096);
                IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(
                        IllegalArgumentException.class, () -> xts.encrypt(src, dst, 0, 4096));
                assertEquals(Checks.PARTIAL_OVERLAP, e.getMessage(), engine.id());
                assertEquals(0, src.position(), "nothing consumed");
                // The same memory through two buffer objects is in place, and allowed.
                xts.encrypt(whole.slice(0, 4096), whole.slice(0, 4096), 0, 4096);
            }
        }
    }
}
