package io.sectorcrypt.bench;

import io.sectorcrypt.bench.AesCeiling.Width;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;
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
 * The ceilings ({@link AesCeiling}): AES-256 rounds alone (ECB, no tweak work) at one vector
 * width, 4 KiB in L1, called the same way as the engines. No XTS tier of that width can beat
 * it. A width this CPU lacks fails its set-up with the reason; {@code sectorcrypt bench}
 * skips those before it starts.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class CeilingBenchmark {
    @Param({"xmm", "ymm", "zmm"})
    public String width;

    @Param({"4096"})
    public int bytes;

    private Arena arena;
    private Width w;
    private MemorySegment roundKeys;
    private MemorySegment segment;

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        w = Width.parse(width);
        String reason = AesCeiling.unavailableReason(w);
        if (reason != null) {
            throw new IllegalStateException(w.id() + " cannot run here: " + reason);
        }
        arena = Arena.ofShared();
        // Random round keys: aesenc's timing does not depend on the key (see AesCeiling).
        byte[] keys = new byte[15 * 16];
        new SplittableRandom(0x5EC7C0DEL).nextBytes(keys);
        roundKeys = arena.allocate(keys.length, 64).copyFrom(MemorySegment.ofArray(keys));
        segment = arena.allocate(bytes, 4096);
        JitWarmUp.untilCompiled(this::aesRounds);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public void aesRounds() {
        AesCeiling.encrypt(w, roundKeys, 14, segment, segment);
    }
}
