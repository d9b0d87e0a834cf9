/* The helpers declared in test_support.h. */
#include <string.h>

#include "test_support.h"

int checks, failures;

static uint64_t rng_state = 1;

void rnd_seed(uint64_t seed) { rng_state = seed; }

uint64_t rnd(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545f4914f6cdd1dull;
}

void fill(uint8_t *p, size_t n) { for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rnd(); }

size_t unhex(uint8_t *out, size_t cap, const char *hex)
{
    size_t n = 0;
    if (!strcmp(hex, "-"))
        return 0;
    /* sscanf skips the line end, matches nothing and stops the loop there. */
    for (; hex[0] && hex[1] && n < cap; hex += 2) {
        unsigned v;
        if (sscanf(hex, "%2x", &v) != 1)
            break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

void le_tweak(uint8_t *t, size_t len, uint64_t n)
{
    memset(t, 0, len);
    for (int i = 0; i < 8; i++) t[i] = (uint8_t)(n >> (8 * i));
}
