/*
 * HCTR2-AES, AES-NI + PCLMULQDQ tier: xmm only, so it runs wherever SC_TIER_AESNI does.
 *
 * HCTR2 (Crowley, Huckleberry, Biggers, ePrint 2021/1441, section 3) of a message P = M || N,
 * M its first 16 bytes, under tweak T, with h = E_K(0) and L = E_K(1):
 *
 *   MM = M ^ H(T, N)        UU = E_K(MM)        S = MM ^ UU ^ L
 *   V  = N ^ XCTR_K(S)      U  = UU ^ H(T, V)   C = U || V
 *
 * H(T, X) = POLYVAL(h, le128(2 * bits(T) + 2 + [|X| mod 16 != 0]) || pad0(T) || pad1(X)),
 * pad0 appending zero bytes to a whole block, pad1 appending 0x01 and then zeros when X ends
 * in a partial block. Decryption runs the same steps backwards with D_K.
 *
 * Cost per 16 bytes: one AES (XCTR) and two POLYVAL steps. The two hashes share their prefix
 * (length block and tweak), hashed once. The second hash is fused with XCTR: while the AES
 * units make the next group's keystream, the carry-less multiplier hashes the group just
 * written, so the two run on different execution ports instead of one after the other.
 */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,pclmul,sse4.1")

#define INLINE static inline __attribute__((always_inline))

/* Blocks in flight for XCTR (covers aesenc latency, as in the XTS tier), and blocks per
 * POLYVAL reduction (h^1..h^8 precomputed): one reduction per 8 blocks instead of 8. */
#define NB 8

INLINE __m128i ld(const void *p) { return _mm_loadu_si128((const __m128i *)p); }
INLINE void st(void *p, __m128i v) { _mm_storeu_si128((__m128i *)p, v); }
INLINE __m128i xor2(__m128i a, __m128i b) { return _mm_xor_si128(a, b); }

/* A 256-bit carry-less product kept unreduced as lo, mid (the two cross terms) and hi, so
 * products of a group of blocks are summed first and reduced once. */
typedef struct {
    __m128i lo, mid, hi;
} prod256;

INLINE void clmul_acc(prod256 *p, __m128i a, __m128i b)
{
    p->lo = xor2(p->lo, _mm_clmulepi64_si128(a, b, 0x00));
    p->hi = xor2(p->hi, _mm_clmulepi64_si128(a, b, 0x11));
    p->mid = xor2(p->mid, xor2(_mm_clmulepi64_si128(a, b, 0x01), _mm_clmulepi64_si128(a, b, 0x10)));
}

/*
 * POLYVAL's dot(a, b) = a * b * x^-128 mod x^128 + x^127 + x^126 + x^121 + 1 (RFC 8452
 * section 3), finished here: Montgomery reduction of a 256-bit product in two 64-bit folds.
 * Each fold multiplies the low 64 bits by x^127 + x^126 + x^121 (0xc2 << 56 in the high half
 * of the constant) and swaps halves, which divides by x^64 modulo the polynomial; no
 * bit reflection is needed since POLYVAL is little-endian throughout.
 */
INLINE __m128i reduce(prod256 p)
{
    const __m128i poly = _mm_set_epi64x((long long)0xc200000000000000ull, 1);
    __m128i lo = xor2(p.lo, _mm_slli_si128(p.mid, 8));
    const __m128i hi = xor2(p.hi, _mm_srli_si128(p.mid, 8));
    lo = xor2(_mm_shuffle_epi32(lo, 0x4e), _mm_clmulepi64_si128(lo, poly, 0x10));
    lo = xor2(_mm_shuffle_epi32(lo, 0x4e), _mm_clmulepi64_si128(lo, poly, 0x10));
    return xor2(hi, lo);
}

INLINE __m128i dot(__m128i a, __m128i b)
{
    prod256 p = { _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128() };
    clmul_acc(&p, a, b);
    return reduce(p);
}

