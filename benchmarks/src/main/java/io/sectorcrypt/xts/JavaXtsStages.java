package io.sectorcrypt.xts;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;

/**
 * Where the {@code java} engine's time goes on one 4096-byte sector on a native segment,
 * stage by stage, beside the JDK primitives it is measured against (issue 13): the sector's
 * 256 tweaks ({@link JavaXts#fillTweaks}), the XOR-in and XOR-out passes, the one-block ECB
 * call that encrypts the sector's tweak, the 4 KiB ECB and CBC-decrypt calls, and the whole
 * engine. Best of many short samples, in rounds, one JVM: the stages' sum against the whole
 * call shows what is left for Java's own work at a given ratio to the primitive. In this
 * package to reach the engine's stages. Usage: {@code java --enable-native-access=ALL-UNNAMED
 * -cp benchmarks/target/benchmarks.jar io.sectorcrypt.xts.JavaXtsStages [rounds]}; add
 * {@code -XX:UseAVX=2} for a CPU without AVX-512.
 */
public final class JavaXtsStages {
    private static final int N = 4096;

    private JavaXtsStages() {
    }

    private interface Stage {
        void run() throws Exception;
    }

    private static double nanosPerCall(Stage stage, int samples) throws Exception {
        double best = Double.MAX_VALUE;
        for (int s = 0; s < samples; s++) {
            long t0 = System.nanoTime();
            for (int i = 0; i < 2000; i++) {
                stage.run();
            }
            best = Math.min(best, (System.nanoTime() - t0) / 2000.0);
        }
        return best;
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 6;
        byte[] k = new byte[64];
        for (int i = 0; i < k.length; i++) {
            k[i] = (byte) (i * 7 + 1);
        }
        long[] tweaks = new long[N / 8];
        long[] los = new long[N / 16];
        long[] his = new long[N / 16];
        byte[] work = new byte[16 + N];
        byte[] out = new byte[N];
        MemorySegment segment = Arena.global().allocate(N, 64);
        Cipher ecb = Cipher.getInstance("AES/ECB/NoPadding");
        ecb.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(k, 0, 32, "AES"));
        Cipher cbc = Cipher.getInstance("AES/CBC/NoPadding");
        cbc.init(Cipher.DECRYPT_MODE, new SecretKeySpec(k, 0, 32, "AES"), new IvParameterSpec(new byte[16]));
        SectorCipher xts = SectorCipher.of(XtsKey.of(k), Engine.JAVA);
        long[] sector = {0};
        String[] names = {"tweaks (256)", "XOR in", "XOR out", "XOR out, CBC-chained", "ECB, 1 block (tweak)",
            "ECB encrypt 4 KiB", "CBC decrypt 4 KiB", "java encrypt", "java decrypt"};
        Stage[] stages = {
            () -> JavaXts.fillTweaks(tweaks, los, his, N / 16, sector[0]++, 0x5EC7L),
            () -> JavaXts.xorIn(work, segment, 0, tweaks, N / 8),
            () -> JavaXts.xorOut(segment, 0, out, tweaks, N / 8),
            () -> JavaXts.xorOutChained(segment, 0, out, tweaks, work, N / 8),
            () -> ecb.doFinal(work, 16, 16, out, 0),
            () -> ecb.doFinal(work, 16, N, out, 0),
            () -> cbc.doFinal(work, 16, N, out, 0),
            () -> xts.encrypt(segment, segment, 8 * sector[0]++, N),
            () -> xts.decrypt(segment, segment, 8 * sector[0]++, N),
        };
        for (Stage stage : stages) {
            nanosPerCall(stage, 40); // warm-up
        }
        double[] best = new double[stages.length];
        java.util.Arrays.fill(best, Double.MAX_VALUE);
        for (int r = 0; r < rounds; r++) {
            for (int i = 0; i < stages.length; i++) {
                best[i] = Math.min(best[i], nanosPerCall(stages[i], 5));
            }
        }
        for (int i = 0; i < stages.length; i++) {
            System.out.printf("%-22s %8.1f ns%n", names[i], best[i]);
        }
        double javaWorkEncrypt = best[0] + best[1] + best[2] + best[4];
        double javaWorkDecrypt = best[0] + best[1] + best[3] + best[4];
        System.out.printf("stages around the AES call: encrypt %.1f ns, decrypt %.1f ns%n", javaWorkEncrypt,
                javaWorkDecrypt);
        System.out.printf("bound from the stages alone: encrypt %.2fx ECB, decrypt %.2fx the faster of ECB and CBC%n",
                best[5] / (best[5] + javaWorkEncrypt),
                Math.min(best[5], best[6]) / (Math.min(best[5], best[6]) + javaWorkDecrypt));
        System.out.printf("measured: encrypt %.2fx ECB, decrypt %.2fx%n", best[5] / best[7],
                Math.min(best[5], best[6]) / best[8]);
    }
}
