package io.sectorcrypt.bench;

import io.sectorcrypt.xts.JdkAes;
import java.security.GeneralSecurityException;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The ceilings of the {@code java} engine: the JDK's multi-block AES primitives it can build
 * on, AES-256, a 4 KiB {@code update} loop out of place (as issue 13 measured them), from the
 * provider {@value JdkAes#PROVIDER_PROPERTY} names or the JCA's first. {@code ECB_ENCRYPT}
 * bounds XTS encryption, the faster of {@code ECB_DECRYPT} and {@code CBC_DECRYPT} XTS
 * decryption (HotSpot has a multi-block CBC-decrypt intrinsic on every AES-NI CPU, a
 * multi-block ECB one only with AVX-512). Bytes per second = score x bytes.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class JdkAesBenchmark {
    /** What the primitive does. */
    public enum Primitive {
        ECB_ENCRYPT("AES/ECB/NoPadding", Cipher.ENCRYPT_MODE),
        ECB_DECRYPT("AES/ECB/NoPadding", Cipher.DECRYPT_MODE),
        CBC_DECRYPT("AES/CBC/NoPadding", Cipher.DECRYPT_MODE);

        final String transformation;
        final int mode;

        Primitive(String transformation, int mode) {
            this.transformation = transformation;
            this.mode = mode;
        }
    }

    @Param({"ECB_ENCRYPT", "ECB_DECRYPT", "CBC_DECRYPT"})
    public Primitive primitive;

    @Param({"4096"})
    public int bytes;

    private Cipher cipher;
    private byte[] in;
    private byte[] out;

    @Setup(Level.Trial)
    public void setUp() throws GeneralSecurityException {
        byte[] key = new byte[32];
        SplittableRandom random = new SplittableRandom(0x5EC7C0DEL);
        random.nextBytes(key);
        String name = System.getProperty(JdkAes.PROVIDER_PROPERTY);
        cipher = name == null || name.isBlank() ? Cipher.getInstance(primitive.transformation)
                : Cipher.getInstance(primitive.transformation, name.strip());
        SecretKeySpec spec = new SecretKeySpec(key, "AES");
        if (primitive.transformation.contains("CBC")) {
            cipher.init(primitive.mode, spec, new IvParameterSpec(new byte[16]));
        } else {
            cipher.init(primitive.mode, spec);
        }
        in = new byte[bytes];
        out = new byte[bytes];
        random.nextBytes(in);
    }

    @Benchmark
    public int update() throws ShortBufferException {
        return cipher.update(in, 0, bytes, out, 0);
    }

    /** As the engine calls it: doFinal, which a CBC cipher leaves at its initial IV. */
    @Benchmark
    public int doFinal() throws GeneralSecurityException {
        return cipher.doFinal(in, 0, bytes, out, 0);
    }
}
