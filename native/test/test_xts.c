/* Unit tests of the native kernel, run under AddressSanitizer and UBSan by `make test`.
 * Every tier this CPU can run is checked against the published vectors and against the
 * independent reference in ref_xts.c; every error code is provoked once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sectorcrypt.h"
#include "ref_xts.h"
#include "test_support.h"

static const char *tier_names[] = { "", "aesni", "vaes256", "vaes512" };

static void random_key(uint8_t *raw, size_t len)
{
    do fill(raw, len); while (memcmp(raw, raw + len / 2, len / 2) == 0);
}

/* Vector files in the "Name/Key1/Key2/Tweak/PT/CT" line format (IEEE 1619, plain64). */
static void test_vector_file(const char *path, int tier)
{
    FILE *f = fopen(path, "r");
    EXPECT(f != NULL, "cannot open %s", path);
    if (!f) return;
    static char line[20000];
    static uint8_t key[64], tweak[16], pt[8192], ct[8192], buf[8192];
    size_t k1 = 0, k2 = 0, n = 0;
    int count = 0;
    char name[256] = "";
    while (fgets(line, sizeof line, f)) {
        if (!strncmp(line, "Name = ", 7)) { strncpy(name, line + 7, sizeof name - 1); name[strcspn(name, "\r\n")] = 0; }
        else if (!strncmp(line, "Key1 = ", 7)) k1 = unhex(key, sizeof key, line + 7);
        else if (!strncmp(line, "Key2 = ", 7)) k2 = unhex(key + k1, sizeof key - k1, line + 7);
        else if (!strncmp(line, "Tweak = ", 8)) unhex(tweak, sizeof tweak, line + 8);
        else if (!strncmp(line, "PT = ", 5)) n = unhex(pt, sizeof pt, line + 5);
        else if (!strncmp(line, "CT = ", 5)) {
            unhex(ct, sizeof ct, line + 5);
            count++;
            sc_xts_key ks;
            /* Vector 1 has key1 == key2, which only known-answer tests may use. */
            int rc = sc_xts_key_expand(&ks, key, k1 + k2, SC_KEY_ALLOW_EQUAL_HALVES);
            EXPECT(rc == SC_OK, "%s expand rc=%d", name, rc);
            EXPECT(sc_xts_encrypt_unit(&ks, tier, tweak, pt, buf, n) == SC_OK && !memcmp(buf, ct, n),
                   "%s [%s] encrypt", name, tier_names[tier]);
            EXPECT(sc_xts_decrypt_unit(&ks, tier, tweak, ct, buf, n) == SC_OK && !memcmp(buf, pt, n),
                   "%s [%s] decrypt", name, tier_names[tier]);
            ref_xts(1, key, k1 + k2, tweak, pt, buf, n);
            EXPECT(!memcmp(buf, ct, n), "%s reference encrypt", name);
            uint64_t seq = 0;
            int high_zero = 1;
            for (int i = 0; i < 8; i++) seq |= (uint64_t)tweak[i] << (8 * i);
            for (int i = 8; i < 16; i++) high_zero &= tweak[i] == 0;
            if (high_zero) {
                EXPECT(sc_xts_encrypt_units(&ks, tier, pt, buf, n, 1, seq, 1) == SC_OK && !memcmp(buf, ct, n),
                       "%s [%s] batch encrypt", name, tier_names[tier]);
            }
            sc_xts_key_wipe(&ks);
        }
    }
    fclose(f);
    EXPECT(count > 0, "no vectors in %s", path);
}

/* One data unit with a caller tweak: random key, length, tweak, buffer misalignment,
 * in place or not; the kernel must equal the reference both ways. */
static void test_random_units(int tier, int rounds)
{
    for (int iter = 0; iter < rounds; iter++) {
        const size_t key_len = (rnd() & 1) ? 64 : 32;
        size_t len;
        switch (iter % 4) {
        case 0: len = 16 + rnd() % 16; break;         /* 16..31: stealing from the first block */
        case 1: len = 16 + rnd() % 1024; break;
        case 2: len = 16 * (1 + rnd() % 300); break;  /* whole blocks */
        default: len = 16 + rnd() % 70000; break;
        }
        const size_t off_in = rnd() % 16, off_out = rnd() % 16;
        const int in_place = (rnd() & 3) == 0;
        uint8_t key[64], tweak[16];
        random_key(key, key_len);
        fill(tweak, 16);
        /* Exact-size allocations so ASan sees any byte read or written past the end. */
        uint8_t *pt_mem = malloc(len + off_in), *out_mem = malloc(len + off_out), *ref = malloc(len);
        uint8_t *pt = pt_mem + off_in, *out = in_place ? pt : out_mem + off_out;
        fill(pt, len);
        ref_xts(1, key, key_len, tweak, pt, ref, len);
        sc_xts_key ks;
        EXPECT(sc_xts_key_expand(&ks, key, key_len, 0) == SC_OK, "expand");
        EXPECT(sc_xts_encrypt_unit(&ks, tier, tweak, pt, out, len) == SC_OK, "encrypt rc");
        EXPECT(!memcmp(out, ref, len), "[%s] encrypt len=%zu key=%zu in_place=%d", tier_names[tier], len, key_len, in_place);
        uint8_t *back = in_place ? out : pt;
        EXPECT(sc_xts_decrypt_unit(&ks, tier, tweak, out, back, len) == SC_OK, "decrypt rc");
        ref_xts(0, key, key_len, tweak, ref, ref, len);
        EXPECT(!memcmp(back, ref, len), "[%s] decrypt len=%zu", tier_names[tier], len);
        sc_xts_key_wipe(&ks);
        free(pt_mem); free(out_mem); free(ref);
    }
}

