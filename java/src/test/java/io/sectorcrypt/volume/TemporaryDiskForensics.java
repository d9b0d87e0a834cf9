package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.zip.Deflater;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;

/**
 * What someone holding a temporary disk's file and a set of keys can learn from it: a
 * recognisable plaintext, an XTS decryption of a file under any key (even ones the engine
 * refuses, such as all zeros), and checks that bytes hold no trace of the plaintext and look
 * random. The decryption is SunJCE's AES with the XTS tweak chain written out here
 * (IEEE 1619-2007 5.3.2), independent of the engine under test.
 */
final class TemporaryDiskForensics {
    /** One line of the plaintext, repeated over the whole disk. */
    static final String LINE = "SectorCrypt temporary disk: once closed, nobody may read this line again.\n";
    /**
     * Chi-square of a byte histogram over 255 degrees of freedom: mean 255, standard deviation
     * 22.6; random bytes exceed 400 with probability about 1e-12, any text by far.
     */
    static final double MAX_CHI_SQUARE = 400;
    /** Deflate shrinks random bytes by nothing (it adds a little); the plaintext to a few percent. */
    static final double MIN_DEFLATED_RATIO = 0.99;

    private TemporaryDiskForensics() {
    }

    /** {@code length} bytes of {@link #LINE}, repeated. */
    static byte[] pattern(int length) {
        byte[] line = LINE.getBytes(StandardCharsets.US_ASCII);
        byte[] p = new byte[length];
        for (int i = 0; i < length; i++) {
            p[i] = line[i % line.length];
        }
        return p;
    }

