/* Kernel micro-benchmark for tuning (make -C native bench): single thread, data in L1/L2,
 * best of several runs. The JMH suite in benchmarks/ is the reference for published
 * figures; this tool answers "did that change help?" in seconds. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sectorcrypt.h"

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

typedef int (*units_fn)(const sc_xts_key *, int, const uint8_t *, uint8_t *, size_t, size_t, uint64_t, uint64_t);

static double rate(const sc_xts_key *ks, int tier, units_fn fn, uint8_t *buf, size_t unit, size_t count)
{
    const size_t bytes = unit * count;
    const long iters = (long)(1.5e9 / (double)bytes) + 1;
    double best = 0;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = now();
        for (long i = 0; i < iters; i++)
            fn(ks, tier, buf, buf, unit, count, (uint64_t)i * 64, unit >= 512 ? unit / 512 : 1);
        double r = (double)iters * (double)bytes / (now() - t0) / 1e9;
        if (r > best)
            best = r;
    }
    return best;
}

static double ceiling(const sc_xts_key *ks, uint8_t *buf, size_t bytes)
{
    const long iters = (long)(1.5e9 / (double)bytes) + 1;
    double best = 0;
    for (int rep = 0; rep < 7; rep++) {
        double t0 = now();
        for (long i = 0; i < iters; i++)
            sc_bench_ceiling_ecb(ks, buf, buf, bytes);
        double r = (double)iters * (double)bytes / (now() - t0) / 1e9;
        if (r > best)
            best = r;
    }
    return best;
}

int main(void)
{
    static uint8_t buf[64 * 512] __attribute__((aligned(64)));
    uint8_t key[64];
    for (int i = 0; i < 64; i++)
        key[i] = (uint8_t)(i * 7 + 3);
    sc_xts_key ks;
    sc_xts_key_expand(&ks, key, 64, 0);
    const char *names[] = { "", "aesni", "vaes256", "vaes512" };
    const double ceil = ceiling(&ks, buf, 4096);
    printf("ceiling (AES-256 ECB, VAES zmm, 4 KiB in L1): %.2f GB/s\n", ceil);
    for (int tier = 1; tier <= 3; tier++) {
        if (!(sc_cpu_tiers() & (1u << tier)))
            continue;
        double e4 = rate(&ks, tier, sc_xts_encrypt_units, buf, 4096, 1);
        double d4 = rate(&ks, tier, sc_xts_decrypt_units, buf, 4096, 1);
        double e512 = rate(&ks, tier, sc_xts_encrypt_units, buf, 512, 1);
        double e512x64 = rate(&ks, tier, sc_xts_encrypt_units, buf, 512, 64);
        double d512x64 = rate(&ks, tier, sc_xts_decrypt_units, buf, 512, 64);
        printf("%-8s 4096x1 enc %5.2f (%.2f) dec %5.2f | 512x1 enc %5.2f (%.2f) | 512x64 enc %5.2f (%.2f) dec %5.2f GB/s (x ceiling)\n",
               names[tier], e4, e4 / ceil, d4, e512, e512 / ceil, e512x64, e512x64 / ceil, d512x64);
    }
    sc_xts_key_wipe(&ks);
    return 0;
}
