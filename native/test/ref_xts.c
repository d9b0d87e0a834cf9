#include <string.h>
#include "ref_xts.h"

static uint8_t sbox[256], inv_sbox[256];

static uint8_t xtime(uint8_t a) { return (uint8_t)((a << 1) ^ ((a & 0x80) ? 0x1b : 0)); }

static uint8_t gmul(uint8_t a, uint8_t b)
{
    uint8_t p = 0;
    while (b) {
        if (b & 1) p ^= a;
        a = xtime(a);
        b >>= 1;
    }
    return p;
}

/* S-box from its definition (FIPS 197 5.1.1): multiplicative inverse, then affine map. */
static void init_sbox(void)
{
    if (sbox[0] == 0x63)
        return;
    for (int x = 0; x < 256; x++) {
        uint8_t inv = 0;
        for (int y = 1; y < 256 && x; y++)
            if (gmul((uint8_t)x, (uint8_t)y) == 1) { inv = (uint8_t)y; break; }
        uint8_t s = inv;
        for (int i = 1; i < 5; i++)
            s ^= (uint8_t)((inv << i) | (inv >> (8 - i)));
        sbox[x] = s ^ 0x63;
        inv_sbox[sbox[x]] = (uint8_t)x;
    }
}

static void expand(uint8_t w[240], const uint8_t *key, int nk, int nr)
{
    uint8_t rcon = 1;
    memcpy(w, key, (size_t)nk * 4);
    for (int i = nk; i < 4 * (nr + 1); i++) {
        uint8_t t[4];
        memcpy(t, w + 4 * (i - 1), 4);
        if (i % nk == 0) {
            uint8_t t0 = t[0];
            t[0] = sbox[t[1]] ^ rcon; t[1] = sbox[t[2]]; t[2] = sbox[t[3]]; t[3] = sbox[t0];
            rcon = xtime(rcon);
        } else if (nk > 6 && i % nk == 4) {
            for (int j = 0; j < 4; j++) t[j] = sbox[t[j]];
        }
        for (int j = 0; j < 4; j++)
            w[4 * i + j] = w[4 * (i - nk) + j] ^ t[j];
    }
}

static void encrypt_block(const uint8_t *w, int nr, uint8_t s[16])
{
    for (int i = 0; i < 16; i++) s[i] ^= w[i];
    for (int r = 1; r <= nr; r++) {
        uint8_t t[16];
        for (int c = 0; c < 4; c++)
            for (int row = 0; row < 4; row++)
                t[4 * c + row] = sbox[s[4 * ((c + row) % 4) + row]];
        for (int c = 0; c < 4 && r != nr; c++) {
            uint8_t *col = t + 4 * c, a0 = col[0], a1 = col[1], a2 = col[2], a3 = col[3];
            col[0] = gmul(a0, 2) ^ gmul(a1, 3) ^ a2 ^ a3;
            col[1] = a0 ^ gmul(a1, 2) ^ gmul(a2, 3) ^ a3;
            col[2] = a0 ^ a1 ^ gmul(a2, 2) ^ gmul(a3, 3);
            col[3] = gmul(a0, 3) ^ a1 ^ a2 ^ gmul(a3, 2);
        }
        for (int i = 0; i < 16; i++) s[i] = t[i] ^ w[16 * r + i];
    }
}

static void decrypt_block(const uint8_t *w, int nr, uint8_t s[16])
{
    for (int i = 0; i < 16; i++) s[i] ^= w[16 * nr + i];
    for (int r = nr - 1; r >= 0; r--) {
        uint8_t t[16];
        for (int c = 0; c < 4; c++)
            for (int row = 0; row < 4; row++)
                t[4 * ((c + row) % 4) + row] = inv_sbox[s[4 * c + row]];
        for (int i = 0; i < 16; i++) t[i] ^= w[16 * r + i];
        for (int c = 0; c < 4 && r != 0; c++) {
            uint8_t *col = t + 4 * c, a0 = col[0], a1 = col[1], a2 = col[2], a3 = col[3];
            col[0] = gmul(a0, 14) ^ gmul(a1, 11) ^ gmul(a2, 13) ^ gmul(a3, 9);
            col[1] = gmul(a0, 9) ^ gmul(a1, 14) ^ gmul(a2, 11) ^ gmul(a3, 13);
            col[2] = gmul(a0, 13) ^ gmul(a1, 9) ^ gmul(a2, 14) ^ gmul(a3, 11);
            col[3] = gmul(a0, 11) ^ gmul(a1, 13) ^ gmul(a2, 9) ^ gmul(a3, 14);
        }
        memcpy(s, t, 16);
    }
}

/* T * alpha, bit by bit as IEEE 1619-2007 5.2 writes it. */
static void double_tweak(uint8_t t[16])
{
    uint8_t carry = 0;
    for (int i = 0; i < 16; i++) {
        uint8_t next = t[i] >> 7;
        t[i] = (uint8_t)((t[i] << 1) | carry);
        carry = next;
    }
    if (carry) t[0] ^= 0x87;
}

static void block(int enc, const uint8_t *w1, int nr, const uint8_t t[16], const uint8_t *in, uint8_t *out)
{
    uint8_t s[16];
    for (int i = 0; i < 16; i++) s[i] = in[i] ^ t[i];
    if (enc) encrypt_block(w1, nr, s); else decrypt_block(w1, nr, s);
    for (int i = 0; i < 16; i++) out[i] = s[i] ^ t[i];
}

void ref_xts(int enc, const uint8_t *key, size_t key_len, const uint8_t tweak[16],
             const uint8_t *in, uint8_t *out, size_t len)
{
    init_sbox();
    const int nk = (int)(key_len / 8), nr = nk + 6;
    uint8_t w1[240], w2[240], t[16], prev[16];
    expand(w1, key, nk, nr);
    expand(w2, key + key_len / 2, nk, nr);
    memcpy(t, tweak, 16);
    encrypt_block(w2, nr, t);
    size_t m = len / 16, tail = len % 16, full = tail ? m - 1 : m;
    uint8_t *buf = (uint8_t *)out;
    memmove(buf, in, len);
    for (size_t j = 0; j < full; j++) {
        block(enc, w1, nr, t, buf + 16 * j, buf + 16 * j);
        double_tweak(t);
    }
    if (!tail)
        return;
    uint8_t *last = buf + 16 * full, cc[16], pp[16];
    memcpy(prev, t, 16);
    double_tweak(t); /* t = T_m, prev = T_{m-1} */
    block(enc, w1, nr, enc ? prev : t, last, cc);
    memcpy(pp, cc, 16);
    memcpy(pp, last + 16, tail);
    memcpy(last + 16, cc, tail);
    block(enc, w1, nr, enc ? t : prev, pp, last);
}

/* One AES block in place, for the reference HCTR2 (ref_hctr2.c). */
void ref_aes_block(int enc, const uint8_t *key, size_t key_len, uint8_t block[16])
{
    init_sbox();
    const int nk = (int)(key_len / 4), nr = nk + 6;
    uint8_t w[240];
    expand(w, key, nk, nr);
    if (enc) encrypt_block(w, nr, block); else decrypt_block(w, nr, block);
}
