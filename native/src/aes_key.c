/* AES-128/256 key schedules with AES-NI (FIPS 197 section 5.2), and key lifecycle. */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,sse4.1")

/* One step of the schedule: each word is XORed with all the words before it, then with t. */
static inline __m128i fold(__m128i k, __m128i t)
{
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    k = _mm_xor_si128(k, _mm_slli_si128(k, 4));
    return _mm_xor_si128(k, t);
}

/* aeskeygenassist takes its round constant as an immediate, hence macros rather than a loop. */
#define STEP128(rcon)                                                                    \
    k = fold(k, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k, rcon), 0xff));           \
    _mm_storeu_si128((__m128i *)rk[++i], k)

#define STEP256(rcon)                                                                    \
    k0 = fold(k0, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k1, rcon), 0xff));        \
    _mm_storeu_si128((__m128i *)rk[++i], k0);                                            \
    if (i < 14) {                                                                        \
        k1 = fold(k1, _mm_shuffle_epi32(_mm_aeskeygenassist_si128(k0, 0), 0xaa));       \
        _mm_storeu_si128((__m128i *)rk[++i], k1);                                        \
    }

void sc_aes_expand_enc(uint8_t rk[15][16], const uint8_t *key, int key_bytes)
{
    int i = 0;
    if (key_bytes == 16) {
        __m128i k = _mm_loadu_si128((const __m128i *)key);
        _mm_storeu_si128((__m128i *)rk[0], k);
        STEP128(0x01); STEP128(0x02); STEP128(0x04); STEP128(0x08); STEP128(0x10);
        STEP128(0x20); STEP128(0x40); STEP128(0x80); STEP128(0x1b); STEP128(0x36);
    } else {
        __m128i k0 = _mm_loadu_si128((const __m128i *)key);
        __m128i k1 = _mm_loadu_si128((const __m128i *)(key + 16));
        _mm_storeu_si128((__m128i *)rk[0], k0);
        _mm_storeu_si128((__m128i *)rk[++i], k1);
        STEP256(0x01); STEP256(0x02); STEP256(0x04); STEP256(0x08);
        STEP256(0x10); STEP256(0x20); STEP256(0x40);
    }
}

/* Equivalent inverse cipher (FIPS 197 section 5.3.5): reversed order, InvMixColumns inside. */
void sc_aes_enc_to_dec(uint8_t dec[15][16], const uint8_t enc[15][16], int rounds)
{
    _mm_storeu_si128((__m128i *)dec[0], _mm_loadu_si128((const __m128i *)enc[rounds]));
    for (int r = 1; r < rounds; r++)
        _mm_storeu_si128((__m128i *)dec[r], _mm_aesimc_si128(_mm_loadu_si128((const __m128i *)enc[rounds - r])));
    _mm_storeu_si128((__m128i *)dec[rounds], _mm_loadu_si128((const __m128i *)enc[0]));
}

void sc_secure_zero(void *p, size_t n)
{
    memset(p, 0, n);
    /* Tells the compiler the zeroed memory is observed, so the memset is not a dead store. */
    __asm__ __volatile__("" : : "r"(p) : "memory");
}

void sc_xts_key_wipe(sc_xts_key *key)
{
    if (key)
        sc_secure_zero(key, sizeof *key);
}

size_t sc_xts_key_size(void) { return sizeof(sc_xts_key); }
size_t sc_xts_key_align(void) { return 64; }
uint32_t sc_abi_version(void) { return SC_ABI_VERSION; }

int sc_xts_key_expand(sc_xts_key *key, const uint8_t *raw, size_t raw_len, uint32_t flags)
{
    if (!key || !raw)
        return SC_E_NULL;
    sc_secure_zero(key, sizeof *key);
    if (raw_len != 32 && raw_len != 64)
        return SC_E_KEY_LENGTH;
    if (!(sc_cpu_tiers() & (1u << SC_TIER_AESNI)))
        return SC_E_TIER;
    const size_t half = raw_len / 2;
    /* FIPS 140-3 IG C.I: key1 must differ from key2. Constant time: no early exit on a
     * differing byte, so the time taken says nothing about where the halves differ. */
    uint8_t diff = 0;
    for (size_t i = 0; i < half; i++)
        diff |= (uint8_t)(raw[i] ^ raw[half + i]);
    if (diff == 0 && !(flags & SC_KEY_ALLOW_EQUAL_HALVES))
        return SC_E_KEY_HALVES_EQUAL;
    const int rounds = half == 16 ? 10 : 14;
    uint8_t data_enc[15][16], data_dec[15][16], tweak_enc[15][16];
    sc_aes_expand_enc(data_enc, raw, (int)half);
    sc_aes_enc_to_dec(data_dec, data_enc, rounds);
    sc_aes_expand_enc(tweak_enc, raw + half, (int)half);
    for (int r = 0; r <= rounds; r++) {
        for (int lane = 0; lane < 4; lane++) {
            memcpy(key->data_enc[r] + 16 * lane, data_enc[r], 16);
            memcpy(key->data_dec[r] + 16 * lane, data_dec[r], 16);
            memcpy(key->tweak_enc[r] + 16 * lane, tweak_enc[r], 16);
        }
    }
    sc_secure_zero(data_enc, sizeof data_enc);
    sc_secure_zero(data_dec, sizeof data_dec);
    sc_secure_zero(tweak_enc, sizeof tweak_enc);
    key->rounds = (uint32_t)rounds;
    key->check = SC_KEY_CHECK;
    return SC_OK;
}
