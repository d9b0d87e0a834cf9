/* The AES ceilings for benchmarks (see sc_bench.h): AES rounds alone at each vector width. */
#include <cpuid.h>
#include <stdatomic.h>
#include <immintrin.h>
#include <string.h>

#include "sc_bench.h"

#define NV 8 /* registers in flight, at every width */

#define TARGET_XMM __attribute__((target("aes")))
#define TARGET_YMM __attribute__((target("aes,avx,avx2,vaes")))
#define TARGET_ZMM __attribute__((target("aes,avx,avx2,avx512f,avx512bw,avx512vl,vaes")))
#define INLINE static inline __attribute__((always_inline))

/* One body per width; nr is a constant in each caller, so the round loop is unrolled. */
#define ECB_BODY(vec, BYTES, LOAD, STORE, XOR, ENC, ENCLAST, BCAST)                        \
    vec rk[15];                                                                            \
    for (int r = 0; r <= nr; r++)                                                          \
        rk[r] = BCAST(round_keys[r]);                                                      \
    size_t i = 0;                                                                          \
    for (; i + BYTES * NV <= len; i += BYTES * NV) {                                       \
        vec x[NV];                                                                         \
        _Pragma("GCC unroll 8") for (int j = 0; j < NV; j++)                               \
            x[j] = XOR(LOAD(in + i + BYTES * j), rk[0]);                                   \
        for (int r = 1; r < nr; r++) {                                                     \
            _Pragma("GCC unroll 8") for (int j = 0; j < NV; j++)                           \
                x[j] = ENC(x[j], rk[r]);                                                   \
        }                                                                                  \
        _Pragma("GCC unroll 8") for (int j = 0; j < NV; j++)                               \
            STORE(out + i + BYTES * j, ENCLAST(x[j], rk[nr]));                             \
    }                                                                                      \
    for (; i < len; i += BYTES) {                                                          \
        vec x = XOR(LOAD(in + i), rk[0]);                                                  \
        for (int r = 1; r < nr; r++)                                                       \
            x = ENC(x, rk[r]);                                                             \
        STORE(out + i, ENCLAST(x, rk[nr]));                                                \
    }

#define XMM_LOAD(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define XMM_STORE(p, v) _mm_storeu_si128((__m128i *)(void *)(p), (v))
#define YMM_LOAD(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))
#define YMM_STORE(p, v) _mm256_storeu_si256((__m256i *)(void *)(p), (v))
#define YMM_BCAST(k) _mm256_broadcastsi128_si256(XMM_LOAD(k))
#define ZMM_LOAD(p) _mm512_loadu_si512((const void *)(p))
#define ZMM_STORE(p, v) _mm512_storeu_si512((void *)(p), (v))
#define ZMM_BCAST(k) _mm512_broadcast_i32x4(XMM_LOAD(k))

TARGET_XMM INLINE void ecb_xmm(const uint8_t round_keys[15][16], int nr, const uint8_t *in, uint8_t *out,
                               size_t len)
{
    ECB_BODY(__m128i, 16, XMM_LOAD, XMM_STORE, _mm_xor_si128, _mm_aesenc_si128, _mm_aesenclast_si128, XMM_LOAD)
}

TARGET_YMM INLINE void ecb_ymm(const uint8_t round_keys[15][16], int nr, const uint8_t *in, uint8_t *out,
                               size_t len)
{
    ECB_BODY(__m256i, 32, YMM_LOAD, YMM_STORE, _mm256_xor_si256, _mm256_aesenc_epi128, _mm256_aesenclast_epi128,
             YMM_BCAST)
}

TARGET_ZMM INLINE void ecb_zmm(const uint8_t round_keys[15][16], int nr, const uint8_t *in, uint8_t *out,
                               size_t len)
{
    ECB_BODY(__m512i, 64, ZMM_LOAD, ZMM_STORE, _mm512_xor_si512, _mm512_aesenc_epi128, _mm512_aesenclast_epi128,
             ZMM_BCAST)
}

/* Out of line and specialised per key size, so the round loops have constant bounds. */
TARGET_XMM __attribute__((noinline)) static void ceiling_xmm(const uint8_t rk[15][16], int nr, const uint8_t *in,
                                                             uint8_t *out, size_t len)
{
    if (nr == 14)
        ecb_xmm(rk, 14, in, out, len);
    else
        ecb_xmm(rk, 10, in, out, len);
}

