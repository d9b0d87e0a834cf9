/* VAES + AVX-512 tier: zmm, four blocks per register, four registers (16 blocks) in flight.
 * Four are enough to cover vaesenc latency at one zmm per cycle, and leave room in the 32
 * zmm registers for both key schedules, the tweaks and temporaries. */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,pclmul,sse4.1,avx,avx2,avx512f,avx512bw,avx512vl,vaes,vpclmulqdq")

#define TIER vaes512
#define vec __m512i
#define LANES 4
#define NV 4
#define V_LOADU(p) _mm512_loadu_si512((const void *)(p))
#define V_STOREU(p, v) _mm512_storeu_si512((void *)(p), (v))
#define V_XOR(a, b) _mm512_xor_si512((a), (b))
/* vpternlogq 0x96 is a ^ b ^ c in one instruction. */
#define V_XOR3(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0x96)
#define V_ENC(x, k) _mm512_aesenc_epi128((x), (k))
#define V_ENCLAST(x, k) _mm512_aesenclast_epi128((x), (k))
#define V_DEC(x, k) _mm512_aesdec_epi128((x), (k))
#define V_DECLAST(x, k) _mm512_aesdeclast_epi128((x), (k))
#define V_LANE0(v) _mm512_castsi512_si128(v)
#define V_BCAST(t) _mm512_broadcast_i32x4(t)
/* The 64-bit IV n, zero-extended to 128 bits, in every lane (one masked vpbroadcastq). */
#define V_BIV(n) _mm512_maskz_set1_epi64(0x55, (long long)(n))
#define XTS_BCAST_TWEAK 1
#define V_MULX(v, k) mulx_vaes512((v), (k))
#define V_ADVANCE(tw) \
    do { for (int a_ = 0; a_ < NV; a_++) (tw)[a_] = mulx_bytes_vaes512((tw)[a_], NV * LANES / 8); } while (0)
#define XTS_INTERLEAVE 1
#define V_SEQ(n, s) _mm512_set_epi64(0, (long long)((n) + 3 * (s)), 0, (long long)((n) + 2 * (s)), \
                                     0, (long long)((n) + (s)), 0, (long long)(n))

/* Every lane times x^k (1 <= k <= 56); see mulx_xmm in xts_body.inc. */
static inline __attribute__((always_inline)) __m512i mulx_vaes512(__m512i t, int k)
{
    const __m512i poly = _mm512_set_epi64(0, 0x87, 0, 0x87, 0, 0x87, 0, 0x87);
    __m512i carry = _mm512_srli_epi64(t, (unsigned)(64 - k));
    __m512i r = _mm512_xor_si512(_mm512_slli_epi64(t, (unsigned)k), _mm512_bslli_epi128(carry, 8));
    return _mm512_xor_si512(r, _mm512_clmulepi64_epi128(carry, poly, 0x01));
}

/* Every lane times x^(8m), m <= 7: a byte shift, and the m bytes shifted out (< 2^56) times
 * the polynomial with one vpclmulqdq (fits in the low 64 bits). On Intel (Ice Lake, Sapphire
 * Rapids) 512-bit vaesenc issues to port 0 only; the byte shifts and vpclmulqdq go to port 5,
 * so the tweak step costs the AES nothing. The earlier form (c ^ c<<1 ^ c<<2 ^ c<<7 with
 * vpsllq and vpternlogq, chosen on Zen 4 where vpclmulqdq shares the AES pipes: 0.88 -> 0.93
 * of the zmm ceiling there) put three vpsllq per tweak vector on port 0, which on this Xeon
 * held the tier at 0.77 of the zmm ceiling at 4 KiB per call; with vpclmulqdq it runs 0.92. */
static inline __attribute__((always_inline)) __m512i mulx_bytes_vaes512(__m512i t, int m)
{
    const __m512i poly = _mm512_set_epi64(0, 0x87, 0, 0x87, 0, 0x87, 0, 0x87);
    const __m512i carry = _mm512_bsrli_epi128(t, 16 - m);
    return _mm512_xor_si512(_mm512_bslli_epi128(t, m), _mm512_clmulepi64_epi128(carry, poly, 0x00));
}

/* tw[j] lane l = T * x^(4j + l), T in every lane of b: per-lane shift counts, all from T, so no serial chain. */
static inline __attribute__((always_inline)) void fan_vaes512(__m512i b, __m512i *tw)
{
    const __m512i poly = _mm512_set_epi64(0, 0x87, 0, 0x87, 0, 0x87, 0, 0x87);
    for (int j = 0; j < NV; j++) {
        const long long k = 4 * j;
        const __m512i kv = _mm512_set_epi64(k + 3, k + 3, k + 2, k + 2, k + 1, k + 1, k, k);
        /* A shift by 64 yields 0, which is the carry of a shift by 0. */
        __m512i carry = _mm512_srlv_epi64(b, _mm512_sub_epi64(_mm512_set1_epi64(64), kv));
        __m512i r = _mm512_xor_si512(_mm512_sllv_epi64(b, kv), _mm512_bslli_epi128(carry, 8));
        tw[j] = _mm512_xor_si512(r, _mm512_clmulepi64_epi128(carry, poly, 0x01));
    }
}

#include "xts_body.inc"
