package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The selection happens once per JVM, so each case runs in a child JVM: forced engines,
 * a missing native library (fallback to Java with one log line), a bad property value.
 */
class EngineSelectionProcessTest {

    record Result(String stdout, String stderr) {
    }

    private static Result run(String... jvmArgs) throws IOException, InterruptedException {
        return runWithEngine(null, jvmArgs);
    }

    /** As {@link #run}, the child asking for {@code engine} by name (null: the selected one). */
    private static Result runWithEngine(String engine, String... jvmArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.addAll(inheritedMask());
        cmd.addAll(List.of(jvmArgs)); // a later -D of the same name wins
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), PrintSelectedEngine.class.getName()));
        if (engine != null) {
            cmd.add(engine);
        }
        Process p = new ProcessBuilder(cmd).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM timed out");
        return new Result(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip(),
                new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).strip());
    }

    /** This JVM's feature mask, so that children select as it does (the suite also runs with VAES masked). */
    private static List<String> inheritedMask() {
        String mask = System.getProperty("sectorcrypt.cpu.mask");
        return mask == null ? List.of() : List.of("-Dsectorcrypt.cpu.mask=" + mask);
    }

    @Test
    void forcedJavaEngine() throws Exception {
        Result r = run("-Dsectorcrypt.engine=java");
        assertEquals("java ok\nend", r.stdout());
        assertEquals("", r.stderr());
    }

    @Test
    void eachNativeTierCanBeForced() throws Exception {
        for (Engine e : Engines.availableNative()) {
            Result r = run("-Dsectorcrypt.engine=" + e.name().toLowerCase(java.util.Locale.ROOT));
            assertEquals(e.id() + " ok\nend", r.stdout());
            assertEquals("", r.stderr(), "no warning on a normal start");
        }
    }

    /**
     * Every CPU class on this machine through the feature mask: the child selects the best
     * tier that /proc/cpuinfo's flags, less the masked ones, allow, and says nothing.
     */
    @Test
    void eachCpuClassSelectsTheBestTierItOffersQuietly() throws Exception {
        java.util.Optional<List<String>> cpuinfo = CpuFlags.cpuinfo();
        assumeTrue(cpuinfo.isPresent(), "no /proc/cpuinfo flags to compare with (not Linux on x86-64)");
        for (String mask : List.of("", "avx512", "vaes", "aes")) {
            List<String> flags = new ArrayList<>(cpuinfo.get());
            flags.removeAll(CpuFlags.masked(mask));
            Result r = run("-Dsectorcrypt.cpu.mask=" + mask);
            assertEquals(CpuFlags.expectedBest(flags).id() + " ok\nend", r.stdout(), "mask '" + mask + "'");
            assertEquals("", r.stderr(), "mask '" + mask + "': a tier the CPU lacks is not worth a log line");
        }
    }

    @Test
    void aMaskedTierCannotBeForcedAndSaysWhy() throws Exception {
        Result r = run("-Dsectorcrypt.cpu.mask=aes", "-Dsectorcrypt.engine=aesni");
        assertEquals("error: -Dsectorcrypt.engine=aesni asks for native-aesni, which cannot run here:"
                + " -Dsectorcrypt.cpu.mask=aes hides AES-NI\nend", r.stdout());
        List<String> lines = r.stderr().lines().filter(l -> l.startsWith("WARNING")).toList();
        assertEquals(1, lines.size(), "one warning for an engine that cannot run: " + r.stderr());
    }

    @Test
    void anUnknownMaskFeatureIsAnError() throws Exception {
        Result r = run("-Dsectorcrypt.cpu.mask=vaes,turbo");
        assertEquals("error: -Dsectorcrypt.cpu.mask=vaes,turbo: unknown CPU feature 'turbo'; choose from aes,"
                + " pclmulqdq, sse4_1, avx, avx2, vaes, vpclmulqdq, avx512, avx512f, avx512bw, avx512vl\nend", r.stdout());
        List<String> lines = r.stderr().lines().filter(l -> l.startsWith("WARNING")).toList();
        assertEquals(1, lines.size(), r.stderr());
        // Not only the default engine: one asked for by name refuses too.
        Result named = runWithEngine("java", "-Dsectorcrypt.cpu.mask=vaes,turbo");
        assertEquals("error: -Dsectorcrypt.cpu.mask=vaes,turbo: unknown CPU feature 'turbo'; choose from aes,"
                + " pclmulqdq, sse4_1, avx, avx2, vaes, vpclmulqdq, avx512, avx512f, avx512bw, avx512vl\nend", named.stdout());
    }

    @Test
    void withoutTheNativeLibraryEverythingRunsOnJavaAfterOneLogLine() throws Exception {
        Result r = run("-Dsectorcrypt.native.library=/nonexistent/libsectorcrypt.so");
        assertEquals("java ok\nend", r.stdout());
        List<String> lines = r.stderr().lines().filter(l -> l.contains("SectorCrypt")).toList();
        assertEquals(1, lines.size(), r.stderr());
        assertTrue(lines.get(0).contains("SectorCrypt native kernel unavailable"
                + " (sectorcrypt.native.library=/nonexistent/libsectorcrypt.so is not a readable file);"
                + " using the pure-Java engine"), r.stderr());
    }

    @Test
    void forcingANativeTierWithoutTheLibraryIsAnError() throws Exception {
        Result r = run("-Dsectorcrypt.native.library=/nonexistent/libsectorcrypt.so", "-Dsectorcrypt.engine=vaes512");
        assertEquals("error: -Dsectorcrypt.engine=vaes512 asks for native-vaes512, which cannot run here:"
                + " sectorcrypt.native.library=/nonexistent/libsectorcrypt.so is not a readable file\nend", r.stdout());
    }

    @Test
    void anUnknownEngineNameIsAnError() throws Exception {
        Result r = run("-Dsectorcrypt.engine=turbo");
        assertEquals("error: -Dsectorcrypt.engine=turbo: unknown engine 'turbo'; choose one of java, native, aesni,"
                + " vaes256, vaes512\nend", r.stdout());
    }

    @Test
    void loadsFromAJarThroughAPrivateTemporaryCopy() throws Exception {
        // The packaged jar is what users get; surefire runs before packaging, so build a
        // jar of target/classes on the fly and load from it.
        java.nio.file.Path classes = java.nio.file.Path.of("target", "classes");
        assumeTrue(java.nio.file.Files.isDirectory(classes));
        java.nio.file.Path jar = java.nio.file.Files.createTempFile("sectorcrypt-test", ".jar");
        try {
            try (var out = new java.util.jar.JarOutputStream(java.nio.file.Files.newOutputStream(jar));
                 var files = java.nio.file.Files.walk(classes)) {
                for (java.nio.file.Path f : (Iterable<java.nio.file.Path>) files.filter(java.nio.file.Files::isRegularFile)::iterator) {
                    out.putNextEntry(new java.util.jar.JarEntry(classes.relativize(f).toString()));
                    java.nio.file.Files.copy(f, out);
                    out.closeEntry();
                }
            }
            String cp = jar + java.io.File.pathSeparator + java.nio.file.Path.of("target", "test-classes");
            List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(),
                    "--enable-native-access=ALL-UNNAMED"));
            cmd.addAll(inheritedMask());
            cmd.addAll(List.of("-cp", cp, PrintSelectedEngine.class.getName()));
            Process p = new ProcessBuilder(cmd).start();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            assertEquals(Engine.best().id() + " ok\nend", stdout);
            assertFalse(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8).contains("WARNING"));
        } finally {
            java.nio.file.Files.deleteIfExists(jar);
        }
    }
}
