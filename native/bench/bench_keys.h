/* The fixed keys every kernel benchmark uses (benchmark only, never shipped): any key times
 * the same, so they only have to be the same in every tool for their rows to compare. */
#ifndef SC_BENCH_KEYS_H
#define SC_BENCH_KEYS_H

#include <stdint.h>

/* A 64-byte XTS-AES-256 key, key1 != key2. */
static inline void bench_xts_key(uint8_t key[64])
{
    for (int i = 0; i < 64; i++)
        key[i] = (uint8_t)(i * 7 + 3);
}

/* Fifteen arbitrary AES round keys for the ceilings: aesenc takes the same time whatever the key. */
static inline void bench_round_keys(uint8_t rk[15][16])
{
    for (int r = 0; r < 15; r++)
        for (int i = 0; i < 16; i++)
            rk[r][i] = (uint8_t)(r * 31 + i * 7 + 1);
}

#endif
