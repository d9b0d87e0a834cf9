/* A deliberately plain reference AES-XTS (FIPS 197 byte-wise AES, IEEE 1619 bit-level
 * tweak doubling) that shares no code with the kernel; the tests compare against it. */
#ifndef REF_XTS_H
#define REF_XTS_H
#include <stddef.h>
#include <stdint.h>

void ref_xts(int encrypt, const uint8_t *key, size_t key_len, const uint8_t tweak[16],
             const uint8_t *in, uint8_t *out, size_t len);
#endif
