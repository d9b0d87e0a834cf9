package io.sectorcrypt.bench;

import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.hctr2.Hctr2Engine;
import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The pure-Java HCTR2 against the pure-Java XTS engine on the same work: one call =
 * {@code batch} consecutive sectors of {@code sectorSize} bytes, in place, off-heap, the
 * sector number advancing each call as on a disk (dm-crypt plain64 IVs in 512-byte units).
 * AES-256 both: HCTR2-AES-256 (32-byte key) and XTS-AES-256 (64-byte key). Throughput is
 * in calls per second: bytes per second = score x sectorSize x batch.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class Hctr2Benchmark {
    /**
     * "hctr2-java" or "hctr2-native" (io.sectorcrypt.hctr2, Hctr2Engine.JAVA / NATIVE_AESNI), or
     * "xts-java" or "xts-aesni" (io.sectorcrypt.xts, Engine.JAVA / AESNI: the same xmm tier as native HCTR2).
     */
    @Param({"hctr2-java", "hctr2-native", "xts-java", "xts-aesni"})
    public String cipher;

    @Param({"4096"})
    public int sectorSize;

    @Param({"1"})
    public int batch;

    private Arena arena;
    private Hctr2Key hctr2Key;
    private Hctr2 hctr2;
    private XtsKey xtsKey;
    private SectorCipher xts;
    private MemorySegment segment;
    private long sector;
    private long ivStep;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        segment = arena.allocate((long) sectorSize * batch, 64);
        ivStep = BenchKeys.ivConvention(sectorSize).ivStep(sectorSize);
        switch (cipher) {
            case "hctr2-java", "hctr2-native" -> {
                hctr2Key = Hctr2Key.of(BenchKeys.key(32));
                hctr2 = Hctr2.of(hctr2Key, cipher.equals("hctr2-java") ? Hctr2Engine.JAVA : Hctr2Engine.NATIVE_AESNI,
                        BenchKeys.ivConvention(sectorSize));
            }
            case "xts-java", "xts-aesni" -> {
                xtsKey = XtsKey.of(BenchKeys.key(64));
                xts = SectorCipher.of(xtsKey, cipher.equals("xts-java") ? Engine.JAVA : Engine.AESNI,
                        BenchKeys.ivConvention(sectorSize));
            }
            default -> throw new IllegalArgumentException("unknown cipher " + cipher
                    + "; hctr2-java, hctr2-native, xts-java or xts-aesni");
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (hctr2Key != null) {
            hctr2Key.close();
        }
        if (xtsKey != null) {
            xtsKey.close();
        }
        arena.close();
    }

    @Benchmark
    public void encrypt() {
        long iv = sector * ivStep;
        sector += batch;
        if (hctr2 != null) {
            hctr2.encryptSectors(segment, segment, iv, sectorSize);
        } else {
            xts.encrypt(segment, segment, iv, sectorSize);
        }
    }

    @Benchmark
    public void decrypt() {
        long iv = sector * ivStep;
        sector += batch;
        if (hctr2 != null) {
            hctr2.decryptSectors(segment, segment, iv, sectorSize);
        } else {
            xts.decrypt(segment, segment, iv, sectorSize);
        }
    }
}
