package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.params.ParameterizedTest;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Issue 13: once the JIT has compiled a call path, a call allocates nothing, on every engine
 * that runs here, both directions, for each kind of memory: a native segment, a heap byte[],
 * one direct buffer in place, and two direct buffers. Each engine and kind runs in a JVM of
 * its own ({@link AllocationProbe}), as a server that uses one engine and one kind of memory
 * for its I/O: where one process mixes kinds, C2 sees several memory-session classes in the
 * JDK's downcall stub and no longer removes the session a heap or buffer segment carries (32
 * bytes a call on the native engines, measured; a documented limit).
 */
class AllocationFreeTest {

    static Stream<Arguments> cases() {
        return Engines.available().stream().flatMap(e -> AllocationProbe.MEMORY.stream().map(m -> Arguments.of(e, m)));
    }

    @ParameterizedTest(name = "{0} on {1}")
    @MethodSource("cases")
    void aCompiledCallAllocatesNothing(Engine engine, String memory) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        String mask = System.getProperty("sectorcrypt.cpu.mask");
        if (mask != null) {
            cmd.add("-Dsectorcrypt.cpu.mask=" + mask);
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), AllocationProbe.class.getName(), memory));
        cmd.add(engine.id());
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(child.waitFor(5, TimeUnit.MINUTES), "probe timed out");
        assertEquals(0, child.exitValue(), output);
        List<String> lines = output.lines().toList();
        assertEquals(2, lines.size(), output);
        for (String line : lines) {
            double bytesPerCall = Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1));
            assertTrue(bytesPerCall < 1, "still allocates after warm-up, bytes a call: " + line);
        }
    }
}
