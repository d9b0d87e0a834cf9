/* A deliberately plain reference AES-XTS (FIPS 197 byte-wise AES, IEEE 1619 bit-level
 * tweak doubling) that shares no code with the kernel; the tests compare against it. */
#ifndef REF_XTS_H
#define REF_XTS_H
#include <stddef.h>
#include <stdint.h>

void ref_xts(int encrypt, const uint8_t *key, size_t key_len, const uint8_t tweak[16],
             const uint8_t *in, uint8_t *out, size_t len);
/* One AES-128/192/256 block in place with a raw key of key_len (16, 24, 32) bytes. */
void ref_aes_block(int encrypt, const uint8_t *key, size_t key_len, uint8_t block[16]);
#endif
