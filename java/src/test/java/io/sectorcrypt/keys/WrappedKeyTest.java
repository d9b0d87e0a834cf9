package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class WrappedKeyTest {
    private static final WrappedKey SAMPLE = new WrappedKey(WrapAlgorithm.RSA_OAEP_256, "vault-1", "customer-key", 7,
            bytes(256, 3));

    private static byte[] bytes(int n, int seed) {
        byte[] b = new byte[n];
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i * 31 + seed);
        }
        return b;
    }

    @Test
    void roundTripsEveryField() {
        WrappedKey back = WrappedKey.decode(SAMPLE.encode());
        assertEquals(SAMPLE, back);
        assertEquals(WrapAlgorithm.RSA_OAEP_256, back.algorithm());
        assertEquals("vault-1/customer-key/7", back.keyReference());
        assertArrayEquals(bytes(256, 3), back.wrapped());
    }

    @Test
    void layoutIsTheDocumentedOne() {
        byte[] e = new WrappedKey(WrapAlgorithm.AES_KWP, "v", "k", 1, new byte[72]).encode();
        assertEquals(4 + 1 + 1 + 2 + 2 + 4 + 2 + 72 + 4, e.length);
        assertArrayEquals(new byte[] {'S', 'C', 'W', 'K', 1, 1, 1, 'v', 1, 'k', 0, 0, 0, 1, 0, 72},
                Arrays.copyOf(e, 16));
    }

    @Test
    void everyTruncationIsTheSameGenericError() {
        byte[] e = SAMPLE.encode();
        for (int n = 0; n < e.length; n++) {
            byte[] cut = Arrays.copyOf(e, n);
            assertEquals("invalid wrapped key",
                    assertThrows(InvalidWrappedKeyException.class, () -> WrappedKey.decode(cut)).getMessage());
        }
    }

    @Test
    void everySingleBitFlipIsRejected() {
        byte[] e = SAMPLE.encode();
        for (int bit = 0; bit < e.length * 8; bit++) {
            byte[] flipped = e.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            assertEquals("invalid wrapped key",
                    assertThrows(InvalidWrappedKeyException.class, () -> WrappedKey.decode(flipped)).getMessage(),
                    "bit " + bit);
        }
    }

    @Test
    void trailingBytesOversizeAndNullAreRejected() {
        byte[] e = SAMPLE.encode();
        assertThrows(InvalidWrappedKeyException.class, () -> WrappedKey.decode(Arrays.copyOf(e, e.length + 1)));
        assertThrows(InvalidWrappedKeyException.class,
                () -> WrappedKey.decode(new byte[WrappedKey.MAX_ENCODED_BYTES + 1]));
        assertThrows(InvalidWrappedKeyException.class, () -> WrappedKey.decode(null));
    }

    @Test
    void constructorRefusesOutOfBoundFields() {
        assertEquals("a wrapped key is 16..1024 bytes, not 8", assertThrows(IllegalArgumentException.class,
                () -> new WrappedKey(WrapAlgorithm.AES_KWP, "v", "k", 1, new byte[8])).getMessage());
        assertEquals("key version must be at least 1, not 0", assertThrows(IllegalArgumentException.class,
                () -> new WrappedKey(WrapAlgorithm.AES_KWP, "v", "k", 0, new byte[24])).getMessage());
        assertEquals("key name 'a/b' may hold only letters, digits and . _ @ : - and must start with a letter or digit",
                assertThrows(IllegalArgumentException.class,
                        () -> new WrappedKey(WrapAlgorithm.AES_KWP, "v", "a/b", 1, new byte[24])).getMessage());
    }

    @Test
    void toStringShowsNoWrappedBytes() {
        assertEquals("WrappedKey[RSA-OAEP-256, vault-1/customer-key/7, 256 bytes]", SAMPLE.toString());
    }

    @Test
    void diskKeysRoundTripAndRejectDamage() {
        DiskKeys keys = new DiskKeys("disk-1", "set-1", List.of(
                new DiskKeys.Layer(DiskKeys.Role.CUSTOMER, List.of(SAMPLE, SAMPLE)),
                new DiskKeys.Layer(DiskKeys.Role.INFRASTRUCTURE, List.of(new WrappedKey(WrapAlgorithm.AES_KWP, "p", "k", 2,
                        bytes(72, 1))))));
        byte[] e = keys.encode();
        assertEquals(keys, DiskKeys.decode(e));
        for (int n = 0; n < e.length; n += 7) {
            byte[] cut = Arrays.copyOf(e, n);
            assertEquals("invalid wrapped key",
                    assertThrows(InvalidWrappedKeyException.class, () -> DiskKeys.decode(cut)).getMessage());
        }
        byte[] flipped = e.clone();
        flipped[e.length / 2] ^= 1;
        assertThrows(InvalidWrappedKeyException.class, () -> DiskKeys.decode(flipped));
    }
}
