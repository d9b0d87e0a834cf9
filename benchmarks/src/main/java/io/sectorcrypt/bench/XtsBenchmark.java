package io.sectorcrypt.bench;

import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
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
import org.openjdk.jmh.infra.BenchmarkParams;

/**
 * One call = {@code batch} consecutive sectors of {@code sectorSize} bytes, in place, on
 * one engine. The buffer is reused, so data up to 64 KiB stays in L1/L2 (this measures
 * the engine, not memory); 1 MiB runs from L2/L3, and images larger than the caches are
 * bounded by memory bandwidth (~4.5-5.5 GB/s here), a different figure. Throughput is in
 * calls per second: bytes per second = score x sectorSize x batch. The sector number
 * advances each call, as on a disk.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class XtsBenchmark {
    @Param({"java", "native-aesni", "native-vaes256", "native-vaes512"})
    public String engine;

    @Param({"512", "4096", "65536", "1048576"})
    public int sectorSize;

    @Param({"1"})
    public int batch;

    @Param({"NATIVE"})
    public Memory memory;

    @Param({"64"})
    public int keyBytes;

    private Arena arena;
    private XtsKey key;
    private SectorCipher xts;
    private MemorySegment segment;
    private byte[] array;
    private ByteBuffer buffer;
    private long sector;
    private long ivStep;
    private int length;

    @Setup(Level.Trial)
    public void setUp(BenchmarkParams params) throws Exception {
        Engine e = Engine.parse(engine);
        if (!e.isAvailable()) {
            throw new IllegalStateException(engine + " cannot run here: " + e.unavailableReason());
        }
        arena = Arena.ofShared();
        key = XtsKey.of(BenchKeys.key(keyBytes));
        xts = SectorCipher.of(key, e, BenchKeys.ivConvention(sectorSize));
        ivStep = xts.ivConvention().ivStep(sectorSize);
        length = sectorSize * batch;
        Object data = memory.allocate(arena, length);
        switch (memory) {
            case NATIVE -> segment = (MemorySegment) data;
            case HEAP -> array = (byte[]) data;
            case DIRECT -> buffer = (ByteBuffer) data;
        }
        JitWarmUp.untilCompiled(params.getBenchmark().endsWith(".decrypt") ? this::decrypt : this::encrypt);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        key.close();
        arena.close();
    }

    @Benchmark
    public void encrypt() {
        long s = sector * ivStep;
        sector += batch;
        switch (memory) {
            case NATIVE -> xts.encrypt(segment, segment, s, sectorSize);
            case HEAP -> xts.encrypt(array, 0, array, 0, length, s, sectorSize);
            case DIRECT -> xts.encrypt(buffer.clear(), buffer, s, sectorSize); // in place: one buffer
        }
    }

    @Benchmark
    public void decrypt() {
        long s = sector * ivStep;
        sector += batch;
        switch (memory) {
            case NATIVE -> xts.decrypt(segment, segment, s, sectorSize);
            case HEAP -> xts.decrypt(array, 0, array, 0, length, s, sectorSize);
            case DIRECT -> xts.decrypt(buffer.clear(), buffer, s, sectorSize);
        }
    }
}
