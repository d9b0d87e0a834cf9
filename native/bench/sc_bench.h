/*
 * sc_bench.h - the AES ceilings, for benchmarks only.
 *
 * Built into libsectorcrypt_bench.so by the benchmarks module (make -C native bench-lib) and
 * linked into native/bench/kernel_bench; never part of libsectorcrypt.so or of its ABI
 * (include/sectorcrypt.h), and not a way to encrypt data: this is ECB.
 *
 * A ceiling is AES rounds alone at one vector width: loads, the round-key XOR, aesenc and
 * aesenclast, stores, with enough registers in flight to cover aesenc's latency; no tweak
 * work. An XTS tier of the same width on the same core can approach it, not pass it:
 *
 *   SCB_WIDTH_XMM  128  AES-NI (legacy SSE encoding, as the AES-NI tier), 8 xmm = 8 blocks in flight
 *   SCB_WIDTH_YMM  256  VAES on ymm (AVX2), 8 ymm = 16 blocks in flight
 *   SCB_WIDTH_ZMM  512  VAES on zmm (AVX-512), 8 zmm = 32 blocks in flight
 *
 * Each width runs where the XTS tier of that width runs (the same CPUID and XCR0 checks as
 * the kernel's sc_cpu_tiers, done here again so this library needs nothing from the kernel).
 *
 * The caller passes the round keys itself, 15 of 16 bytes (rounds + 1 are used). aesenc
 * takes the same time whatever the key, so arbitrary or random round keys give identical
 * timing; with a real expanded AES schedule the output is AES-ECB under that key (the
 * benchmarks' tests check that).
 */
#ifndef SC_BENCH_H
#define SC_BENCH_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SCB_API __attribute__((visibility("default")))
#else
#define SCB_API
#endif

#define SCB_WIDTH_XMM 128
#define SCB_WIDTH_YMM 256
#define SCB_WIDTH_ZMM 512

#define SCB_OK       0
#define SCB_E_ARG   -1 /* a NULL pointer, rounds not 10 or 14, or len not a multiple of 64 */
#define SCB_E_WIDTH -2 /* width unknown, or not runnable on this CPU and OS */

/*
 * Whether the ceiling of width bits runs here: 0 if it does; otherwise SCB_E_WIDTH, with
 * the reason ("the CPU lacks VAES", ...) written to reason (NUL-terminated, cut to
 * reason_len bytes) when reason is not NULL.
 */
SCB_API int scb_ceiling_unavailable(int width, char *reason, size_t reason_len);

/*
 * AES-encrypts len bytes (a multiple of 64) from in to out (in == out allowed) in ECB mode
 * with the given rounds (10 or 14) and round keys, on registers of width bits.
 */
SCB_API int scb_ceiling_ecb(int width, const uint8_t round_keys[15][16], int rounds,
                            const uint8_t *in, uint8_t *out, size_t len);

#ifdef __cplusplus
}
#endif

#endif /* SC_BENCH_H */
