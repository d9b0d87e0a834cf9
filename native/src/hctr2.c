/* HCTR2 public entry points and key expansion: check every argument, then hand off to the
 * tier. Mirrors xts.c: the same tiers, chosen by the caller among those sc_cpu_tiers()
 * reports. */
#include <string.h>
#include <immintrin.h>

#include "internal.h"

#pragma GCC target("aes,sse4.1")

size_t sc_hctr2_key_size(void) { return sizeof(sc_hctr2_key); }
size_t sc_hctr2_key_align(void) { return 64; }

void sc_hctr2_key_wipe(sc_hctr2_key *key)
{
    if (key)
        sc_secure_zero(key, sizeof *key);
}

static __m128i encrypt_block(const uint8_t rk[15][16], int nr, __m128i x)
{
    x = _mm_xor_si128(x, _mm_loadu_si128((const __m128i *)rk[0]));
    for (int r = 1; r < nr; r++)
        x = _mm_aesenc_si128(x, _mm_loadu_si128((const __m128i *)rk[r]));
    return _mm_aesenclast_si128(x, _mm_loadu_si128((const __m128i *)rk[nr]));
}

int sc_hctr2_key_expand(sc_hctr2_key *key, const uint8_t *raw, size_t raw_len)
{
    if (!key || !raw)
        return SC_E_NULL;
    sc_secure_zero(key, sizeof *key);
    if (raw_len != 16 && raw_len != 32)
        return SC_E_KEY_LENGTH;
    if (!(sc_cpu_tiers() & (1u << SC_TIER_AESNI)))
        return SC_E_TIER;
    const int rounds = raw_len == 16 ? 10 : 14;
    /* Expanded straight into the struct: its owner wipes it, as with sc_xts_key. */
    sc_aes_expand_enc(key->enc, raw, (int)raw_len);
    sc_aes_enc_to_dec(key->dec, (const uint8_t(*)[16])key->enc, rounds);
    /* Paper section 3: h = E_K(le128(0)) keys POLYVAL, L = E_K(le128(1)) masks S. */
    _mm_storeu_si128((__m128i *)key->h_pow[SC_HCTR2_NPOW - 1], encrypt_block((const uint8_t(*)[16])key->enc, rounds, _mm_setzero_si128()));
    _mm_storeu_si128((__m128i *)key->L, encrypt_block((const uint8_t(*)[16])key->enc, rounds, _mm_set_epi64x(0, 1)));
    sc_hctr2_powers_aesni(key);
    key->rounds = (uint32_t)rounds;
    key->check = SC_HCTR2_KEY_CHECK;
    return SC_OK;
}

static int check_key(const sc_hctr2_key *key)
{
    if (!key)
        return SC_E_NULL;
    if (key->check != SC_HCTR2_KEY_CHECK || (key->rounds != 10 && key->rounds != 14))
        return SC_E_KEY_NOT_EXPANDED;
    return SC_OK;
}

const sc_hctr2_ops *sc_hctr2_ops_for(int tier)
{
    if (tier < SC_TIER_AESNI || tier > SC_TIER_VAES512 || !(sc_cpu_tiers() & (1u << tier)))
        return NULL;
    switch (tier) {
    case SC_TIER_AESNI: return &sc_ops_hctr2_aesni;
    case SC_TIER_VAES256: return &sc_ops_hctr2_vaes256;
    default: return &sc_ops_hctr2_vaes512;
    }
}

/* An expanded key and a tier this CPU runs. */
static int check_call(const sc_hctr2_key *key, int tier, const sc_hctr2_ops **ops)
{
    int rc = check_key(key);
    if (rc)
        return rc;
    *ops = sc_hctr2_ops_for(tier);
    return *ops ? SC_OK : SC_E_TIER;
}

static int crypt_one(int encrypt, const sc_hctr2_key *key, int tier, const uint8_t *tweak, size_t tweak_len,
                     const uint8_t *in, uint8_t *out, size_t len)
{
    const sc_hctr2_ops *ops;
    int rc = check_call(key, tier, &ops);
    if (rc || (rc = sc_check_unit_len(len)))
        return rc;
    if (tweak_len > SC_MAX_UNIT_BYTES)
        return SC_E_LENGTH;
    if (!in || !out || (tweak_len && !tweak))
        return SC_E_NULL;
    if (tweak_len && (uintptr_t)tweak > UINTPTR_MAX - tweak_len)
        return SC_E_LENGTH;
    if ((rc = sc_check_buffers(key, sizeof *key, in, out, len)))
        return rc;
    ops->crypt(key, encrypt, tweak, tweak_len, in, out, len);
    return SC_OK;
}

static int crypt_units(int encrypt, const sc_hctr2_key *key, int tier, const uint8_t *in, uint8_t *out,
                       size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    const sc_hctr2_ops *ops;
    int rc = check_call(key, tier, &ops);
    if (rc
        || (rc = sc_check_units(key, sizeof *key, in, out, unit_len, count, first_iv, iv_step)) || count == 0)
        return rc;
    ops->crypt_units(key, encrypt, in, out, unit_len, count, first_iv, iv_step);
    return SC_OK;
}

int sc_hctr2_encrypt(const sc_hctr2_key *key, int tier, const uint8_t *tweak, size_t tweak_len,
                     const uint8_t *in, uint8_t *out, size_t len)
{
    return crypt_one(1, key, tier, tweak, tweak_len, in, out, len);
}

int sc_hctr2_decrypt(const sc_hctr2_key *key, int tier, const uint8_t *tweak, size_t tweak_len,
                     const uint8_t *in, uint8_t *out, size_t len)
{
    return crypt_one(0, key, tier, tweak, tweak_len, in, out, len);
}

int sc_hctr2_encrypt_units(const sc_hctr2_key *key, int tier, const uint8_t *in, uint8_t *out,
                           size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    return crypt_units(1, key, tier, in, out, unit_len, count, first_iv, iv_step);
}

int sc_hctr2_decrypt_units(const sc_hctr2_key *key, int tier, const uint8_t *in, uint8_t *out,
                           size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    return crypt_units(0, key, tier, in, out, unit_len, count, first_iv, iv_step);
}
