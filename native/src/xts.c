/* Public entry points: check every argument, then hand off to the chosen tier. */
#include <string.h>

#include "internal.h"

static const sc_tier_ops *ops_for(int tier)
{
    if (tier < SC_TIER_AESNI || tier > SC_TIER_VAES512 || !(sc_cpu_tiers() & (1u << tier)))
        return NULL;
    switch (tier) {
    case SC_TIER_AESNI: return &sc_ops_aesni;
    case SC_TIER_VAES256: return &sc_ops_vaes256;
    default: return &sc_ops_vaes512;
    }
}

int sc_check_key(const sc_xts_key *key)
{
    if (!key)
        return SC_E_NULL;
    if (key->check != SC_KEY_CHECK || (key->rounds != 10 && key->rounds != 14))
        return SC_E_KEY_NOT_EXPANDED;
    return SC_OK;
}

static int ranges_overlap(const void *p, size_t p_len, const void *q, size_t q_len)
{
    uintptr_t a = (uintptr_t)p, b = (uintptr_t)q;
    return a < b + q_len && b < a + p_len;
}

/* In place (in == out) is fine; any other overlap would read already-written output. Output
 * over the key itself is refused too: the kernel keeps round keys in registers across
 * its stores (the key pointer is restrict). */
static int overlaps(const sc_xts_key *key, const uint8_t *in, const uint8_t *out, size_t total)
{
    if (ranges_overlap(out, total, key, sizeof *key))
        return 1;
    return in != out && ranges_overlap(in, total, out, total);
}

/* What every data call checks first: an expanded key, a tier this CPU runs, and a data
 * unit of 1 to 2^20 blocks (SP 800-38E). */
static int check_call(const sc_xts_key *key, int tier, size_t unit_len, const sc_tier_ops **ops)
{
    int rc = sc_check_key(key);
    if (rc)
        return rc;
    *ops = ops_for(tier);
    if (!*ops)
        return SC_E_TIER;
    if (unit_len < 16 || unit_len > SC_MAX_UNIT_BYTES)
        return SC_E_LENGTH;
    return SC_OK;
}

static int crypt_units(int encrypt, const sc_xts_key *key, int tier, const uint8_t *in,
                       uint8_t *out, size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    const sc_tier_ops *ops;
    int rc = check_call(key, tier, unit_len, &ops);
    if (rc)
        return rc;
    if (count == 0)
        return SC_OK;
    if (!in || !out)
        return SC_E_NULL;
    if (count > SIZE_MAX / unit_len || (uintptr_t)in > UINTPTR_MAX - count * unit_len
        || (uintptr_t)out > UINTPTR_MAX - count * unit_len)
        return SC_E_LENGTH;
    /* The last IV, first_iv + (count - 1) * iv_step, must fit in plain64's 64 bits. */
    if (iv_step == 0 || (count > 1 && (count - 1 > UINT64_MAX / iv_step
                                       || (count - 1) * iv_step > UINT64_MAX - first_iv)))
        return SC_E_RANGE;
    if (overlaps(key, in, out, count * unit_len))
        return SC_E_OVERLAP;
    ops->crypt_units(key, encrypt, in, out, unit_len, count, first_iv, iv_step);
    return SC_OK;
}

static int crypt_unit(int encrypt, const sc_xts_key *key, int tier, const uint8_t tweak[16],
                      const uint8_t *in, uint8_t *out, size_t len)
{
    const sc_tier_ops *ops;
    int rc = check_call(key, tier, len, &ops);
    if (rc)
        return rc;
    if (!tweak || !in || !out)
        return SC_E_NULL;
    if ((uintptr_t)in > UINTPTR_MAX - len || (uintptr_t)out > UINTPTR_MAX - len)
        return SC_E_LENGTH;
    if (overlaps(key, in, out, len))
        return SC_E_OVERLAP;
    ops->crypt_unit(key, encrypt, tweak, in, out, len);
    return SC_OK;
}

int sc_xts_encrypt_units(const sc_xts_key *key, int tier, const uint8_t *in, uint8_t *out,
                         size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    return crypt_units(1, key, tier, in, out, unit_len, count, first_iv, iv_step);
}

int sc_xts_decrypt_units(const sc_xts_key *key, int tier, const uint8_t *in, uint8_t *out,
                         size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    return crypt_units(0, key, tier, in, out, unit_len, count, first_iv, iv_step);
}

int sc_xts_encrypt_unit(const sc_xts_key *key, int tier, const uint8_t tweak[16],
                        const uint8_t *in, uint8_t *out, size_t len)
{
    return crypt_unit(1, key, tier, tweak, in, out, len);
}

int sc_xts_decrypt_unit(const sc_xts_key *key, int tier, const uint8_t tweak[16],
                        const uint8_t *in, uint8_t *out, size_t len)
{
    return crypt_unit(0, key, tier, tweak, in, out, len);
}
