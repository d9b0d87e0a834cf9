package io.sectorcrypt.bench;

import io.sectorcrypt.xts.Ceiling;
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
 * The ceiling: AES-256 rounds alone (ECB under key1) on VAES zmm, 4 KiB in L1, called the
 * same way as the engines. No XTS implementation on this core can beat it.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CeilingBenchmark {
    @Param({"4096"})
    public int bytes;

    private Arena arena;
    private XtsKey key;
    private MemorySegment segment;

    @Setup(Level.Trial)
    public void setUp() {
        arena = Arena.ofShared();
        key = XtsKey.of(BenchKeys.key(64));
        segment = arena.allocate(bytes, 4096);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        key.close();
        arena.close();
    }

    @Benchmark
    public void aesRounds() {
        Ceiling.aesRounds(key, segment, segment);
    }
}