/* Batches: many units per call equal one reference call per unit, including IVs at the
 * top of the 64-bit range, unit sizes that need stealing, and both IV conventions: a step
 * of 1 (iv_large_sectors) and of unit/512 (dm-crypt's default, LUKS2), or any other step. */
static void test_random_batches(int tier, int rounds)
{
    static const size_t sizes[] = { 16, 17, 31, 512, 520, 4096, 4100, 65536 };
    for (int iter = 0; iter < rounds; iter++) {
        const size_t unit = sizes[rnd() % (sizeof sizes / sizeof sizes[0])];
        const size_t count = 1 + rnd() % (unit >= 65536 ? 4 : 70);
        const uint64_t step = (iter % 3 == 0) ? 1 : (iter % 3 == 1 && unit % 512 == 0) ? unit / 512 : 1 + rnd() % 9;
        const uint64_t span = (uint64_t)(count - 1) * step;
        const uint64_t first = (rnd() & 1) ? UINT64_MAX - span - rnd() % 3 : (rnd() >> (rnd() % 64)) % (UINT64_MAX - span);
        const size_t key_len = (rnd() & 1) ? 64 : 32;
        const int in_place = rnd() & 1;
        uint8_t key[64], tweak[16];
        random_key(key, key_len);
        const size_t total = unit * count;
        uint8_t *pt = malloc(total), *out = in_place ? pt : malloc(total), *ref = malloc(total);
        fill(pt, total);
        for (size_t u = 0; u < count; u++) {
            le_tweak(tweak, sizeof tweak, first + u * step);
            ref_xts(1, key, key_len, tweak, pt + u * unit, ref + u * unit, unit);
        }
        sc_xts_key ks;
        sc_xts_key_expand(&ks, key, key_len, 0);
        EXPECT(sc_xts_encrypt_units(&ks, tier, pt, out, unit, count, first, step) == SC_OK, "batch rc");
        EXPECT(!memcmp(out, ref, total), "[%s] batch encrypt unit=%zu count=%zu first=%llu step=%llu",
               tier_names[tier], unit, count, (unsigned long long)first, (unsigned long long)step);
        uint8_t *back = in_place ? out : pt;
        EXPECT(sc_xts_decrypt_units(&ks, tier, out, back, unit, count, first, step) == SC_OK, "batch rc");
        int same = 1;
        for (size_t u = 0; u < count && same; u++) {
            le_tweak(tweak, sizeof tweak, first + u * step);
            ref_xts(0, key, key_len, tweak, ref + u * unit, ref + u * unit, unit);
        }
        same = !memcmp(back, ref, total);
        EXPECT(same, "[%s] batch decrypt unit=%zu count=%zu", tier_names[tier], unit, count);
        sc_xts_key_wipe(&ks);
        free(pt); if (!in_place) free(out); free(ref);
    }
}

