package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class EngineTest {

    @Test
    void parsesEveryName() {
        assertEquals(Engine.JAVA, Engine.parse("java"));
        assertEquals(Engine.AESNI, Engine.parse("aesni"));
        assertEquals(Engine.VAES256, Engine.parse("VAES256"));
        assertEquals(Engine.VAES512, Engine.parse("native-vaes512"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Engine.parse("fast"));
        assertEquals("unknown engine 'fast'; choose one of java, native, aesni, vaes256, vaes512", e.getMessage());
    }

    @Test
    void theJavaEngineAlwaysRuns() {
        assertTrue(Engine.JAVA.isAvailable());
        assertNull(Engine.JAVA.unavailableReason());
    }

    @Test
    void bestIsTheWidestAvailableTier() {
        Engine widest = Arrays.stream(Engine.values()).filter(Engine::isAvailable).reduce((a, b) -> b).orElseThrow();
        assertEquals(widest, Engine.best());
        assertEquals(Engine.best(), Engine.selected()); // no -Dsectorcrypt.engine in this JVM
    }

    /**
     * Cross-checks the kernel's CPUID reading against the kernel's own view in
     * /proc/cpuinfo: every tier the flags allow must be available (and have passed its
     * self-test). On this project's CI machines that is all three native tiers.
     */
    @Test
    void everyTierTheCpuFlagsAllowIsAvailable() throws IOException {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        assumeTrue(Files.isReadable(cpuinfo) && System.getProperty("os.arch").equals("amd64"));
        List<String> flags = Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags"))
                .findFirst().map(l -> List.of(l.substring(l.indexOf(':') + 1).trim().split(" "))).orElseThrow();
        boolean aesni = flags.containsAll(List.of("aes", "pclmulqdq", "sse4_1"));
        boolean vaes256 = aesni && flags.containsAll(List.of("avx2", "vaes", "vpclmulqdq"));
        boolean vaes512 = vaes256 && flags.containsAll(List.of("avx512f", "avx512bw", "avx512vl"));
        assertEquals(aesni, Engine.AESNI.isAvailable(), String.valueOf(Engine.AESNI.unavailableReason()));
        assertEquals(vaes256, Engine.VAES256.isAvailable(), String.valueOf(Engine.VAES256.unavailableReason()));
        assertEquals(vaes512, Engine.VAES512.isAvailable(), String.valueOf(Engine.VAES512.unavailableReason()));
    }

    @Test
    void missingFeaturesAreNamedWithTheFix() {
        int aesOnly = NativeXts.SC_CPU_AES | NativeXts.SC_CPU_PCLMULQDQ | NativeXts.SC_CPU_SSE41;
        assertEquals("the CPU lacks AVX2, VAES, VPCLMULQDQ (no fix: a newer CPU, or a VM that passes these flags"
                + " through)", EngineSelection.missingFeatures(Engine.VAES256, aesOnly));
        int vaes = aesOnly | NativeXts.SC_CPU_AVX | NativeXts.SC_CPU_AVX2 | NativeXts.SC_CPU_VAES
                | NativeXts.SC_CPU_VPCLMULQDQ | NativeXts.SC_CPU_AVX512F | NativeXts.SC_CPU_AVX512BW
                | NativeXts.SC_CPU_AVX512VL;
        assertEquals("the OS does not save ymm registers (XCR0); enable AVX in the kernel or hypervisor",
                EngineSelection.missingFeatures(Engine.VAES256, vaes));
        assertEquals("the OS does not save zmm/opmask registers (XCR0); enable AVX-512 in the kernel or hypervisor",
                EngineSelection.missingFeatures(Engine.VAES512, vaes | NativeXts.SC_OS_YMM));
    }

    @Test
    void anUnavailableEngineIsAClearError() {
        for (Engine e : Engine.values()) {
            if (!e.isAvailable()) {
                XtsKey key = XtsKey.of(DifferentialTest.randomKey(new java.util.SplittableRandom(3), 64));
                IllegalStateException ex = assertThrows(IllegalStateException.class, () -> SectorCipher.of(key, e));
                assertTrue(ex.getMessage().startsWith("engine " + e.id() + " cannot run here: "));
                key.close();
            }
        }
    }
}
