/*
 * HCTR2-AES, AES-NI + PCLMULQDQ tier: xmm only and no VEX encoding, so it runs wherever
 * SC_TIER_AESNI does. The construction and the shared single-block steps are in
 * hctr2_xmm.inc; this file adds the tier's bulk loops.
 *
 * Cost per 16 bytes: one AES (XCTR) and two POLYVAL steps. The two hashes share their prefix
 * (length block and tweak), hashed once. The second hash is fused with XCTR: while the AES
 * units make the next group's keystream, the carry-less multiplier hashes the group just
 * written, so the two overlap where the CPU runs them on different ports (on the Xeon the
 * README's figures come from they largely compete, see there). POLYVAL is in Karatsuba
 * form, three multiplies per block.
 */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,pclmul,sse4.1")

#define TIER hctr2_aesni
#include "hctr2_xmm.inc"

/* Blocks in flight for XCTR (covers aesenc latency, as in the XTS tier), and blocks per
 * POLYVAL reduction in the fused loop. */
#define NB 8

/* n (1..16) blocks with one reduction, Karatsuba: three carry-less multiplies per block
 * instead of four (lo, hi, and (a0^a1)(b0^b1) for the middle). */
INLINE __m128i hashn_hctr2_aesni(const sc_hctr2_key *k, __m128i acc, const uint8_t *p, int n)
{
    FN(prod256) q = FN(prod_zero)();
    FN(kclmul_acc)(&q, FN(xor2)(FN(ld)(p), acc), FN(ld)(HPOW(k, n)), FN(ld)(HKAR(k, n)));
#pragma GCC unroll 16
    for (int j = 1; j < n; j++)
        FN(kclmul_acc)(&q, FN(ld)(p + 16 * j), FN(ld)(HPOW(k, n - j)), FN(ld)(HKAR(k, n - j)));
    return FN(kreduce)(q);
}

/* POLYVAL over pad1(X): 16 whole blocks per reduction, the rest of them in one, then the
 * partial block if any. */
static __m128i hash_message_hctr2_aesni(const sc_hctr2_key *k, __m128i acc, const uint8_t *p, size_t len)
{
    size_t nb = len / 16;
    for (; nb >= 16; nb -= 16, p += 256)
        acc = hashn_hctr2_aesni(k, acc, p, 16);
    if (nb) {
        acc = hashn_hctr2_aesni(k, acc, p, (int)nb);
        p += 16 * nb;
    }
    if (len % 16) {
        const __m128i last = FN(load_partial)(p, len % 16, 0x01);
        acc = FN(hash_group)(k, acc, &last, 1);
    }
    return acc;
}

/*
 * XCTR of len bytes from in to out under S, continuing the POLYVAL state acc over pad1 of
 * the output when hash is set: the second hash of either direction is over what XCTR
 * produces (V when encrypting, N when decrypting). Each group's input is loaded before its
 * output is stored, so in == out works.
 *
 * With nx set (sector runs), it also runs the next sector's first hash, over pad1 of the
 * len bytes at nx, from the state *nx_acc, and leaves the result there: one more group of
 * 8 blocks per AES group, so the carry-less multiplier has work while the AES units make
 * keystream (HCTR2 is two-pass within a message, but the next message's first pass does not
 * depend on this one). nx never overlaps out: the entry points refuse any overlap of in and
 * out other than in == out, and nx is a later sector's input.
 */
