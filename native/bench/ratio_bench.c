/* Each XTS tier against the AES ceiling of its own width, for tuning on a noisy machine:
 * make -C native bench-ratio (pin it: taskset -c 1 make -C native bench-ratio).
 *
 * kernel_bench and bench-openssl keep the best GB/s of a few runs of ~0.3-1.5 s; on a shared
 * guest whose neighbour (or SMT sibling) is busy for seconds at a time, those runs move by
 * 5-15 % and so do the ratios. This tool instead times very short runs (a few calls, ~1-6 us)
 * with the TSC, alternating tier encrypt, tier decrypt and ceiling, thousands of times, and
 * keeps the fastest of each: the run no interrupt or neighbour touched. The ratio
 * ceiling ticks / tier ticks is then stable to about +-0.01 within one run. Benchmark only. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <x86intrin.h>

#include "bench_keys.h"
#include "sc_bench.h"
#include "sectorcrypt.h"

static inline unsigned long long ticks(void)
{
    unsigned aux;
    _mm_lfence();
    const unsigned long long t = __rdtscp(&aux);
    _mm_lfence();
    return t;
}

int main(int argc, char **argv)
{
    static uint8_t buf[64 * 512] __attribute__((aligned(64)));
    uint8_t key[64], rk[15][16];
    bench_xts_key(key);
    bench_round_keys(rk);
    sc_xts_key ks;
    sc_xts_key_expand(&ks, key, 64, 0);
    const int reps = argc > 1 ? atoi(argv[1]) : 20000;
    static const int tiers[] = { SC_TIER_AESNI, SC_TIER_VAES256, SC_TIER_VAES512 };
    static const int widths[] = { SCB_WIDTH_XMM, SCB_WIDTH_YMM, SCB_WIDTH_ZMM };
    static const char *names[] = { "aesni", "vaes256", "vaes512" }, *regs[] = { "xmm", "ymm", "zmm" };
    /* 4096x1 is issue 13's shape; 4096x8 shows the steady state (no per-call cost). */
    static const size_t shapes[][2] = { { 4096, 1 }, { 512, 64 }, { 4096, 8 } };
    printf("TSC ticks per call, fastest of %d alternating runs; ratio = ceiling / tier\n", reps);
    for (int v = 0; v < 3; v++) {
        if (!(sc_cpu_tiers() & (1u << tiers[v])) || scb_ceiling_unavailable(widths[v], NULL, 0))
            continue;
        for (int s = 0; s < 3; s++) {
            const size_t unit = shapes[s][0], count = shapes[s][1], bytes = unit * count;
            const int calls = bytes >= 32768 ? 1 : 4;
            unsigned long long best[3] = { ~0ull, ~0ull, ~0ull };
            for (int rep = 0; rep < reps; rep++) {
                unsigned long long t[4];
                t[0] = ticks();
                for (int c = 0; c < calls; c++)
                    sc_xts_encrypt_units(&ks, tiers[v], buf, buf, unit, count, (uint64_t)(rep * calls + c) * 64, unit / 512);
                t[1] = ticks();
                for (int c = 0; c < calls; c++)
                    sc_xts_decrypt_units(&ks, tiers[v], buf, buf, unit, count, (uint64_t)(rep * calls + c) * 64, unit / 512);
                t[2] = ticks();
                for (int c = 0; c < calls; c++)
                    scb_ceiling_ecb(widths[v], (const uint8_t(*)[16])rk, 14, buf, buf, bytes);
                t[3] = ticks();
                for (int k = 0; k < 3; k++)
                    if (t[k + 1] - t[k] < best[k])
                        best[k] = t[k + 1] - t[k];
            }
            printf("%-7s %4zux%-2zu enc %6.0f dec %6.0f ceiling-%s %6.0f ticks | x ceiling enc %.3f dec %.3f\n",
                   names[v], unit, count, (double)best[0] / calls, (double)best[1] / calls, regs[v],
                   (double)best[2] / calls, (double)best[2] / (double)best[0], (double)best[2] / (double)best[1]);
        }
    }
    sc_xts_key_wipe(&ks);
    return 0;
}
