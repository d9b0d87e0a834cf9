/* Public entry points: check every argument, then hand off to the chosen tier. */
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

/* What every data call checks first: an expanded key and a tier this CPU runs. */
static int check_call(const sc_xts_key *key, int tier, const sc_tier_ops **ops)
{
    int rc = sc_check_key(key);
    if (rc)
        return rc;
    *ops = ops_for(tier);
    return *ops ? SC_OK : SC_E_TIER;
}

static int crypt_units(int encrypt, const sc_xts_key *key, int tier, const uint8_t *in,
                       uint8_t *out, size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step)
{
    const sc_tier_ops *ops;
    int rc = check_call(key, tier, &ops);
    if (!rc)
        rc = sc_check_units(key, sizeof *key, in, out, unit_len, count, first_iv, iv_step);
    if (rc || count == 0)
        return rc;
    ops->crypt_units(key, encrypt, in, out, unit_len, count, first_iv, iv_step);
    return SC_OK;
}

static int crypt_unit(int encrypt, const sc_xts_key *key, int tier, const uint8_t tweak[16],
                      const uint8_t *in, uint8_t *out, size_t len)
{
    const sc_tier_ops *ops;
    int rc = check_call(key, tier, &ops);
    if (rc || (rc = sc_check_unit_len(len)))
        return rc;
    if (!tweak || !in || !out)
        return SC_E_NULL;
    if ((rc = sc_check_buffers(key, sizeof *key, in, out, len)))
        return rc;
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
