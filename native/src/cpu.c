/* CPU and OS feature detection, decided once and cached. */
#include <cpuid.h>
#include <stdatomic.h>

#include "internal.h"

#define FEATURES_KNOWN (1u << 31)

static _Atomic uint32_t cached_features;

/* XGETBV is only legal once CPUID says the OS enabled XSAVE (OSXSAVE). */
static uint64_t read_xcr0(void)
{
    uint32_t eax, edx;
    __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((uint64_t)edx << 32) | eax;
}

static uint32_t detect(void)
{
    uint32_t a, b, c, d, f = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return 0;
    if (c & bit_AES) f |= SC_CPU_AES;
    if (c & bit_PCLMUL) f |= SC_CPU_PCLMULQDQ;
    if (c & bit_SSE4_1) f |= SC_CPU_SSE41;
    int osxsave = (c & bit_OSXSAVE) != 0;
    if (c & bit_AVX) f |= SC_CPU_AVX;
    if (osxsave) {
        uint64_t xcr0 = read_xcr0();
        /* Bits 1-2: SSE and AVX state; 5-7: opmask, upper halves of zmm0-15, zmm16-31. */
        if ((xcr0 & 0x06) == 0x06) f |= SC_OS_YMM;
        if ((xcr0 & 0xe6) == 0xe6) f |= SC_OS_ZMM;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        if (b & bit_AVX2) f |= SC_CPU_AVX2;
        if (b & bit_AVX512F) f |= SC_CPU_AVX512F;
        if (b & bit_AVX512BW) f |= SC_CPU_AVX512BW;
        if (b & bit_AVX512VL) f |= SC_CPU_AVX512VL;
        if (c & bit_VAES) f |= SC_CPU_VAES;
        if (c & bit_VPCLMULQDQ) f |= SC_CPU_VPCLMULQDQ;
    }
    return f;
}

uint32_t sc_cpu_features(void)
{
    uint32_t f = atomic_load_explicit(&cached_features, memory_order_relaxed);
    if (!(f & FEATURES_KNOWN)) {
        /* Racing threads compute the same value; the last store wins harmlessly. */
        f = detect() | FEATURES_KNOWN;
        atomic_store_explicit(&cached_features, f, memory_order_relaxed);
    }
    return f & ~FEATURES_KNOWN;
}

uint32_t sc_cpu_tiers(void)
{
    const uint32_t f = sc_cpu_features();
    const uint32_t aesni = SC_CPU_AES | SC_CPU_PCLMULQDQ | SC_CPU_SSE41;
    const uint32_t vaes256 = aesni | SC_CPU_AVX | SC_CPU_AVX2 | SC_CPU_VAES | SC_CPU_VPCLMULQDQ | SC_OS_YMM;
    const uint32_t vaes512 = vaes256 | SC_CPU_AVX512F | SC_CPU_AVX512BW | SC_CPU_AVX512VL | SC_OS_ZMM;
    uint32_t tiers = 0;
    if ((f & aesni) == aesni) tiers |= 1u << SC_TIER_AESNI;
    if ((f & vaes256) == vaes256) tiers |= 1u << SC_TIER_VAES256;
    if ((f & vaes512) == vaes512) tiers |= 1u << SC_TIER_VAES512;
    return tiers;
}