static void test_errors(int tier)
{
    uint8_t key[64], buf[64] = { 0 }, tweak[16] = { 0 };
    sc_xts_key ks;
    random_key(key, 64);
    EXPECT(sc_xts_key_expand(NULL, key, 64, 0) == SC_E_NULL, "null key struct");
    EXPECT(sc_xts_key_expand(&ks, NULL, 64, 0) == SC_E_NULL, "null raw key");
    EXPECT(sc_xts_key_expand(&ks, key, 48, 0) == SC_E_KEY_LENGTH, "48-byte key");
    EXPECT(ks.check == 0 && ks.rounds == 0, "struct zeroed after a refused expansion");
    uint8_t same[64];
    memcpy(same, key, 32);
    memcpy(same + 32, key, 32);
    EXPECT(sc_xts_key_expand(&ks, same, 64, 0) == SC_E_KEY_HALVES_EQUAL, "key1 == key2 (256)");
    memcpy(same + 16, same, 16);
    EXPECT(sc_xts_key_expand(&ks, same, 32, 0) == SC_E_KEY_HALVES_EQUAL, "key1 == key2 (128)");
    EXPECT(sc_xts_encrypt_unit(&ks, tier, tweak, buf, buf, 32) == SC_E_KEY_NOT_EXPANDED, "refused key unusable");

    EXPECT(sc_xts_key_expand(&ks, key, 64, 0) == SC_OK, "expand");
    EXPECT(sc_xts_encrypt_unit(&ks, tier, tweak, buf, buf, 15) == SC_E_LENGTH, "15 bytes");
    EXPECT(sc_xts_encrypt_unit(&ks, tier, tweak, buf, buf, SC_MAX_UNIT_BYTES + 1) == SC_E_LENGTH, "2^24+1 bytes");
    EXPECT(sc_xts_encrypt_unit(&ks, tier, NULL, buf, buf, 32) == SC_E_NULL, "null tweak");
    EXPECT(sc_xts_encrypt_unit(&ks, tier, tweak, buf, buf + 1, 32) == SC_E_OVERLAP, "overlap");
    EXPECT(sc_xts_encrypt_unit(&ks, 0, tweak, buf, buf, 32) == SC_E_TIER, "tier 0");
    EXPECT(sc_xts_encrypt_unit(&ks, 4, tweak, buf, buf, 32) == SC_E_TIER, "tier 4");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 16, 2, UINT64_MAX, 1) == SC_E_RANGE, "IV range overflow");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 16, 1, UINT64_MAX, 1) == SC_OK, "last IV");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 16, 2, UINT64_MAX - 7, 8) == SC_E_RANGE, "IV step past 2^64-1");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 16, 2, UINT64_MAX - 8, 8) == SC_OK, "IV step to 2^64-1");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 16, 3, 0, UINT64_MAX / 2 + 1) == SC_E_RANGE, "step product overflow");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 16, 1, 0, 0) == SC_E_RANGE, "IV step 0");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 8, 1, 0, 1) == SC_E_LENGTH, "unit of 8 bytes");
    EXPECT(sc_xts_encrypt_units(&ks, tier, NULL, buf, 16, 1, 0, 1) == SC_E_NULL, "null in");
    EXPECT(sc_xts_encrypt_units(&ks, tier, NULL, NULL, 16, 0, 0, 1) == SC_OK, "count 0 is a no-op");
    EXPECT(sc_xts_encrypt_units(&ks, tier, buf, buf, 1u << 20, SIZE_MAX / 2, 0, 1) == SC_E_LENGTH, "size overflow");
    EXPECT(sc_xts_decrypt_units(&ks, tier, buf, buf + 16, 16, 2, 0, 1) == SC_E_OVERLAP, "batch overlap");
    sc_xts_key_wipe(&ks);
    EXPECT(sc_xts_encrypt_unit(&ks, tier, tweak, buf, buf, 32) == SC_E_KEY_NOT_EXPANDED, "use after wipe");
    EXPECT(sc_xts_encrypt_unit(NULL, tier, tweak, buf, buf, 32) == SC_E_NULL, "null key");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s VECTOR_FILE...\n", argv[0]);
        return 2;
    }
    rnd_seed(0x9e3779b97f4a7c15ull);
    EXPECT(sc_abi_version() == SC_ABI_VERSION, "abi version");
    EXPECT(sc_xts_key_size() == sizeof(sc_xts_key) && sizeof(sc_xts_key) % 64 == 0, "key size");
    const uint32_t tiers = sc_cpu_tiers();
    int tested = 0;
    for (int tier = SC_TIER_AESNI; tier <= SC_TIER_VAES512; tier++) {
        if (!(tiers & (1u << tier))) {
            printf("tier %-8s not available on this CPU: skipped\n", tier_names[tier]);
            EXPECT(sc_selftest(tier) == SC_E_TIER, "selftest of a missing tier");
            continue;
        }
        int before = failures;
        EXPECT(sc_selftest(tier) == SC_OK, "selftest %s", tier_names[tier]);
        for (int i = 1; i < argc; i++)
            test_vector_file(argv[i], tier);
        test_random_units(tier, 400);
        test_random_batches(tier, 60);
        test_errors(tier);
        printf("tier %-8s %s\n", tier_names[tier], failures == before ? "ok" : "FAILED");
        tested++;
    }
    EXPECT(sc_selftest(0) == SC_E_TIER && sc_selftest(9) == SC_E_TIER, "selftest of unknown tier");
    printf("%d checks, %d failures, %d tiers tested\n", checks, failures, tested);
    return failures ? 1 : 0;
}
