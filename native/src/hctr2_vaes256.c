/* HCTR2-AES, VAES + VPCLMULQDQ + AVX2 tier: ymm, two blocks per register, eight registers
 * (16 blocks) of XCTR in flight and 16 blocks per POLYVAL reduction. For CPUs with VAES but
 * no AVX-512 (Alder Lake, Zen 3), and for AVX-512 CPUs that clock down under 512-bit load.
 * The bulk loops are in hctr2_vaes_body.inc; dispatched only where sc_cpu_tiers() reports
 * SC_TIER_VAES256. */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,pclmul,sse4.1,avx,avx2,vaes,vpclmulqdq")

#define TIER hctr2_vaes256
#include "hctr2_xmm.inc"

#define vec __m256i
#define LANES 2
#define NV 8
#define V_LOADU(p) _mm256_loadu_si256((const __m256i *)(p))
#define V_STOREU(p, v) _mm256_storeu_si256((__m256i *)(p), (v))
#define V_BCAST(p) _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(p)))
#define V_SPLAT(x) _mm256_broadcastsi128_si256(x)
#define V_ZERO() _mm256_setzero_si256()
#define V_XOR(a, b) _mm256_xor_si256((a), (b))
#define V_XOR3(a, b, c) _mm256_xor_si256(_mm256_xor_si256((a), (b)), (c))
#define V_ENC(x, k) _mm256_aesenc_epi128((x), (k))
#define V_ENCLAST(x, k) _mm256_aesenclast_epi128((x), (k))
#define V_CLMUL(a, b, imm) _mm256_clmulepi64_epi128((a), (b), (imm))
#define V_ADD64(a, b) _mm256_add_epi64((a), (b))
#define V_SEQ(n) _mm256_set_epi64x(0, (long long)(n) + 1, 0, (long long)(n))
#define V_FROM128(x) _mm256_inserti128_si256(_mm256_setzero_si256(), (x), 0)
#define V_BSLLI8(x) _mm256_bslli_epi128((x), 8)
#define V_BSRLI8(x) _mm256_bsrli_epi128((x), 8)
#define V_SWAP64(x) _mm256_shuffle_epi32((x), 0x4e)
#define V_FOLD(v) _mm_xor_si128(_mm256_castsi256_si128(v), _mm256_extracti128_si256((v), 1))
#define V_LOAD_BLOCKS(p, nb) load_blocks_hctr2_vaes256((const uint8_t *)(p), (nb))
#define V_STORE_BLOCKS(p, v, nb) store_blocks_hctr2_vaes256((uint8_t *)(p), (v), (nb))

/* nb = 0, 1 or 2 blocks; a single block is an xmm access, so nothing past it is touched. */
static inline __attribute__((always_inline)) __m256i load_blocks_hctr2_vaes256(const uint8_t *p, int nb)
{
    if (nb == 2)
        return _mm256_loadu_si256((const __m256i *)p);
    if (nb == 1)
        return _mm256_inserti128_si256(_mm256_setzero_si256(), _mm_loadu_si128((const __m128i *)p), 0);
    return _mm256_setzero_si256();
}

static inline __attribute__((always_inline)) void store_blocks_hctr2_vaes256(uint8_t *p, __m256i v, int nb)
{
    if (nb == 2)
        _mm256_storeu_si256((__m256i *)p, v);
    else if (nb == 1)
        _mm_storeu_si128((__m128i *)p, _mm256_castsi256_si128(v));
}

#include "hctr2_vaes_body.inc"