INLINE __m128i xctr_hash_hctr2_aesni(const sc_hctr2_key *k, int nr, __m128i S, const uint8_t *in, uint8_t *out,
                         size_t len, __m128i acc, int hash, const uint8_t *nx, __m128i *nx_acc)
{
    __m128i acc2 = nx ? *nx_acc : _mm_setzero_si128();
    const size_t nblocks = len / 16, tail = len % 16;
    __m128i ctr = _mm_set_epi64x(0, 1);
    const __m128i step = _mm_set_epi64x(0, NB);
    __m128i d[NB], x[NB];
    size_t i = 0;
    /* Software-pipelined: while group g's keystream goes through the AES rounds, group g-1's
     * output is hashed, one block per round, reloaded from out (just stored, so from L1) to
     * keep 8 AES states, a round key, the three product parts and one data block within the
     * 16 xmm registers. */
    for (; nblocks - i >= NB; i += NB) {
        const int pending = hash && i > 0;
        const uint8_t *prev = out + 16 * (i - NB);
        FN(prod256) p = FN(prod_zero)(), p2 = FN(prod_zero)();
        const __m128i sk = FN(xor2)(S, FN(ld)(k->enc[0]));
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++)
            x[j] = FN(xor2)(sk, _mm_add_epi64(ctr, _mm_set_epi64x(0, j)));
#pragma GCC unroll 14
        for (int r = 1; r < nr; r++) {
            const __m128i rk = FN(ld)(k->enc[r]);
#pragma GCC unroll 8
            for (int j = 0; j < NB; j++)
                x[j] = _mm_aesenc_si128(x[j], rk);
            /* nr - 1 >= 9 rounds here, so all NB blocks fit. */
            if (pending && r <= NB) {
                __m128i b = FN(ld)(prev + 16 * (r - 1));
                if (r == 1)
                    b = FN(xor2)(b, acc);
                FN(kclmul_acc)(&p, b, FN(ld)(HPOW(k, NB - r + 1)), FN(ld)(HKAR(k, NB - r + 1)));
            }
            if (nx && r <= NB) {
                __m128i b = FN(ld)(nx + 16 * (i + (size_t)r - 1));
                if (r == 1)
                    b = FN(xor2)(b, acc2);
                FN(kclmul_acc)(&p2, b, FN(ld)(HPOW(k, NB - r + 1)), FN(ld)(HKAR(k, NB - r + 1)));
            }
        }
        const __m128i klast = FN(ld)(k->enc[nr]);
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++)
            FN(st)(out + 16 * (i + (size_t)j),
               _mm_aesenclast_si128(x[j], FN(xor2)(klast, FN(ld)(in + 16 * (i + (size_t)j)))));
        if (pending)
            acc = FN(kreduce)(p);
        if (nx)
            acc2 = FN(kreduce)(p2);
        ctr = _mm_add_epi64(ctr, step);
    }
    if (nx)
        *nx_acc = hash_message_hctr2_aesni(k, acc2, nx + 16 * i, len - 16 * i);
    if (hash && i > 0)
        acc = FN(hash_blocks_xmm)(k, acc, out + 16 * (i - NB), NB);
    const int rest = (int)(nblocks - i);
    if (rest) {
        for (int j = 0; j < rest; j++)
            d[j] = FN(ld)(in + 16 * (i + (size_t)j));
        FN(xctr_blocks)(k, nr, S, ctr, d, x, rest);
        ctr = _mm_add_epi64(ctr, _mm_set_epi64x(0, rest));
        for (int j = 0; j < rest; j++)
            FN(st)(out + 16 * (i + (size_t)j), x[j]);
        if (hash)
            acc = FN(hash_group)(k, acc, x, rest);
    }
    if (tail)
        acc = FN(xctr_tail)(k, nr, S, nblocks + 1, in + 16 * nblocks, out + 16 * nblocks, tail, acc, hash);
    return acc;
}


#define HASH_MESSAGE(k, acc, p, len) hash_message_hctr2_aesni((k), (acc), (p), (len))
#define XCTR_HASH(k, nr, S, in, out, len, acc) xctr_hash_hctr2_aesni((k), (nr), (S), (in), (out), (len), (acc), 1, NULL, NULL)
#define XCTR_HASH_NEXT(k, nr, S, in, out, len, acc, nx, nx_acc) \
    xctr_hash_hctr2_aesni((k), (nr), (S), (in), (out), (len), (acc), 1, (nx), (nx_acc))
#define XCTR_ONLY(k, nr, S, in, out, len) \
    xctr_hash_hctr2_aesni((k), (nr), (S), (in), (out), (len), _mm_setzero_si128(), 0, NULL, NULL)
#include "hctr2_entry.inc"

/* h^(i+1) = dot(h^i, h): Montgomery powers, so dot(x, h^n) is n chained steps. The table
 * is highest power first, with zero rows after h^1 (sectorcrypt.h); h_kar beside it. */
void sc_hctr2_powers_aesni(sc_hctr2_key *key)
{
    const __m128i h = FN(ld)(HPOW(key, 1));
    __m128i p = h;
    for (int i = 2; i <= SC_HCTR2_NPOW; i++) {
        FN(prod256) q = FN(prod_zero)();
        FN(clmul_acc)(&q, p, h);
        p = FN(reduce)(q);
        FN(st)(HPOW(key, i), p);
    }
    memset(key->h_pow[SC_HCTR2_NPOW], 0, sizeof key->h_pow - SC_HCTR2_NPOW * sizeof key->h_pow[0]);
    for (int i = 0; i < (int)(sizeof key->h_kar / sizeof key->h_kar[0]); i++) {
        const __m128i q = FN(ld)(key->h_pow[i]);
        FN(st)(key->h_kar[i], FN(xor2)(q, _mm_shuffle_epi32(q, 0x4e)));
    }
}
