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
 * HCTR2 against XTS on the same work, engine by engine: one call =
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
     * "hctr2-ENGINE" (io.sectorcrypt.hctr2, Hctr2Engine.parse(ENGINE)) or "xts-ENGINE"
     * (io.sectorcrypt.xts, Engine.parse(ENGINE)), ENGINE being java, native (the best native
     * tier here, the same for both ciphers), aesni, vaes256 or vaes512; e.g.
     * {@code -p cipher=hctr2-vaes256,xts-vaes256} compares one tier. A tier the CPU lacks
     * fails its setup, saying why.
     */
    @Param({"hctr2-java", "hctr2-native", "xts-java", "xts-native"})
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
        if (cipher.startsWith("hctr2-")) {
            hctr2Key = Hctr2Key.of(BenchKeys.key(32));
            hctr2 = Hctr2.of(hctr2Key, Hctr2Engine.parse(cipher.substring("hctr2-".length())),
                    BenchKeys.ivConvention(sectorSize));
            if (!hctr2.engine().isAvailable()) {
                throw new IllegalStateException(cipher + ": " + hctr2.engine().unavailableReason());
            }
        } else if (cipher.startsWith("xts-")) {
            xtsKey = XtsKey.of(BenchKeys.key(64));
            xts = SectorCipher.of(xtsKey, Engine.parse(cipher.substring("xts-".length())),
                    BenchKeys.ivConvention(sectorSize));
        } else {
            throw new IllegalArgumentException("unknown cipher " + cipher + "; hctr2-ENGINE or xts-ENGINE");
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
