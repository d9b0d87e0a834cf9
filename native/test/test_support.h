/* What both kernel tests share: the check counter, reproducible random data and the hex
 * parser for vector files, so each rule has one home. */
#ifndef SC_TEST_SUPPORT_H
#define SC_TEST_SUPPORT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

extern int checks, failures;

/* Counts every check and reports a failed one without stopping, so one run lists them all. */
#define EXPECT(cond, ...)                                                                \
    do {                                                                                 \
        checks++;                                                                        \
        if (!(cond)) {                                                                   \
            failures++;                                                                  \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                         \
            fprintf(stderr, __VA_ARGS__);                                                \
            fputc('\n', stderr);                                                         \
        }                                                                                \
    } while (0)

/* xorshift64*: reproducible pseudo-random test data. Each test seeds its own stream
 * (non-zero), so a failure reproduces from the same seed. */
void rnd_seed(uint64_t seed);
uint64_t rnd(void);
void fill(uint8_t *p, size_t n);

/* Hex digits up to the end of the string or line into at most cap bytes; "-" is empty.
 * Returns the byte count. */
size_t unhex(uint8_t *out, size_t cap, const char *hex);

/* A len-byte tweak holding n little-endian in its first 8 bytes (dm-crypt's plain64). */
void le_tweak(uint8_t *t, size_t len, uint64_t n);

#endif
