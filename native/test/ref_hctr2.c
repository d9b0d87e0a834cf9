/* Reference HCTR2 written straight from the paper (ePrint 2021/1441, section 3) and RFC 8452,
 * for clarity over speed: every field operation is bit by bit. */
#include <stdlib.h>
#include <string.h>

#include "ref_hctr2.h"
#include "ref_xts.h"

/* Field elements of POLYVAL: bit i of the 16-byte little-endian string is the coefficient
 * of x^i; the field polynomial is P = x^128 + x^127 + x^126 + x^121 + 1. */

/* a *= x mod P. */
static void mul_x(uint8_t a[16])
{
    const int top = a[15] >> 7;
    for (int i = 15; i > 0; i--) a[i] = (uint8_t)((a[i] << 1) | (a[i - 1] >> 7));
    a[0] = (uint8_t)(a[0] << 1);
    if (top) { a[0] ^= 0x01; a[15] ^= 0xc2; } /* x^128 = x^127 + x^126 + x^121 + 1 */
}

/* a *= x^-1 mod P: add P when the constant term is set (making a divisible by x), shift. */
static void div_x(uint8_t a[16])
{
    const int low = a[0] & 1;
    if (low) { a[0] ^= 0x01; a[15] ^= 0xc2; } /* the x^128 term becomes the carry below */
    for (int i = 0; i < 15; i++) a[i] = (uint8_t)((a[i] >> 1) | (a[i + 1] << 7));
    a[15] = (uint8_t)((a[15] >> 1) | (low << 7));
}

/* RFC 8452 section 3: dot(a, b) = a * b * x^-128. */
static void dot(uint8_t r[16], const uint8_t a[16], const uint8_t b[16])
{
    uint8_t acc[16] = { 0 }, sh[16];
    memcpy(sh, a, 16);
    for (int bit = 0; bit < 128; bit++) {
        if ((b[bit / 8] >> (bit % 8)) & 1)
            for (int i = 0; i < 16; i++) acc[i] ^= sh[i];
        mul_x(sh);
    }
    for (int i = 0; i < 128; i++) div_x(acc);
    memcpy(r, acc, 16);
}

/* S_0 = 0, S_j = dot(S_{j-1} ^ X_j, H) (RFC 8452 section 3); len a multiple of 16. */
static void polyval_update(uint8_t s[16], const uint8_t h[16], const uint8_t *msg, size_t len)
{
    for (size_t j = 0; j < len; j += 16) {
        for (size_t i = 0; i < 16; i++) s[i] ^= msg[j + i];
        dot(s, s, h);
    }
}

void ref_polyval(const uint8_t h[16], const uint8_t *msg, size_t len, uint8_t out[16])
{
    memset(out, 0, 16);
    polyval_update(out, h, msg, len);
}

/* 128-bit little-endian integer i. */
static void le128(uint8_t b[16], uint64_t i)
{
    memset(b, 0, 16);
    for (int k = 0; k < 8; k++) b[k] = (uint8_t)(i >> (8 * k));
}

void ref_xctr(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len)
{
    for (size_t j = 0; j * 16 < len; j++) {
        uint8_t ks[16];
        le128(ks, j + 1); /* XCTR counts from 1 */
        for (int i = 0; i < 16; i++) ks[i] ^= iv[i];
        ref_aes_block(1, key, key_len, ks);
        for (size_t i = 0; i < 16 && j * 16 + i < len; i++) out[j * 16 + i] = in[j * 16 + i] ^ ks[i];
    }
}

/* H(T, X) = POLYVAL(h, le128(2|T|_bits + 2 + [|X| % 16 != 0]) || pad0(T) || pad1(X)). */
static void hash(const uint8_t h[16], const uint8_t *t, size_t t_len, const uint8_t *x, size_t x_len, uint8_t out[16])
{
    const size_t t_pad = (t_len + 15) / 16 * 16, x_pad = (x_len + 15) / 16 * 16;
    uint8_t *buf = calloc(16 + t_pad + x_pad, 1);
    le128(buf, (uint64_t)t_len * 8 * 2 + 2 + (x_len % 16 != 0));
    if (t_len) memcpy(buf + 16, t, t_len);
    if (x_len) memcpy(buf + 16 + t_pad, x, x_len);
    if (x_len % 16) buf[16 + t_pad + x_len] = 0x01;
    ref_polyval(h, buf, 16 + t_pad + x_pad, out);
    free(buf);
}

void ref_hctr2(int enc, const uint8_t *key, size_t key_len, const uint8_t *tweak, size_t tweak_len,
               const uint8_t *in, uint8_t *out, size_t len)
{
    uint8_t h[16], L[16], mm[16], uu[16], s[16], hv[16];
    le128(h, 0);
    ref_aes_block(1, key, key_len, h);
    le128(L, 1);
    ref_aes_block(1, key, key_len, L);
    const size_t n_len = len - 16;
    uint8_t *tail = malloc(n_len ? n_len : 1);
    uint8_t first[16];
    memcpy(first, in, 16);
    if (n_len) memcpy(tail, in + 16, n_len);
    /* Encryption: M, N -> U, V. Decryption: U, V -> M, N, the same steps mirrored. */
    hash(h, tweak, tweak_len, tail, n_len, hv);
    uint8_t *a = enc ? mm : uu, *b = enc ? uu : mm;
    for (int i = 0; i < 16; i++) a[i] = first[i] ^ hv[i];
    memcpy(b, a, 16);
    ref_aes_block(enc, key, key_len, b);
    for (int i = 0; i < 16; i++) s[i] = mm[i] ^ uu[i] ^ L[i];
    ref_xctr(key, key_len, s, tail, out + 16, n_len);
    hash(h, tweak, tweak_len, out + 16, n_len, hv);
    for (int i = 0; i < 16; i++) out[i] = b[i] ^ hv[i];
    free(tail);
}
