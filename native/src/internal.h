/* Internal declarations shared by the kernel's translation units; not part of the ABI. */
#ifndef SC_INTERNAL_H
#define SC_INTERNAL_H

#include "sectorcrypt.h"

/* Marks an expanded sc_xts_key, so a zeroed or never-expanded struct is refused. */
#define SC_KEY_CHECK 0x58545331u /* "XTS1" */

/* One tier's entry points; the public functions validate, then call these. */
typedef struct sc_tier_ops {
    void (*crypt_units)(const sc_xts_key *key, int encrypt, const uint8_t *in, uint8_t *out,
                        size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step);
    void (*crypt_unit)(const sc_xts_key *key, int encrypt, const uint8_t tweak[16],
                       const uint8_t *in, uint8_t *out, size_t len);
} sc_tier_ops;

extern const sc_tier_ops sc_ops_aesni;
extern const sc_tier_ops sc_ops_vaes256;
extern const sc_tier_ops sc_ops_vaes512;

/* AES-NI key schedule (aes_key.c). */
void sc_aes_expand_enc(uint8_t rk[15][16], const uint8_t *key, int key_bytes);
void sc_aes_enc_to_dec(uint8_t dec[15][16], const uint8_t enc[15][16], int rounds);

/* SC_OK for an expanded key; SC_E_NULL or SC_E_KEY_NOT_EXPANDED otherwise (xts.c). */
int sc_check_key(const sc_xts_key *key);

/* Zeroing the compiler may not remove. */
void sc_secure_zero(void *p, size_t n);

#endif
