/* AES-NI tier: xmm, one block per register, eight blocks in flight to cover the
 * latency of aesenc (4-7 cycles) with its throughput of one or two per cycle. */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,pclmul,sse4.1")

#define TIER aesni
#define vec __m128i
#define LANES 1
#define NV 8
#define V_LOADU(p) _mm_loadu_si128((const __m128i *)(p))
#define V_STOREU(p, v) _mm_storeu_si128((__m128i *)(p), (v))
#define V_XOR(a, b) _mm_xor_si128((a), (b))
#define V_XOR3(a, b, c) _mm_xor_si128(_mm_xor_si128((a), (b)), (c))
#define V_ENC(x, k) _mm_aesenc_si128((x), (k))
#define V_ENCLAST(x, k) _mm_aesenclast_si128((x), (k))
#define V_DEC(x, k) _mm_aesdec_si128((x), (k))
#define V_DECLAST(x, k) _mm_aesdeclast_si128((x), (k))
#define V_LANE0(v) (v)
#define V_MULX(v, k) mulx_xmm_aesni((v), (k))
/* Tweak advance by x^8 with the generic shift-and-clmul multiply: on Zen 4 it measured
 * best of the three forms tried (6.0 GB/s at 4 KiB against 5.8 for byte shifts with
 * clmul and 5.7 for shifts and XORs); see README "Performance" for the tier's limit. */
#define V_MULX_STEP(v) mulx_xmm_aesni((v), NV * LANES)
#define V_SEQ(n) _mm_set_epi64x(0, (long long)(n))

static inline __m128i mulx_xmm_aesni(__m128i t, int k);

/* No variable per-lane shifts before AVX2: each tweak is the previous one times x. */
static inline __attribute__((always_inline)) void fan_aesni(__m128i T, __m128i *tw)
{
    tw[0] = T;
    for (int j = 1; j < NV; j++)
        tw[j] = mulx_xmm_aesni(tw[j - 1], 1);
}

#include "xts_body.inc"
