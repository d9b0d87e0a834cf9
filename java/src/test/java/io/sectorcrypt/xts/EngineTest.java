package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;
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
     * Cross-checks the kernel's CPUID reading against the Linux kernel's own view in
     * /proc/cpuinfo, less the features this JVM's -Dsectorcrypt.cpu.mask hides: every tier
     * the flags allow must be available (and have passed its self-test), and no other.
     */
    @Test
    void everyTierTheCpuFlagsAllowIsAvailable() {
        Optional<List<String>> visible = CpuFlags.visible();
        assumeTrue(visible.isPresent(), "no /proc/cpuinfo flags to compare with (not Linux on x86-64)");
        List<String> flags = visible.get();
        boolean aesni = flags.containsAll(List.of("aes", "pclmulqdq", "sse4_1"));
        boolean vaes256 = aesni && flags.containsAll(List.of("avx", "avx2", "vaes", "vpclmulqdq"));
        boolean vaes512 = vaes256 && flags.containsAll(List.of("avx512f", "avx512bw", "avx512vl"));
        assertEquals(aesni, Engine.AESNI.isAvailable(), String.valueOf(Engine.AESNI.unavailableReason()));
        assertEquals(vaes256, Engine.VAES256.isAvailable(), String.valueOf(Engine.VAES256.unavailableReason()));
        assertEquals(vaes512, Engine.VAES512.isAvailable(), String.valueOf(Engine.VAES512.unavailableReason()));
        assertEquals(CpuFlags.expectedBest(flags), Engine.best());
    }

    @Test
    void missingFeaturesAreNamedWithTheFix() {
        int aesOnly = NativeXts.SC_CPU_AES | NativeXts.SC_CPU_PCLMULQDQ | NativeXts.SC_CPU_SSE41;
        assertEquals("the CPU lacks AVX, AVX2, VAES, VPCLMULQDQ (no fix: a newer CPU, or a VM that passes these flags"
                + " through)", EngineSelection.missingFeatures(Engine.VAES256, aesOnly, aesOnly));
        int vaes = aesOnly | NativeXts.SC_CPU_AVX | NativeXts.SC_CPU_AVX2 | NativeXts.SC_CPU_VAES
                | NativeXts.SC_CPU_VPCLMULQDQ | NativeXts.SC_CPU_AVX512F | NativeXts.SC_CPU_AVX512BW
                | NativeXts.SC_CPU_AVX512VL;
        assertEquals("the OS does not save ymm registers (XCR0); enable AVX in the kernel or hypervisor",
                EngineSelection.missingFeatures(Engine.VAES256, vaes, vaes));
        int ymm = vaes | NativeXts.SC_OS_YMM;
        assertEquals("the OS does not save zmm/opmask registers (XCR0); enable AVX-512 in the kernel or hypervisor",
                EngineSelection.missingFeatures(Engine.VAES512, ymm, ymm));
        int all = ymm | NativeXts.SC_OS_ZMM;
        int masked = all & ~EngineSelection.parseMask("vaes, avx512");
        assertEquals("-Dsectorcrypt.cpu.mask=" + System.getProperty("sectorcrypt.cpu.mask") + " hides VAES, AVX-512F,"
                + " AVX-512BW, AVX-512VL", EngineSelection.missingFeatures(Engine.VAES512, masked, all));
    }

    @Test
    void theMaskTakesCpuinfoNamesAndRefusesOthers() {
        assertEquals(0, EngineSelection.parseMask(null));
        assertEquals(0, EngineSelection.parseMask(" "));
        assertEquals(NativeXts.SC_CPU_VAES | NativeXts.SC_CPU_AVX512F | NativeXts.SC_CPU_AVX512BW
                | NativeXts.SC_CPU_AVX512VL, EngineSelection.parseMask("VAES,avx512"));
        assertEquals(NativeXts.SC_CPU_SSE41, EngineSelection.parseMask("sse4.1"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> EngineSelection.parseMask("vaes,sha"));
        assertEquals("-Dsectorcrypt.cpu.mask=vaes,sha: unknown CPU feature 'sha'; choose from aes, pclmulqdq, sse4_1,"
                + " avx, avx2, vaes, vpclmulqdq, avx512, avx512f, avx512bw, avx512vl", e.getMessage());
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