TARGET_YMM __attribute__((noinline)) static void ceiling_ymm(const uint8_t rk[15][16], int nr, const uint8_t *in,
                                                             uint8_t *out, size_t len)
{
    if (nr == 14)
        ecb_ymm(rk, 14, in, out, len);
    else
        ecb_ymm(rk, 10, in, out, len);
}

TARGET_ZMM __attribute__((noinline)) static void ceiling_zmm(const uint8_t rk[15][16], int nr, const uint8_t *in,
                                                             uint8_t *out, size_t len)
{
    if (nr == 14)
        ecb_zmm(rk, 14, in, out, len);
    else
        ecb_zmm(rk, 10, in, out, len);
}

/* The first requirement of width that this CPU or OS lacks, or NULL if it has them all:
 * the same features sc_cpu_tiers asks of the XTS tier of that width. */
static const char *missing(int width)
{
    uint32_t a, b, c, d;
    if (width != SCB_WIDTH_XMM && width != SCB_WIDTH_YMM && width != SCB_WIDTH_ZMM)
        return "unknown width (not 128, 256 or 512)";
    if (!__get_cpuid(1, &a, &b, &c, &d))
        return "CPUID leaf 1 is missing";
    if (!(c & bit_AES))
        return "the CPU lacks AES-NI";
    if (width == SCB_WIDTH_XMM)
        return NULL;
    const uint32_t c1 = c;
    uint32_t b7 = 0, c7 = 0;
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        b7 = b;
        c7 = c;
    }
    if (!(c1 & bit_AVX) || !(b7 & bit_AVX2))
        return "the CPU lacks AVX2";
    if (!(c7 & bit_VAES))
        return "the CPU lacks VAES";
    if (!(c1 & bit_OSXSAVE))
        return "the OS does not enable ymm state (no OSXSAVE)";
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 0x06) != 0x06)
        return "the OS does not enable ymm state (XCR0)";
    if (width == SCB_WIDTH_YMM)
        return NULL;
    if (!(b7 & bit_AVX512F) || !(b7 & bit_AVX512BW) || !(b7 & bit_AVX512VL))
        return "the CPU lacks AVX-512 (F, BW, VL)";
    if ((lo & 0xe6) != 0xe6)
        return "the OS does not enable zmm state (XCR0)";
    return NULL;
}

/* Bit 0: known; bits 1-3: xmm, ymm, zmm run here. Decided once: CPUID traps to the
 * hypervisor in a VM (microseconds), far too slow to ask on every call. */
static _Atomic uint32_t cached_widths;

static int runs(int width)
{
    uint32_t w = atomic_load_explicit(&cached_widths, memory_order_relaxed);
    if (!(w & 1u)) {
        /* Racing threads compute the same value; the last store wins harmlessly. */
        w = 1u | (missing(SCB_WIDTH_XMM) ? 0u : 2u) | (missing(SCB_WIDTH_YMM) ? 0u : 4u)
            | (missing(SCB_WIDTH_ZMM) ? 0u : 8u);
        atomic_store_explicit(&cached_widths, w, memory_order_relaxed);
    }
    return width == SCB_WIDTH_XMM ? (w & 2u) != 0 : width == SCB_WIDTH_YMM ? (w & 4u) != 0
         : width == SCB_WIDTH_ZMM ? (w & 8u) != 0 : 0;
}

int scb_ceiling_unavailable(int width, char *reason, size_t reason_len)
{
    const char *why = missing(width);
    if (!why)
        return SCB_OK;
    if (reason && reason_len > 0) {
        size_t n = strlen(why);
        if (n >= reason_len)
            n = reason_len - 1;
        memcpy(reason, why, n);
        reason[n] = '\0';
    }
    return SCB_E_WIDTH;
}

int scb_ceiling_ecb(int width, const uint8_t round_keys[15][16], int rounds, const uint8_t *in, uint8_t *out,
                    size_t len)
{
    if (!round_keys || !in || !out || (rounds != 10 && rounds != 14) || len % 64 != 0)
        return SCB_E_ARG;
    if (!runs(width))
        return SCB_E_WIDTH;
    if (width == SCB_WIDTH_XMM)
        ceiling_xmm(round_keys, rounds, in, out, len);
    else if (width == SCB_WIDTH_YMM)
        ceiling_ymm(round_keys, rounds, in, out, len);
    else
        ceiling_zmm(round_keys, rounds, in, out, len);
    return SCB_OK;
}
