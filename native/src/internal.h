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

/* Argument checks shared by the XTS and HCTR2 entry points (check.c); each returns SC_OK or
 * the first failing code, in the order the public header documents. key and key_size are
 * the caller's expanded key struct, which output may not overlap. */
/* SC_E_LENGTH unless 16 <= len <= SC_MAX_UNIT_BYTES: a data unit of 1 to 2^20 blocks
 * (SP 800-38E for XTS; HCTR2 shares the bound). */
int sc_check_unit_len(size_t len);
/* One unit of len bytes at non-NULL in and out: SC_E_LENGTH if either runs past the end of
 * the address space, SC_E_OVERLAP for overlap other than in place, or output over the key. */
int sc_check_buffers(const void *key, size_t key_size, const uint8_t *in, const uint8_t *out, size_t len);
/* A plain64 run of count units: the unit length, then (count > 0 only) SC_E_NULL,
 * SC_E_LENGTH, SC_E_RANGE for a last IV past 2^64-1, SC_E_OVERLAP. SC_OK with count == 0
 * means there is nothing to do. */
int sc_check_units(const void *key, size_t key_size, const uint8_t *in, const uint8_t *out,
                   size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step);

/* Zeroing the compiler may not remove. */
void sc_secure_zero(void *p, size_t n);

/* Marks an expanded sc_hctr2_key. */
#define SC_HCTR2_KEY_CHECK 0x48435432u /* "HCT2" */

/* Powers of h in sc_hctr2_key.h_pow: up to 32 blocks hashed per reduction. */
#define SC_HCTR2_NPOW 32

/* One HCTR2 tier's entry points (hctr2_entry.inc, stamped out by hctr2_aesni.c,
 * hctr2_vaes256.c and hctr2_vaes512.c); the public functions in hctr2.c validate first.
 * The tweak pointer may be NULL only when tweak_len is 0. polyval and xctr are the building
 * blocks on their own, for the published POLYVAL and XCTR vectors (tests): POLYVAL of len
 * bytes (a multiple of 16) under key->h_pow; XCTR (keystream block i is E_K(iv ^ le128(i)),
 * i from 1) of len bytes of any length under key->enc. */
typedef struct sc_hctr2_ops {
    void (*crypt)(const sc_hctr2_key *key, int encrypt, const uint8_t *tweak, size_t tweak_len,
                  const uint8_t *in, uint8_t *out, size_t len);
    void (*crypt_units)(const sc_hctr2_key *key, int encrypt, const uint8_t *in, uint8_t *out,
                        size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step);
    void (*polyval)(const sc_hctr2_key *key, const uint8_t *msg, size_t len, uint8_t out[16]);
    void (*xctr)(const sc_hctr2_key *key, const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len);
} sc_hctr2_ops;

extern const sc_hctr2_ops sc_ops_hctr2_aesni;
extern const sc_hctr2_ops sc_ops_hctr2_vaes256;
extern const sc_hctr2_ops sc_ops_hctr2_vaes512;

/* The ops of an HCTR2 tier this CPU runs, or NULL (hctr2.c). */
const sc_hctr2_ops *sc_hctr2_ops_for(int tier);

/* h^1..h^32 into key->h_pow from h in HPOW(key, 1) (key expansion, AES-NI tier code). */
void sc_hctr2_powers_aesni(sc_hctr2_key *key);

#endif
