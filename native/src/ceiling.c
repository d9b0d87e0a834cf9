/* The ceiling for benchmarks: AES rounds alone on VAES zmm, as fast as this core can go. */
#include <immintrin.h>

#include "internal.h"

#define NV 8

#define TARGET_VAES512 __attribute__((target("aes,avx,avx2,avx512f,avx512bw,avx512vl,vaes")))

TARGET_VAES512 static inline __attribute__((always_inline)) void ecb_rounds(const sc_xts_key *key, int nr,
                                                                            const uint8_t *in, uint8_t *out,
                                                                            size_t len)
{
    /* The rows of the key struct are already each round key in every lane. */
    __m512i rk[15];
    for (int r = 0; r <= nr; r++)
        rk[r] = _mm512_loadu_si512(key->data_enc[r]);
    size_t i = 0;
    for (; i + 64 * NV <= len; i += 64 * NV) {
        __m512i x[NV];
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++)
            x[j] = _mm512_xor_si512(_mm512_loadu_si512(in + i + 64 * j), rk[0]);
        for (int r = 1; r < nr; r++) {
#pragma GCC unroll 8
            for (int j = 0; j < NV; j++)
                x[j] = _mm512_aesenc_epi128(x[j], rk[r]);
        }
#pragma GCC unroll 8
        for (int j = 0; j < NV; j++)
            _mm512_storeu_si512(out + i + 64 * j, _mm512_aesenclast_epi128(x[j], rk[nr]));
    }
    for (; i < len; i += 64) {
        __m512i x = _mm512_xor_si512(_mm512_loadu_si512(in + i), rk[0]);
        for (int r = 1; r < nr; r++)
            x = _mm512_aesenc_epi128(x, rk[r]);
        _mm512_storeu_si512(out + i, _mm512_aesenclast_epi128(x, rk[nr]));
    }
}

/* Named for its tier, and kept out of line, so the entry point below (and every function
 * without a tier in its name) stays free of zmm instructions (ci/check-kernel-isa.sh).
 * Specialised per key size so the round loop has a constant bound, as in the XTS tiers. */
TARGET_VAES512 __attribute__((noinline)) static void ecb_vaes512(const sc_xts_key *key, const uint8_t *in,
                                                                 uint8_t *out, size_t len)
{
    if (key->rounds == 14)
        ecb_rounds(key, 14, in, out, len);
    else
        ecb_rounds(key, 10, in, out, len);
}

int sc_bench_ceiling_ecb(const sc_xts_key *key, const uint8_t *in, uint8_t *out, size_t len)
{
    int rc = sc_check_key(key);
    if (rc)
        return rc;
    if (!in || !out)
        return SC_E_NULL;
    if (!(sc_cpu_tiers() & (1u << SC_TIER_VAES512)))
        return SC_E_TIER;
    if (len % 64 != 0)
        return SC_E_LENGTH;
    ecb_vaes512(key, in, out, len);
    return SC_OK;
}
