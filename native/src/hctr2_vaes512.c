/* HCTR2-AES, VAES + VPCLMULQDQ + AVX-512 tier: zmm, four blocks per register, four
 * registers (16 blocks) of XCTR in flight and 16 blocks per POLYVAL reduction. The bulk
 * loops are in hctr2_vaes_body.inc; dispatched only where sc_cpu_tiers() reports
 * SC_TIER_VAES512. */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,pclmul,sse4.1,avx,avx2,avx512f,avx512bw,avx512vl,vaes,vpclmulqdq")

#define TIER hctr2_vaes512
#include "hctr2_xmm.inc"

#define vec __m512i
#define LANES 4
#define NV 4
#define V_LOADU(p) _mm512_loadu_si512((const void *)(p))
#define V_STOREU(p, v) _mm512_storeu_si512((void *)(p), (v))
#define V_BCAST(p) _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)(p)))
#define V_SPLAT(x) _mm512_broadcast_i32x4(x)
#define V_ZERO() _mm512_setzero_si512()
#define V_XOR(a, b) _mm512_xor_si512((a), (b))
/* vpternlogq 0x96 is a ^ b ^ c in one instruction. */
#define V_XOR3(a, b, c) _mm512_ternarylogic_epi64((a), (b), (c), 0x96)
#define V_ENC(x, k) _mm512_aesenc_epi128((x), (k))
#define V_ENCLAST(x, k) _mm512_aesenclast_epi128((x), (k))
#define V_CLMUL(a, b, imm) _mm512_clmulepi64_epi128((a), (b), (imm))
#define V_ADD64(a, b) _mm512_add_epi64((a), (b))
#define V_SEQ(n) _mm512_set_epi64(0, (long long)(n) + 3, 0, (long long)(n) + 2, 0, (long long)(n) + 1, 0, (long long)(n))
#define V_FROM128(x) _mm512_inserti32x4(_mm512_setzero_si512(), (x), 0)
#define V_BSLLI8(x) _mm512_bslli_epi128((x), 8)
#define V_BSRLI8(x) _mm512_bsrli_epi128((x), 8)
#define V_SWAP64(x) _mm512_shuffle_epi32((x), (_MM_PERM_ENUM)0x4e)
#define V_FOLD(v) fold_hctr2_vaes512(v)
/* Masked loads and stores touch only the blocks asked for (no fault, no access past them). */
#define V_LOAD_BLOCKS(p, nb) _mm512_maskz_loadu_epi64(block_mask_hctr2_vaes512(nb), (const void *)(p))
#define V_STORE_BLOCKS(p, v, nb) _mm512_mask_storeu_epi64((void *)(p), block_mask_hctr2_vaes512(nb), (v))

static inline __attribute__((always_inline)) __mmask8 block_mask_hctr2_vaes512(int nb)
{
    return (__mmask8)((1u << (2 * nb)) - 1);
}

static inline __attribute__((always_inline)) __m128i fold_hctr2_vaes512(__m512i v)
{
    const __m256i t = _mm256_xor_si256(_mm512_castsi512_si256(v), _mm512_extracti64x4_epi64(v, 1));
    return _mm_xor_si128(_mm256_castsi256_si128(t), _mm256_extracti128_si256(t, 1));
}

#include "hctr2_vaes_body.inc"