    /**
     * Asserts that no 8 consecutive bytes of the repeated line occur anywhere in {@code data}:
     * in random bytes a given 8-byte string turns up at one of 4 Mi positions with
     * probability 2^-42, so even a single aligned or unaligned fragment of plaintext fails.
     */
    static void assertNoPlaintext(byte[] data, String what) {
        byte[] line = LINE.getBytes(StandardCharsets.US_ASCII);
        byte[] twice = pattern(2 * line.length);
        long[] needles = new long[line.length];
        ByteBuffer t = ByteBuffer.wrap(twice).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < line.length; i++) {
            needles[i] = t.getLong(i);
        }
        Arrays.sort(needles);
        ByteBuffer d = ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i + 8 <= data.length; i++) {
            if (Arrays.binarySearch(needles, d.getLong(i)) >= 0) {
                fail(what + ": 8 bytes of the plaintext at byte " + i + ": "
                        + new String(data, i, Math.min(40, data.length - i), StandardCharsets.ISO_8859_1));
            }
        }
    }

    /** Asserts that {@code data} looks random: an even byte histogram and no compression. */
    static void assertNoise(byte[] data, String what) {
        assertTrue(chiSquare(data) < MAX_CHI_SQUARE, what + ": its byte histogram is uneven (chi-square "
                + chiSquare(data) + ")");
        assertTrue(deflatedRatio(data) >= MIN_DEFLATED_RATIO, what + ": it compresses to " + deflatedRatio(data));
    }

    static double chiSquare(byte[] data) {
        long[] counts = new long[256];
        for (byte b : data) {
            counts[b & 0xff]++;
        }
        double expected = data.length / 256.0;
        double sum = 0;
        for (long c : counts) {
            sum += (c - expected) * (c - expected) / expected;
        }
        return sum;
    }

    static double deflatedRatio(byte[] data) {
        Deflater d = new Deflater(Deflater.BEST_SPEED);
        d.setInput(data);
        d.finish();
        byte[] out = new byte[64 << 10];
        long total = 0;
        while (!d.finished()) {
            total += d.deflate(out);
        }
        d.end();
        return (double) total / data.length;
    }

    /**
     * Decrypts {@code ciphertext}, whole sectors from IV 0, as dm-crypt's aes-xts-plain64
     * would (IV = sector number in 512-byte units), with a 32- or 64-byte XTS key.
     */
    static byte[] decrypt(byte[] key, byte[] ciphertext, int sectorSize) throws GeneralSecurityException {
        int half = key.length / 2;
        Cipher data = Cipher.getInstance("AES/ECB/NoPadding", "SunJCE");
        data.init(Cipher.DECRYPT_MODE, new SecretKeySpec(key, 0, half, "AES"));
        Cipher tweak = Cipher.getInstance("AES/ECB/NoPadding", "SunJCE");
        tweak.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, half, half, "AES"));
        byte[] out = new byte[ciphertext.length];
        byte[] tweaks = new byte[sectorSize];
        byte[] buf = new byte[sectorSize];
        for (int s = 0; s < ciphertext.length / sectorSize; s++) {
            long iv = (long) s * (sectorSize / 512);
            byte[] t = tweak.doFinal(ByteBuffer.allocate(16).order(ByteOrder.LITTLE_ENDIAN).putLong(iv).array());
            for (int b = 0; b < sectorSize; b += 16) {
                System.arraycopy(t, 0, tweaks, b, 16);
                // T * alpha in GF(2^128), little-endian, reduced by x^128 + x^7 + x^2 + x + 1.
                int carry = 0;
                for (int i = 0; i < 16; i++) {
                    int v = t[i] & 0xff;
                    t[i] = (byte) (v << 1 | carry);
                    carry = v >>> 7;
                }
                if (carry != 0) {
                    t[0] ^= (byte) 0x87;
                }
            }
            int base = s * sectorSize;
            for (int i = 0; i < sectorSize; i++) {
                buf[i] = (byte) (ciphertext[base + i] ^ tweaks[i]);
            }
            data.doFinal(buf, 0, sectorSize, buf, 0);
            for (int i = 0; i < sectorSize; i++) {
                out[base + i] = (byte) (buf[i] ^ tweaks[i]);
            }
        }
        return out;
    }

    /**
     * The keys the system still holds once a temporary disk is gone: the DEK of every other
     * volume (through the vault), each with its halves swapped, the vault's own key file as an
     * XTS-AES-128 key and doubled, and the all-zero key.
     */
    static List<byte[]> keysHeld(VolumeFixture f, Path... volumes) throws IOException {
        List<byte[]> keys = new ArrayList<>();
        for (Path v : volumes) {
            byte[] dek = f.dek(v, null);
            keys.add(dek);
            byte[] swapped = new byte[dek.length];
            System.arraycopy(dek, 32, swapped, 0, 32);
            System.arraycopy(dek, 0, swapped, 32, 32);
            keys.add(swapped);
        }
        byte[] vaultKey = Files.readAllBytes(f.dir.resolve("vault.key"));
        keys.add(vaultKey);
        byte[] doubled = Arrays.copyOf(vaultKey, 2 * vaultKey.length);
        System.arraycopy(vaultKey, 0, doubled, vaultKey.length, vaultKey.length);
        keys.add(doubled);
        keys.add(new byte[64]);
        return keys;
    }

    /**
     * The check: the temporary disk's file holds {@code size} bytes, none of them
     * plaintext, all noise; and so does its decryption, sector by sector, under each key.
     */
    static void assertOnlyNoise(Path temporary, long size, int sectorSize, List<byte[]> keys) throws Exception {
        byte[] file = Files.readAllBytes(temporary);
        assertEquals(size, file.length, "a temporary disk's file is its data, from offset 0, nothing else");
        assertNoPlaintext(file, temporary + " as stored");
        assertNoise(file, temporary + " as stored");
        for (int k = 0; k < keys.size(); k++) {
            byte[] decrypted = decrypt(keys.get(k), file, sectorSize);
            String what = temporary + " decrypted with held key " + k + " (" + keys.get(k).length + " bytes)";
            assertNoPlaintext(decrypted, what);
            assertNoise(decrypted, what);
        }
    }

    /**
     * The control that shows the checks can fail: a normal volume holding the plaintext
     * decrypts to it with its own DEK, through the same decryption and checks.
     */
    static void assertDecryptsToPlaintext(Path volume, byte[] dek, int length) throws Exception {
        byte[] area = new byte[length];
        try (RandomAccessFile raf = new RandomAccessFile(volume.toFile(), "r")) {
            raf.seek(VolumeManager.DATA_OFFSET);
            raf.readFully(area);
        }
        byte[] plain = decrypt(dek, area, VolumeSpec.DEFAULT_SECTOR_SIZE);
        assertTrue(Arrays.equals(pattern(length), plain), volume + " does not decrypt to the plaintext with its DEK");
        assertTrue(chiSquare(plain) > MAX_CHI_SQUARE && deflatedRatio(plain) < MIN_DEFLATED_RATIO,
                "the noise checks pass plaintext");
        AssertionError caught = null;
        try {
            assertNoPlaintext(plain, "control");
        } catch (AssertionError e) {
            caught = e;
        }
        assertTrue(caught != null, "the plaintext check misses plaintext");
    }
}
