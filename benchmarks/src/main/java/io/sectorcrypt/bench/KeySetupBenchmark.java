package io.sectorcrypt.bench;

import io.sectorcrypt.xts.XtsKey;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** Key set-up: copy off-heap, expand both schedules, then zero and free (open + close). */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class KeySetupBenchmark {
    @Param({"32", "64"})
    public int keyBytes;

    private byte[] raw;

    @org.openjdk.jmh.annotations.Setup
    public void setUp() {
        raw = BenchKeys.key(keyBytes);
    }

    @Benchmark
    public void openAndClose() {
        XtsKey.of(raw).close();
    }
}
