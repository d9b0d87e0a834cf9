package io.sectorcrypt.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.sectorcrypt.bench.AesCeiling.Width;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.SplittableRandom;
import javax.crypto.Cipher;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Each ceiling is AES-ECB when given a real key schedule; widths this CPU lacks skip with the reason. */
class AesCeilingTest {

    @ParameterizedTest
    @EnumSource(Width.class)
    void isAesEcbUnderARealSchedule(Width width) throws Exception {
        String reason = AesCeiling.unavailableReason(width);
        assumeTrue(reason == null, () -> width.id() + " cannot run here: " + reason);
        for (int keyBytes : new int[] {16, 32}) {
            byte[] key = new byte[keyBytes];
            new SplittableRandom(keyBytes).nextBytes(key);
            byte[] plain = new byte[4096 + 64 * 3]; // also the tail after the 8-register blocks
            new SplittableRandom(5).nextBytes(plain);
            Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
            ecb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key, "AES"));
            byte[] out = new byte[plain.length];
            AesCeiling.encrypt(width, MemorySegment.ofArray(schedule(key)), keyBytes == 16 ? 10 : 14,
                    MemorySegment.ofArray(plain), MemorySegment.ofArray(out));
            assertArrayEquals(ecb.doFinal(plain), out, width + ", AES-" + keyBytes * 8);
        }
    }

    @Test
    void refusesBadArguments() {
        Width width = Width.XMM;
        assumeTrue(AesCeiling.unavailableReason(width) == null, () -> AesCeiling.unavailableReason(width));
        MemorySegment keys = MemorySegment.ofArray(new byte[240]);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AesCeiling.encrypt(width,
                keys, 14, MemorySegment.ofArray(new byte[100]), MemorySegment.ofArray(new byte[100])));
        assertEquals("in and out must be the same length, a multiple of 64 bytes", e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> AesCeiling.encrypt(width, keys, 12,
                MemorySegment.ofArray(new byte[64]), MemorySegment.ofArray(new byte[64])));
        assertEquals("rounds must be 10 or 14, not 12", e.getMessage());
    }

    @Test
    void everyTierThatRunsHasItsOwnCeiling() {
        // Same CPUID and XCR0 checks: a tier cannot run where the ceiling of its width does not.
        for (Width width : Width.values()) {
            if (width.engine().isAvailable()) {
                assertEquals(null, AesCeiling.unavailableReason(width), width.id());
            }
        }
    }

    /** The FIPS 197 key expansion: 15 x 16 bytes, the unused tail zero. */
    static byte[] schedule(byte[] key) {
        int[] sbox = sbox();
        int nk = key.length / 4;
        int nr = nk + 6;
        int[] w = new int[4 * (nr + 1)];
        for (int i = 0; i < nk; i++) {
            w[i] = (key[4 * i] & 0xff) << 24 | (key[4 * i + 1] & 0xff) << 16 | (key[4 * i + 2] & 0xff) << 8
                    | key[4 * i + 3] & 0xff;
        }
        int rcon = 1;
        for (int i = nk; i < w.length; i++) {
            int t = w[i - 1];
            if (i % nk == 0) {
                t = subWord(sbox, Integer.rotateLeft(t, 8)) ^ rcon << 24;
                rcon = xtime(rcon);
            } else if (nk > 6 && i % nk == 4) {
                t = subWord(sbox, t);
            }
            w[i] = w[i - nk] ^ t;
        }
        byte[] out = new byte[15 * 16];
        for (int i = 0; i < w.length; i++) {
            for (int b = 0; b < 4; b++) {
                out[4 * i + b] = (byte) (w[i] >>> (24 - 8 * b));
            }
        }
        return out;
    }

    private static int subWord(int[] sbox, int x) {
        return sbox[x >>> 24] << 24 | sbox[x >>> 16 & 0xff] << 16 | sbox[x >>> 8 & 0xff] << 8 | sbox[x & 0xff];
    }

    private static int xtime(int x) {
        return (x << 1 ^ ((x & 0x80) != 0 ? 0x1b : 0)) & 0xff;
    }

    private static int multiply(int a, int b) {
        int p = 0;
        for (; b != 0; b >>= 1, a = xtime(a)) {
            if ((b & 1) != 0) {
                p ^= a;
            }
        }
        return p;
    }

    /** The AES S-box from its definition: inverse in GF(2^8), then the affine map. */
    private static int[] sbox() {
        int[] s = new int[256];
        for (int x = 0; x < 256; x++) {
            int inv = 0;
            for (int y = 1; y < 256 && x != 0; y++) {
                if (multiply(x, y) == 1) {
                    inv = y;
                    break;
                }
            }
            int r = inv;
            for (int k = 1; k <= 4; k++) {
                r ^= (inv << k | inv >>> (8 - k)) & 0xff;
            }
            s[x] = r ^ 0x63;
        }
        return s;
    }

    /** Under a CPU mask bench stands for the masked CPU: a width whose tier the mask hides has no ceiling either. */
    @Test
    void aMaskedWidthHasNoCeiling() throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(AesCeiling.unavailableReason(Width.YMM) == null,
                "this CPU runs no ymm ceiling to mask: " + AesCeiling.unavailableReason(Width.YMM));
        Process p = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                "--enable-native-access=ALL-UNNAMED", "-Dsectorcrypt.cpu.mask=vaes",
                "-cp", System.getProperty("java.class.path"), PrintCeilings.class.getName()).start();
        assertTrue(p.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "child JVM timed out");
        String out = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertEquals(java.util.List.of("ceiling-xmm: runs", "ceiling-ymm: -Dsectorcrypt.cpu.mask=vaes hides VAES",
                "ceiling-zmm: " + (AesCeiling.unavailableReason(Width.ZMM) == null
                        ? "-Dsectorcrypt.cpu.mask=vaes hides VAES" : AesCeiling.unavailableReason(Width.ZMM))),
                out.lines().toList());
    }
}
