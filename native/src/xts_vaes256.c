/* VAES + AVX2 tier: ymm, two blocks per register, four registers (8 blocks) per group.
 * For CPUs with VAES but no AVX-512 (Alder Lake, Zen 3), and for AVX-512 CPUs that
 * clock down under 512-bit load. Four, not eight: with eight, the blocks, their tweaks and
 * last-round keys (24 vectors) overflow AVX2's 16 ymm registers and gcc spilled them every
 * group; four fit, and out-of-order execution overlaps one group's last rounds with the
 * next group's first, which keeps both AES ports busy (measured on a Sapphire Rapids class
 * Xeon: 0.87 -> 0.89 of the ymm ceiling at 4 KiB, 0.90 -> 0.94 in the steady state). */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,pclmul,sse4.1,avx,avx2,vaes,vpclmulqdq")

#define TIER vaes256
#define vec __m256i
#define LANES 2
#define NV 4
#define V_LOADU(p) _mm256_loadu_si256((const __m256i *)(p))
#define V_STOREU(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define V_XOR(a, b) _mm256_xor_si256((a), (b))
#define V_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256((a), (b)), (c))
#define V_ENC(x, k) _mm256_aesenc_epi128((x), (k))
#define V_ENCLAST(x, k) _mm256_aesenclast_epi128((x), (k))
#define V_DEC(x, k) _mm256_aesdec_epi128((x), (k))
#define V_DECLAST(x, k) _mm256_aesdeclast_epi128((x), (k))
#define V_LANE0(v) _mm256_castsi256_si128(v)
#define V_BCAST(t) _mm256_broadcastsi128_si256(t)
/* The 64-bit IV n, zero-extended to 128 bits, in every lane. */
#define V_BIV(n) _mm256_broadcastsi128_si256(_mm_cvtsi64_si128((long long)(n)))
#define V_MULX(v, k) mulx_vaes256((v), (k))
/* Tweak advance by x^(NV*LANES) = x^8: byte shifts, the byte shifted out folded back with
 * one vpclmulqdq (4 ops, port 5 here, away from the AES ports) instead of shifts and XORs
 * (9 ops, no clmul): AVX2 lacks vpternlog, so every saved op counts. The Zen 4 figure once
 * quoted here (11.0 vs 10.2 GB/s) was taken with eight registers and x^16; with four and x^8
 * it has not been measured on Zen 4. */
#define V_ADVANCE(tw) \
    do { for (int a_ = 0; a_ < NV; a_++) (tw)[a_] = mulx_bytes_vaes256((tw)[a_], NV * LANES / 8); } while (0)
#define XTS_INTERLEAVE 1
/* One-unit calls encrypt the tweak in both lanes at once: no vbroadcasti128 on the chain
 * every data block waits for. With eight registers per group this made gcc spill the main
 * loop; with four it does not. */
#define XTS_BCAST_TWEAK 1
#define V_SEQ(n, s) _mm256_set_epi64x(0, (long long)((n) + (s)), 0, (long long)(n))

/* Every lane times x^k (1 <= k <= 56); see mulx_xmm in xts_body.inc. */
static inline __attribute__((always_inline)) __m256i mulx_vaes256(__m256i t, int k)
{
    const __m256i poly = _mm256_set_epi64x(0, 0x87, 0, 0x87);
    __m256i carry = _mm256_srli_epi64(t, 64 - k);
    __m256i r = _mm256_xor_si256(_mm256_slli_epi64(t, k), _mm256_bslli_epi128(carry, 8));
    return _mm256_xor_si256(r, _mm256_clmulepi64_epi128(carry, poly, 0x01));
}

/* Every lane times x^(8m), m <= 7: a byte shift, and the m bytes shifted out (< 2^56)
 * times the polynomial, which fits in the low 64 bits. */
static inline __attribute__((always_inline)) __m256i mulx_bytes_vaes256(__m256i t, int m)
{
    const __m256i poly = _mm256_set_epi64x(0, 0x87, 0, 0x87);
    const __m256i carry = _mm256_bsrli_epi128(t, 16 - m);
    return _mm256_xor_si256(_mm256_bslli_epi128(t, m), _mm256_clmulepi64_epi128(carry, poly, 0x00));
}

/* tw[j] lane l = T * x^(2j + l), T in every lane of b: per-lane shift counts, all from T, so no serial chain. */
static inline __attribute__((always_inline)) void fan_vaes256(__m256i b, __m256i *tw)
{
    const __m256i poly = _mm256_set_epi64x(0, 0x87, 0, 0x87);
    for (int j = 0; j < NV; j++) {
        const long long k0 = 2 * j, k1 = 2 * j + 1;
        const __m256i k = _mm256_set_epi64x(k1, k1, k0, k0);
        /* A shift by 64 yields 0, which is the carry of a shift by 0. */
        __m256i carry = _mm256_srlv_epi64(b, _mm256_sub_epi64(_mm256_set1_epi64x(64), k));
        __m256i r = _mm256_xor_si256(_mm256_sllv_epi64(b, k), _mm256_bslli_epi128(carry, 8));
        tw[j] = _mm256_xor_si256(r, _mm256_clmulepi64_epi128(carry, poly, 0x01));
    }
}

#include "xts_body.inc"
