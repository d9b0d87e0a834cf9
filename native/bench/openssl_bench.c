/* native-aesni against OpenSSL's EVP_aes_256_xts and the xmm ceiling (and each VAES tier
 * against the ceiling of its width), one core, timed in
 * alternation (best of 15 short runs each) so that a noisy neighbour hits all three alike:
 * make -C native bench-openssl. OpenSSL as a storage server uses it: key schedule kept, the
 * IV (sector number, little-endian) reset per sector, one EVP_CipherUpdate per sector.
 * Benchmark only, never in the shipped library. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "bench_keys.h"
#include "sc_bench.h"
#include "sectorcrypt.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

enum { OURS, OSSL, CEIL, N };

int main(void)
{
    static uint8_t buf[64 * 512] __attribute__((aligned(64)));
    uint8_t key[64], rk[15][16], iv[16] = { 0 };
    bench_xts_key(key);
    bench_round_keys(rk);
    sc_xts_key ks;
    sc_xts_key_expand(&ks, key, 64, 0);
    static const size_t shapes[][2] = { { 4096, 1 }, { 512, 64 } };
    printf("%s; GB/s, best of 15 alternating runs\n", OpenSSL_version(OPENSSL_VERSION));
    for (int enc = 1; enc >= 0; enc--) {
        EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
        EVP_CipherInit_ex(ctx, EVP_aes_256_xts(), NULL, key, NULL, enc);
        for (int s = 0; s < 2; s++) {
            const size_t unit = shapes[s][0], count = shapes[s][1], bytes = unit * count;
            const long iters = (long)(3e8 / (double)bytes) + 1;
            double best[N] = { 0 };
            for (int rep = 0; rep < 15; rep++) {
                double t[N + 1];
                t[0] = now();
                for (long i = 0; i < iters; i++)
                    (enc ? sc_xts_encrypt_units : sc_xts_decrypt_units)(&ks, SC_TIER_AESNI, buf, buf, unit, count,
                                                                        (uint64_t)i * 64, unit / 512);
                t[1] = now();
                for (long i = 0; i < iters; i++) {
                    for (size_t c = 0; c < count; c++) {
                        int outl;
                        const uint64_t sector = (uint64_t)i * 64 + c;
                        memcpy(iv, &sector, 8);
                        EVP_CipherInit_ex(ctx, NULL, NULL, NULL, iv, -1);
                        EVP_CipherUpdate(ctx, buf + c * unit, &outl, buf + c * unit, (int)unit);
                    }
                }
                t[2] = now();
                for (long i = 0; i < iters; i++)
                    scb_ceiling_ecb(SCB_WIDTH_XMM, (const uint8_t(*)[16])rk, 14, buf, buf, bytes);
                t[3] = now();
                for (int k = 0; k < N; k++) {
                    const double r = (double)iters * (double)bytes / (t[k + 1] - t[k]) / 1e9;
                    if (r > best[k])
                        best[k] = r;
                }
            }
            printf("%s %4zux%-2zu native-aesni %5.2f | openssl %5.2f | ceiling-xmm %5.2f | aesni/ceiling %.2f"
                   " aesni/openssl %.2f\n", enc ? "enc" : "dec", unit, count, best[OURS], best[OSSL], best[CEIL],
                   best[OURS] / best[CEIL], best[OURS] / best[OSSL]);
        }
        EVP_CIPHER_CTX_free(ctx);
    }
    /* The VAES tiers against the ceiling of their own width, the same way. */
    static const int tiers[] = { SC_TIER_VAES256, SC_TIER_VAES512 }, widths[] = { SCB_WIDTH_YMM, SCB_WIDTH_ZMM };
    for (int v = 0; v < 2; v++) {
        if (!(sc_cpu_tiers() & (1u << tiers[v])) || scb_ceiling_unavailable(widths[v], NULL, 0))
            continue;
        for (int s = 0; s < 2; s++) {
            const size_t unit = shapes[s][0], count = shapes[s][1], bytes = unit * count;
            const long iters = (long)(3e8 / (double)bytes) + 1;
            double best[2] = { 0 };
            for (int rep = 0; rep < 15; rep++) {
                double t[3];
                t[0] = now();
                for (long i = 0; i < iters; i++)
                    sc_xts_encrypt_units(&ks, tiers[v], buf, buf, unit, count, (uint64_t)i * 64, unit / 512);
                t[1] = now();
                for (long i = 0; i < iters; i++)
                    scb_ceiling_ecb(widths[v], (const uint8_t(*)[16])rk, 14, buf, buf, bytes);
                t[2] = now();
                for (int k = 0; k < 2; k++) {
                    const double r = (double)iters * (double)bytes / (t[k + 1] - t[k]) / 1e9;
                    if (r > best[k])
                        best[k] = r;
                }
            }
            printf("enc %4zux%-2zu native-%s %5.2f | ceiling-%s %5.2f | tier/ceiling %.2f\n", unit, count,
                   v ? "vaes512" : "vaes256", best[0], v ? "zmm" : "ymm", best[1], best[0] / best[1]);
        }
    }
    sc_xts_key_wipe(&ks);
    return 0;
}