/* n POLYVAL steps (1 <= n <= NB) with one reduction:
 * (((acc ^ x0) h ^ x1) h ...) h = (acc ^ x0) h^n ^ x1 h^(n-1) ^ ... ^ x(n-1) h. */
INLINE __m128i hash_group(const sc_hctr2_key *k, __m128i acc, const __m128i *x, int n)
{
    prod256 p = { _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128() };
    clmul_acc(&p, xor2(acc, x[0]), ld(k->h_pow[n - 1]));
#pragma GCC unroll 8
    for (int j = 1; j < n; j++)
        clmul_acc(&p, x[j], ld(k->h_pow[n - 1 - j]));
    return reduce(p);
}

/* POLYVAL steps over nblocks whole blocks. */
static __m128i hash_blocks(const sc_hctr2_key *k, __m128i acc, const uint8_t *p, size_t nblocks)
{
    __m128i x[NB];
    for (; nblocks >= NB; nblocks -= NB, p += 16 * NB) {
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++)
            x[j] = ld(p + 16 * j);
        acc = hash_group(k, acc, x, NB);
    }
    if (nblocks) {
        for (size_t j = 0; j < nblocks; j++)
            x[j] = ld(p + 16 * j);
        acc = hash_group(k, acc, x, (int)nblocks);
    }
    return acc;
}

/* The last n (1..15) bytes as one block, followed by pad_byte and zeros (pad1 is 0x01,
 * the tweak's pad0 is 0). */
INLINE __m128i load_partial(const uint8_t *p, size_t n, uint8_t pad_byte)
{
    uint8_t b[16] = { 0 };
    memcpy(b, p, n);
    b[n] = pad_byte;
    const __m128i v = ld(b);
    sc_secure_zero(b, sizeof b);
    return v;
}

/* POLYVAL over pad1(X): whole blocks, then the partial block if any. */
static __m128i hash_message(const sc_hctr2_key *k, __m128i acc, const uint8_t *p, size_t len)
{
    acc = hash_blocks(k, acc, p, len / 16);
    if (len % 16) {
        const __m128i last = load_partial(p + len - len % 16, len % 16, 0x01);
        acc = hash_group(k, acc, &last, 1);
    }
    return acc;
}

/* The hash state after the length block and pad0(T), shared by both hashes of a message.
 * The length block tells the two padding cases apart (paper section 3.2, as Linux's
 * hctr2_hash_tweaklen). */
static __m128i hash_tweak(const sc_hctr2_key *k, const uint8_t *tweak, size_t tweak_len, size_t msg_len)
{
    const uint64_t len_word = (uint64_t)tweak_len * 16 + 2 + ((msg_len - 16) % 16 != 0);
    const __m128i len_block = _mm_set_epi64x(0, (long long)len_word);
    __m128i acc = hash_group(k, _mm_setzero_si128(), &len_block, 1);
    acc = hash_blocks(k, acc, tweak, tweak_len / 16);
    if (tweak_len % 16) {
        const __m128i last = load_partial(tweak + tweak_len - tweak_len % 16, tweak_len % 16, 0);
        acc = hash_group(k, acc, &last, 1);
    }
    return acc;
}

/* The plain64 tweak (64-bit IV, 24 zero bytes): length block and the two tweak blocks in
 * one reduction; the all-zero second block only shifts the powers. */
INLINE __m128i hash_tweak_plain64(const sc_hctr2_key *k, uint64_t iv, size_t msg_len)
{
    const uint64_t len_word = SC_HCTR2_TWEAK_PLAIN64 * 16 + 2 + ((msg_len - 16) % 16 != 0);
    prod256 p = { _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128() };
    clmul_acc(&p, _mm_set_epi64x(0, (long long)len_word), ld(k->h_pow[2]));
    clmul_acc(&p, _mm_set_epi64x(0, (long long)iv), ld(k->h_pow[1]));
    return reduce(p);
}

