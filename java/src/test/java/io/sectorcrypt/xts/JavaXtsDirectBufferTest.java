package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/**
 * The Java engine in place on one direct ByteBuffer, which it reads without a segment view
 * (staged chunk by chunk): the same bytes as on a byte[], whatever the buffer's position and
 * byte order, for sectors of one block to several chunks, and the position advanced.
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
}
