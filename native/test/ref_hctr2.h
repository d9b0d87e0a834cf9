/* A deliberately plain reference HCTR2-AES, POLYVAL and XCTR (bit-serial GF(2^128),
 * byte-wise AES from ref_xts.c) that shares no code with the kernel. */
#ifndef REF_HCTR2_H
#define REF_HCTR2_H
#include <stddef.h>
#include <stdint.h>

void ref_polyval(const uint8_t h[16], const uint8_t *msg, size_t len, uint8_t out[16]);
void ref_xctr(const uint8_t *key, size_t key_len, const uint8_t iv[16], const uint8_t *in, uint8_t *out, size_t len);
void ref_hctr2(int encrypt, const uint8_t *key, size_t key_len, const uint8_t *tweak, size_t tweak_len,
               const uint8_t *in, uint8_t *out, size_t len);
#endif