INLINE __m128i aes_enc1(const sc_hctr2_key *k, int nr, __m128i x)
{
    x = xor2(x, ld(k->enc[0]));
    for (int r = 1; r < nr; r++)
        x = _mm_aesenc_si128(x, ld(k->enc[r]));
    return _mm_aesenclast_si128(x, ld(k->enc[nr]));
}

INLINE __m128i aes_dec1(const sc_hctr2_key *k, int nr, __m128i x)
{
    x = xor2(x, ld(k->dec[0]));
    for (int r = 1; r < nr; r++)
        x = _mm_aesdec_si128(x, ld(k->dec[r]));
    return _mm_aesdeclast_si128(x, ld(k->dec[nr]));
}

/* n XCTR blocks (n <= NB): x[j] = E_K(S ^ le128(ctr + j)) ^ d[j], the data folded into the
 * last round key so it costs no extra dependent XOR. Counters stay below 2^21 (messages are
 * at most 2^24 bytes), so a 64-bit add of the low half is the 128-bit counter. */
INLINE void xctr_blocks(const sc_hctr2_key *k, int nr, __m128i S, __m128i ctr, const __m128i *d, __m128i *x, int n)
{
    const __m128i one = _mm_set_epi64x(0, 1);
    const __m128i sk = xor2(S, ld(k->enc[0]));
#pragma GCC unroll 8
    for (int j = 0; j < n; j++) {
        x[j] = xor2(sk, ctr);
        ctr = _mm_add_epi64(ctr, one);
    }
    for (int r = 1; r < nr; r++) {
        const __m128i rk = ld(k->enc[r]);
#pragma GCC unroll 8
        for (int j = 0; j < n; j++)
            x[j] = _mm_aesenc_si128(x[j], rk);
    }
    const __m128i klast = ld(k->enc[nr]);
#pragma GCC unroll 8
    for (int j = 0; j < n; j++)
        x[j] = _mm_aesenclast_si128(x[j], xor2(klast, d[j]));
}

/*
 * XCTR of len bytes from in to out under S, continuing the POLYVAL state acc over pad1 of
 * the output when hash is set: the second hash of either direction is over what XCTR
 * produces (V when encrypting, N when decrypting). Each group's input is loaded before its
 * output is stored, so in == out works.
 */
INLINE __m128i xctr_hash(const sc_hctr2_key *k, int nr, __m128i S, const uint8_t *in, uint8_t *out,
                         size_t len, __m128i acc, int hash)
{
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
        prod256 p = { _mm_setzero_si128(), _mm_setzero_si128(), _mm_setzero_si128() };
        const __m128i sk = xor2(S, ld(k->enc[0]));
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++)
            x[j] = xor2(sk, _mm_add_epi64(ctr, _mm_set_epi64x(0, j)));
        for (int r = 1; r < nr; r++) {
            const __m128i rk = ld(k->enc[r]);
#pragma GCC unroll 8
            for (int j = 0; j < NB; j++)
                x[j] = _mm_aesenc_si128(x[j], rk);
            /* nr - 1 >= 9 rounds here, so all NB blocks fit. */
            if (pending && r <= NB) {
                __m128i b = ld(prev + 16 * (r - 1));
                if (r == 1)
                    b = xor2(b, acc);
                clmul_acc(&p, b, ld(k->h_pow[NB - r]));
            }
        }
        const __m128i klast = ld(k->enc[nr]);
