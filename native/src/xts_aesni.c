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
#define V_BCAST(t) (t)
#define V_MULX(v, k) mulx_xmm_aesni((v), (k))
#define V_SEQ(n, s) _mm_set_epi64x(0, (long long)(n))

static inline __m128i mulx_xmm_aesni(__m128i t, int k);

#define XTS_BULK 1

/*
 * The main loop, NV blocks per iteration. Sixteen xmm registers cannot hold NV blocks, NV
 * tweaks, round keys and temporaries (the generic body's loop spilled), so the tweaks live
 * in memory, already XORed with round key 0 and with the last round key: the first XOR
 * takes them as a memory operand and the last round takes its key straight from memory,
 * which leaves exactly the vector work of ECB (XOR, rounds, last round) on the data path.
 * The next NV tweaks are doubled in 64-bit integer registers (the integer ALUs are otherwise
 * idle; vector doubling competes with aesenc for the vector pipes), moved into xmm, XORed
 * with the two keys and stored, one group ahead. Constant time: shifts, masks, XORs only.
 */
static inline __attribute__((always_inline)) __m128i stream_aesni(const uint8_t (*rk)[64], int nr, int enc,
                                                                   const __m128i *Ts, size_t units,
                                                                   size_t groups_per_unit, const uint8_t *in,
                                                                   uint8_t *out)
{
    const __m128i k0 = _mm_loadu_si128((const __m128i *)rk[0]);
    const __m128i kl = _mm_loadu_si128((const __m128i *)rk[nr]);
    __m128i first[NV], last[NV]; /* T_j ^ k0, T_j ^ k_last */
    uint64_t lo = (uint64_t)_mm_cvtsi128_si64(Ts[0]);
    uint64_t hi = (uint64_t)_mm_extract_epi64(Ts[0], 1);
/* Tweak j of the next group (of NV) into nf[j], nl[j], and the doubling to the one after. */
#define GEN(j)                                                                                  \
    do {                                                                                        \
        const __m128i t_ = _mm_set_epi64x((long long)hi, (long long)lo);                       \
        nf[j] = _mm_xor_si128(t_, k0);                                                          \
        nl[j] = _mm_xor_si128(t_, kl);                                                          \
        const uint64_t carry_ = (uint64_t)((int64_t)hi >> 63) & 0x87;                          \
        hi = (hi << 1) | (lo >> 63);                                                            \
        lo = (lo << 1) ^ carry_;                                                                \
    } while (0)
    __m128i nf[NV], nl[NV];
#pragma GCC unroll 16
    for (int j = 0; j < NV; j++)
        GEN(j);
    size_t u = 0, left = groups_per_unit;
    for (;;) {
        __m128i x[NV];
#pragma GCC unroll 16
        for (int j = 0; j < NV; j++) {
            first[j] = nf[j];
            last[j] = nl[j];
        }
        /* Unit boundaries are public (lengths and counts), so branching on them is fine. */
        const int more = !(left == 1 && u + 1 == units);
        if (--left == 0 && more) {
            left = groups_per_unit;
            u++;
            lo = (uint64_t)_mm_cvtsi128_si64(Ts[u]);
            hi = (uint64_t)_mm_extract_epi64(Ts[u], 1);
        }
#pragma GCC unroll 16
        for (int j = 0; j < NV; j++)
            x[j] = _mm_xor_si128(_mm_loadu_si128((const __m128i *)(in + 16 * j)), first[j]);
        /* The next group's tweaks, one per round, spread among the rounds of this group
         * so that they are ready when it ends (made after it, they were a serial chain of
         * integer doublings the next group's first round waited for). */
#pragma GCC unroll 16
        for (int r = 1; r < nr; r++) {
            const __m128i k = _mm_loadu_si128((const __m128i *)rk[r]);
#pragma GCC unroll 16
            for (int j = 0; j < NV; j++)
                x[j] = enc ? _mm_aesenc_si128(x[j], k) : _mm_aesdec_si128(x[j], k);
            if (r <= NV)
                GEN(r - 1);
        }
#pragma GCC unroll 16
        for (int j = 0; j < NV; j++) {
            x[j] = enc ? _mm_aesenclast_si128(x[j], last[j]) : _mm_aesdeclast_si128(x[j], last[j]);
            _mm_storeu_si128((__m128i *)(out + 16 * j), x[j]);
        }
        in += 16 * NV;
        out += 16 * NV;
        if (left == 0)
            break;
    }
#undef GEN
    /* The tweak of the block after the last group: nf[0] ^ k0. */
    return _mm_xor_si128(nf[0], k0);
}

/* Whole groups of one unit (FN(bulk) of xts_body.inc): blocks done, T advanced past them. */
static inline __attribute__((always_inline)) size_t bulk_aesni(const uint8_t (*rk)[64], int nr, int enc,
                                                                __m128i *T, const uint8_t *in, uint8_t *out,
                                                                size_t blocks)
{
    if (blocks < NV)
        return 0;
    *T = stream_aesni(rk, nr, enc, T, 1, blocks / NV, in, out);
    return blocks / NV * NV;
}

/* Tweaks of eight sectors encrypted at once (eight in flight), then the sectors streamed
 * through stream_aesni as one run when they are whole groups long (512 and 4096 bytes):
 * no pipeline drain at sector boundaries. */
#define TWEAK_VECS 8
#define XTS_STREAM_UNITS 1

#include "xts_body.inc"
