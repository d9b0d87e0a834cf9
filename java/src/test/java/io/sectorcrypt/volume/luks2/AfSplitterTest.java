package io.sectorcrypt.volume.luks2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.api.Test;

class AfSplitterTest {
    private static final SecureRandom RANDOM = new SecureRandom();

    @ParameterizedTest(name = "{0} bytes, {1} stripes, {2}")
    @CsvSource({"64,4000,sha256", "32,4000,sha256", "32,4000,sha1", "64,4000,sha512", "20,7,sha256",
            "33,3,sha256", "1,1,sha1", "100,2,sha512"})
    void splitThenMergeGivesTheKeyBack(int keyBytes, int stripes, String hash) {
        try (Arena arena = Arena.ofConfined()) {
            byte[] key = new byte[keyBytes];
            RANDOM.nextBytes(key);
            MemorySegment material = AfSplitter.split(MemorySegment.ofArray(key), stripes, hash, RANDOM, arena);
            assertEquals((long) keyBytes * stripes, material.byteSize());
            MemorySegment merged = AfSplitter.merge(material, keyBytes, stripes, hash, arena);
            assertArrayEquals(key, merged.toArray(ValueLayout.JAVA_BYTE));
            if (stripes > 1) {
                // Losing any one stripe loses the key: flip one bit of the first stripe.
                material.set(ValueLayout.JAVA_BYTE, 0, (byte) (material.get(ValueLayout.JAVA_BYTE, 0) ^ 1));
                assertFalse(Arrays.equals(key,
                        AfSplitter.merge(material, keyBytes, stripes, hash, arena).toArray(ValueLayout.JAVA_BYTE)));
            }
        }
    }

    /** Recomputes AFmerge from the LUKS1 specification's pseudo-code, independently, for one case. */
    @Test
    void mergeFollowsTheLuks1Definition() throws Exception {
        int keyBytes = 40; // a digest and a short tail under SHA-256
        int stripes = 5;
        byte[] material = new byte[keyBytes * stripes];
        RANDOM.nextBytes(material);
        byte[] d = new byte[keyBytes];
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < stripes - 1; i++) {
            for (int j = 0; j < keyBytes; j++) {
                d[j] ^= material[i * keyBytes + j];
            }
            byte[] next = new byte[keyBytes];
            for (int piece = 0; piece * 32 < keyBytes; piece++) {
                int len = Math.min(32, keyBytes - piece * 32);
                sha.update(new byte[] {0, 0, 0, (byte) piece});
                sha.update(d, piece * 32, len);
                System.arraycopy(sha.digest(), 0, next, piece * 32, len);
            }
            d = next;
        }
        byte[] expected = new byte[keyBytes];
        for (int j = 0; j < keyBytes; j++) {
            expected[j] = (byte) (d[j] ^ material[(stripes - 1) * keyBytes + j]);
        }
        try (Arena arena = Arena.ofConfined()) {
            assertArrayEquals(expected, AfSplitter.merge(MemorySegment.ofArray(material), keyBytes, stripes,
                    "sha256", arena).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void refusesBadArguments() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment key = MemorySegment.ofArray(new byte[32]);
            assertThrows(IllegalArgumentException.class, () -> AfSplitter.split(key, 0, "sha256", RANDOM, arena));
            assertThrows(IllegalArgumentException.class, () -> AfSplitter.split(key, 4001, "sha256", RANDOM, arena));
            assertThrows(IllegalArgumentException.class, () -> AfSplitter.split(key, 4000, "md5", RANDOM, arena));
            assertThrows(IllegalArgumentException.class,
                    () -> AfSplitter.split(MemorySegment.ofArray(new byte[0]), 4000, "sha256", RANDOM, arena));
            assertThrows(IllegalArgumentException.class,
                    () -> AfSplitter.merge(MemorySegment.ofArray(new byte[100]), 32, 4000, "sha256", arena));
            assertThrows(IllegalArgumentException.class,
                    () -> AfSplitter.merge(MemorySegment.ofArray(new byte[100]), 0, 1, "sha256", arena));
            assertThrows(IllegalArgumentException.class,
                    () -> AfSplitter.merge(MemorySegment.ofArray(new byte[100]), 32, Integer.MAX_VALUE, "sha256",
                            arena));
        }
    }
}