#pragma GCC unroll 8
        for (int j = 0; j < NB; j++)
            st(out + 16 * (i + (size_t)j),
               _mm_aesenclast_si128(x[j], xor2(klast, ld(in + 16 * (i + (size_t)j)))));
        if (pending)
            acc = reduce(p);
        ctr = _mm_add_epi64(ctr, step);
    }
    if (hash && i > 0)
        acc = hash_blocks(k, acc, out + 16 * (i - NB), NB);
    const int rest = (int)(nblocks - i);
    if (rest) {
        for (int j = 0; j < rest; j++)
            d[j] = ld(in + 16 * (i + (size_t)j));
        xctr_blocks(k, nr, S, ctr, d, x, rest);
        ctr = _mm_add_epi64(ctr, _mm_set_epi64x(0, rest));
        for (int j = 0; j < rest; j++)
            st(out + 16 * (i + (size_t)j), x[j]);
        if (hash)
            acc = hash_group(k, acc, x, rest);
    }
    if (tail) {
        /* The partial block goes through a stack copy so nothing past in + len or out + len
         * is touched; whole-block sectors never come here. */
        uint8_t b[16] = { 0 };
        const uint8_t *src = in + 16 * nblocks;
        memcpy(b, src, tail);
        const __m128i data = ld(b);
        xctr_blocks(k, nr, S, ctr, &data, x, 1);
        st(b, x[0]);
        memcpy(out + 16 * nblocks, b, tail);
        if (hash) {
            const __m128i padded = load_partial(b, tail, 0x01);
            acc = hash_group(k, acc, &padded, 1);
        }
        sc_secure_zero(b, sizeof b);
    }
    return acc;
}

/* One message of len >= 16 bytes, tw the hash state after the length block and tweak. */
INLINE void hctr2_message(const sc_hctr2_key *k, int encrypt, __m128i tw, const uint8_t *in, uint8_t *out,
                          size_t len)
{
    const int nr = (int)k->rounds;
    const size_t n_len = len - 16;
    const __m128i first = ld(in);
    const __m128i L = ld(k->L);
    if (encrypt) {
        const __m128i MM = xor2(first, hash_message(k, tw, in + 16, n_len));
        const __m128i UU = aes_enc1(k, nr, MM);
        const __m128i S = xor2(xor2(MM, UU), L);
        const __m128i hv = xctr_hash(k, nr, S, in + 16, out + 16, n_len, tw, 1);
        st(out, xor2(UU, hv));
    } else {
        const __m128i UU = xor2(first, hash_message(k, tw, in + 16, n_len));
        const __m128i MM = aes_dec1(k, nr, UU);
        const __m128i S = xor2(xor2(MM, UU), L);
        const __m128i hn = xctr_hash(k, nr, S, in + 16, out + 16, n_len, tw, 1);
        st(out, xor2(MM, hn));
    }
}

void sc_hctr2_crypt_aesni(const sc_hctr2_key *key, int encrypt, const uint8_t *tweak, size_t tweak_len,
                          const uint8_t *in, uint8_t *out, size_t len)
{
    hctr2_message(key, encrypt, hash_tweak(key, tweak, tweak_len, len), in, out, len);
}

void sc_hctr2_crypt_units_aesni(const sc_hctr2_key *key, int encrypt, const uint8_t *in, uint8_t *out,
                                size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    for (size_t u = 0; u < count; u++) {
        const __m128i tw = hash_tweak_plain64(key, first_iv + u * iv_step, unit_len);
        hctr2_message(key, encrypt, tw, in + u * unit_len, out + u * unit_len, unit_len);
    }
}

/* h^(i+1) = dot(h^i, h): Montgomery powers, so dot(x, h^n) is n chained steps. */
void sc_hctr2_powers_aesni(sc_hctr2_key *key)
{
    const __m128i h = ld(key->h_pow[0]);
    __m128i p = h;
    for (int i = 1; i < NB; i++) {
        p = dot(p, h);
        st(key->h_pow[i], p);
    }
}

void sc_polyval_aesni(const sc_hctr2_key *key, const uint8_t *msg, size_t len, uint8_t out[16])
{
    st(out, hash_blocks(key, _mm_setzero_si128(), msg, len / 16));
}

void sc_xctr_aesni(const sc_hctr2_key *key, const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len)
{
    xctr_hash(key, (int)key->rounds, ld(iv), in, out, len, _mm_setzero_si128(), 0);
}
