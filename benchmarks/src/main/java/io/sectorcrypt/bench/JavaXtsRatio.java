package io.sectorcrypt.bench;

import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * The {@code java} engine against the JDK primitives it is bounded by, in one JVM, for issue
 * 13's goal (4096-byte sectors at 0.8x the fastest JDK primitive per direction): AES-256
 * {@code AES/ECB/NoPadding} encrypt and decrypt and {@code AES/CBC/NoPadding} decrypt (4 KiB
 * {@code update}), and XTS on a native segment, a {@code byte[]} and a direct buffer, in
 * place. Each figure is the best of many short samples, taken in rounds over all of them: on
 * a shared, noisy machine the minimum is steadier than JMH's mean, and the ratios are read
 * within one run. Usage: {@code java --enable-native-access=ALL-UNNAMED -cp
 * benchmarks/target/benchmarks.jar io.sectorcrypt.bench.JavaXtsRatio [rounds]}; add
 * {@code -XX:UseAVX=2} to see a CPU without AVX-512 (HotSpot's ECB then goes a block at a time).
 */
public final class JavaXtsRatio {
    private JavaXtsRatio() {
    }

    interface R { void run() throws Exception; }
    static double best(R r, int reps) throws Exception {
        double b = 1e18;
        for (int rep = 0; rep < reps; rep++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 2000; i++) r.run();
            b = Math.min(b, (System.nanoTime() - t0) / 2000.0);
        }
        return b;
    }
    public static void main(String[] a) throws Exception {
        int n = 4096;
        byte[] k = new byte[64]; for (int i = 0; i < 64; i++) k[i] = (byte) (i * 7 + 1);
        XtsKey key = XtsKey.of(k);
        SectorCipher xts = SectorCipher.of(key, Engine.JAVA);
        MemorySegment seg = Arena.global().allocate(n, 64);
        byte[] arr = new byte[n];
        ByteBuffer direct = ByteBuffer.allocateDirect(n);
        byte[] in = new byte[n], out = new byte[n];
        Cipher ecbE = Cipher.getInstance("AES/ECB/NoPadding"); ecbE.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k, 0, 32, "AES"));
        Cipher ecbD = Cipher.getInstance("AES/ECB/NoPadding"); ecbD.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k, 0, 32, "AES"));
        Cipher cbcD = Cipher.getInstance("AES/CBC/NoPadding"); cbcD.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k, 0, 32, "AES"), new IvParameterSpec(new byte[16]));
        long[] sec = {0};
        R[] rs = {
            () -> ecbE.update(in, 0, n, out, 0),
            () -> ecbD.update(in, 0, n, out, 0),
            () -> cbcD.update(in, 0, n, out, 0),
            () -> xts.encrypt(seg, seg, 8 * sec[0]++, n),
            () -> xts.decrypt(seg, seg, 8 * sec[0]++, n),
            () -> xts.encrypt(arr, 0, arr, 0, n, 8 * sec[0]++, n),
            () -> xts.decrypt(arr, 0, arr, 0, n, 8 * sec[0]++, n),
            () -> xts.encrypt(direct.clear(), direct, 8 * sec[0]++, n),
            () -> xts.decrypt(direct.clear(), direct, 8 * sec[0]++, n),
            () -> ecbE.doFinal(in, 0, n, out, 0),
            () -> cbcD.doFinal(in, 0, n, out, 0),
            () -> ecbE.doFinal(in, 0, 16, out, 0),
        };
        String[] names = {"ecb-enc", "ecb-dec", "cbc-dec", "xts-enc-seg", "xts-dec-seg", "xts-enc-arr", "xts-dec-arr", "xts-enc-direct", "xts-dec-direct", "ecb-enc-doFinal", "cbc-dec-doFinal", "ecb-16-doFinal"};
        for (R r : rs) best(r, 50); // warm
        double[] t = new double[rs.length];
        java.util.Arrays.fill(t, 1e18);
        for (int round = 0; round < Integer.parseInt(a.length > 0 ? a[0] : "10"); round++)
            for (int i = 0; i < rs.length; i++) t[i] = Math.min(t[i], best(rs[i], 5));
        for (int i = 0; i < rs.length; i++) System.out.printf("%-16s %8.1f ns  %6.2f GB/s%n", names[i], t[i], n / t[i]);
        double ce = t[0], cd = Math.min(t[1], t[2]);
        System.out.printf("enc/ECB-enc: seg %.2f arr %.2f direct %.2f%n", ce / t[3], ce / t[5], ce / t[7]);
        System.out.printf("dec/best-dec(%s): seg %.2f arr %.2f direct %.2f%n", t[1] < t[2] ? "ECB" : "CBC", cd / t[4], cd / t[6], cd / t[8]);
    }
}
