/* Unit tests of the HCTR2 kernel, run under AddressSanitizer and UBSan by `make test`:
 * the authors' published HCTR2, XCTR and POLYVAL vectors (converted by hctr2_vectors.py),
 * the kernel against the independent reference in ref_hctr2.c on random lengths, tweaks
 * and alignments, the plain64 sector entry points, and every error code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sectorcrypt.h"
#include "internal.h"
#include "ref_hctr2.h"
#include "test_support.h"

static int counts[3];
/* The tier under test: every tier this CPU runs, one after another. */
static int tier;

static void one_vector(const char *kind, const char *f_key, const char *f_tweak, const char *f_in, const char *f_out, int line)
{
    static uint8_t key[32], tweak[64], in[1024], want[1024], got[1024];
    const size_t key_len = unhex(key, sizeof key, f_key), tweak_len = unhex(tweak, sizeof tweak, f_tweak);
    const size_t len = unhex(in, sizeof in, f_in), out_len = unhex(want, sizeof want, f_out);
    sc_hctr2_key ks;
    if (!strcmp(kind, "HCTR2")) {
        counts[0]++;
        EXPECT(out_len == len, "line %d: lengths", line);
        EXPECT(sc_hctr2_key_expand(&ks, key, key_len) == SC_OK, "line %d: expand", line);
        EXPECT(sc_hctr2_encrypt(&ks, tier, tweak, tweak_len, in, got, len) == SC_OK && !memcmp(got, want, len),
               "line %d: HCTR2 encrypt len=%zu tweak=%zu", line, len, tweak_len);
        EXPECT(sc_hctr2_decrypt(&ks, tier, tweak, tweak_len, want, got, len) == SC_OK && !memcmp(got, in, len),
               "line %d: HCTR2 decrypt len=%zu", line, len);
        ref_hctr2(1, key, key_len, tweak, tweak_len, in, got, len);
        EXPECT(!memcmp(got, want, len), "line %d: reference HCTR2 encrypt", line);
        ref_hctr2(0, key, key_len, tweak, tweak_len, want, got, len);
        EXPECT(!memcmp(got, in, len), "line %d: reference HCTR2 decrypt", line);
        sc_hctr2_key_wipe(&ks);
    } else if (!strcmp(kind, "XCTR")) {
        counts[1]++;
        EXPECT(sc_hctr2_key_expand(&ks, key, key_len) == SC_OK, "line %d: expand", line);
        sc_hctr2_ops_for(tier)->xctr(&ks, tweak, in, got, len);
        EXPECT(!memcmp(got, want, len), "line %d: XCTR len=%zu", line, len);
        ref_xctr(key, key_len, tweak, in, got, len);
        EXPECT(!memcmp(got, want, len), "line %d: reference XCTR", line);
        sc_hctr2_key_wipe(&ks);
    } else if (!strcmp(kind, "POLYVAL")) {
        counts[2]++;
        memset(&ks, 0, sizeof ks);
        memcpy(ks.h_pow[SC_HCTR2_NPOW - 1], key, 16);
        sc_hctr2_powers_aesni(&ks);
        sc_hctr2_ops_for(tier)->polyval(&ks, in, len, got);
        EXPECT(!memcmp(got, want, 16), "line %d: POLYVAL len=%zu", line, len);
        ref_polyval(key, in, len, got);
        EXPECT(!memcmp(got, want, 16), "line %d: reference POLYVAL", line);
        sc_hctr2_key_wipe(&ks);
    } else {
        EXPECT(0, "line %d: unknown kind %s", line, kind);
    }
}

static void test_vector_file(const char *path)
{
    FILE *f = fopen(path, "r");
    EXPECT(f != NULL, "cannot open %s", path);
    if (!f) return;
    static char line[8192], kind[16], k[128], t[256], in[4096], out[4096];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        n++;
        if (line[0] == '#')
            continue;
        if (sscanf(line, "%15s %127s %255s %4095s %4095s", kind, k, t, in, out) != 5) {
            EXPECT(0, "%s:%d: malformed line", path, n);
            continue;
        }
        one_vector(kind, k, t, in, out, n);
    }
    fclose(f);
    printf("vectors: %d HCTR2, %d XCTR, %d POLYVAL\n", counts[0], counts[1], counts[2]);
    EXPECT(counts[0] >= 550 && counts[1] >= 140 && counts[2] >= 45, "fewer vectors than published");
    memset(counts, 0, sizeof counts);
}

static size_t random_len(int iter)
{
    switch (iter % 5) {
    case 0: return 16 + rnd() % 48;                  /* the first block and a little */
    case 1: return 16 + rnd() % 1100;
    case 2: return 16 * (1 + rnd() % 300);           /* whole blocks */
    case 3: return 16 + rnd() % 8192;
    default: return (iter % 25 == 4) ? 16 + rnd() % 65521 : 16 + rnd() % 4096; /* 16..65536 */
    }
}

/* One message with a random tweak: kernel against the reference both ways, random
 * misalignment, in place or not, and the round trip. */
static void test_random_messages(int rounds)
{
    for (int iter = 0; iter < rounds; iter++) {
        const size_t key_len = (rnd() & 1) ? 32 : 16;
        const size_t len = random_len(iter);
        const size_t tweak_len = (iter % 3 == 0) ? 32 : rnd() % 80;
        const size_t off_in = rnd() % 16, off_out = rnd() % 16;
        const int in_place = (rnd() & 3) == 0;
        uint8_t key[32];
        fill(key, key_len);
        /* Exact-size allocations so ASan sees any byte read or written past the end. */
        uint8_t *tweak = malloc(tweak_len ? tweak_len : 1);
        uint8_t *pt_mem = malloc(len + off_in), *out_mem = malloc(len + off_out);
        uint8_t *ref = malloc(len), *orig = malloc(len);
        uint8_t *pt = pt_mem + off_in, *out = in_place ? pt : out_mem + off_out;
        fill(tweak, tweak_len);
        fill(pt, len);
        memcpy(orig, pt, len);
        ref_hctr2(1, key, key_len, tweak, tweak_len, pt, ref, len);
        sc_hctr2_key ks;
        EXPECT(sc_hctr2_key_expand(&ks, key, key_len) == SC_OK, "expand");
        EXPECT(sc_hctr2_encrypt(&ks, tier, tweak_len ? tweak : NULL, tweak_len, pt, out, len) == SC_OK, "encrypt rc");
        EXPECT(!memcmp(out, ref, len), "encrypt len=%zu tweak=%zu key=%zu in_place=%d", len, tweak_len, key_len, in_place);
        /* Decryption against the reference on a fresh random ciphertext too, so a bug that
         * encryption and decryption share cannot cancel out. */
        uint8_t *ct = malloc(len), *ref_pt = malloc(len), *dec = malloc(len);
        fill(ct, len);
        ref_hctr2(0, key, key_len, tweak, tweak_len, ct, ref_pt, len);
        EXPECT(sc_hctr2_decrypt(&ks, tier, tweak, tweak_len, ct, dec, len) == SC_OK && !memcmp(dec, ref_pt, len),
               "decrypt len=%zu tweak=%zu", len, tweak_len);
        uint8_t *back = in_place ? out : pt;
        EXPECT(sc_hctr2_decrypt(&ks, tier, tweak, tweak_len, out, back, len) == SC_OK, "decrypt rc");
        EXPECT(!memcmp(back, orig, len), "round trip len=%zu tweak=%zu in_place=%d", len, tweak_len, in_place);
        sc_hctr2_key_wipe(&ks);
        free(tweak); free(pt_mem); free(out_mem); free(ref); free(orig); free(ct); free(ref_pt); free(dec);
    }
}

/* Sector batches equal one reference call per sector with the dm-crypt plain64 tweak. */
static void test_random_units(int rounds)
{
    static const size_t sizes[] = { 16, 17, 31, 512, 520, 4096, 4100 };
    for (int iter = 0; iter < rounds; iter++) {
        const size_t unit = sizes[rnd() % (sizeof sizes / sizeof sizes[0])];
        const size_t count = 1 + rnd() % (unit >= 4096 ? 3 : 12);
        const uint64_t step = (iter % 3 == 0) ? 1 : (iter % 3 == 1 && unit % 512 == 0) ? unit / 512 : 1 + rnd() % 9;
        const uint64_t span = (uint64_t)(count - 1) * step;
        const uint64_t first = (rnd() & 1) ? UINT64_MAX - span - rnd() % 3 : (rnd() >> (rnd() % 64)) % (UINT64_MAX - span);
        const size_t key_len = (rnd() & 1) ? 32 : 16;
        const int in_place = rnd() & 1;
        uint8_t key[32], tweak[32];
        fill(key, key_len);
        const size_t total = unit * count;
        uint8_t *pt = malloc(total), *out = in_place ? pt : malloc(total), *ref = malloc(total), *orig = malloc(total);
        fill(pt, total);
        memcpy(orig, pt, total);
        for (size_t u = 0; u < count; u++) {
            le_tweak(tweak, sizeof tweak, first + u * step);
            ref_hctr2(1, key, key_len, tweak, 32, pt + u * unit, ref + u * unit, unit);
        }
        sc_hctr2_key ks;
        sc_hctr2_key_expand(&ks, key, key_len);
        EXPECT(sc_hctr2_encrypt_units(&ks, tier, pt, out, unit, count, first, step) == SC_OK, "units rc");
        EXPECT(!memcmp(out, ref, total), "units encrypt unit=%zu count=%zu first=%llu step=%llu", unit, count,
               (unsigned long long)first, (unsigned long long)step);
        uint8_t *back = in_place ? out : pt;
        EXPECT(sc_hctr2_decrypt_units(&ks, tier, out, back, unit, count, first, step) == SC_OK, "units rc");
        EXPECT(!memcmp(back, orig, total), "units decrypt unit=%zu count=%zu", unit, count);
        sc_hctr2_key_wipe(&ks);
        free(pt); if (!in_place) free(out); free(ref); free(orig);
    }
}

static void test_errors(void)
{
    uint8_t key[32], buf[64] = { 0 }, tweak[32] = { 0 };
    sc_hctr2_key ks;
    fill(key, 32);
    EXPECT(sc_hctr2_key_expand(NULL, key, 32) == SC_E_NULL, "null key struct");
    EXPECT(sc_hctr2_key_expand(&ks, NULL, 32) == SC_E_NULL, "null raw key");
    EXPECT(sc_hctr2_key_expand(&ks, key, 24) == SC_E_KEY_LENGTH, "24-byte key");
    EXPECT(sc_hctr2_key_expand(&ks, key, 64) == SC_E_KEY_LENGTH, "64-byte key (that is XTS)");
    EXPECT(ks.check == 0 && ks.rounds == 0, "struct zeroed after a refused expansion");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, 32, buf, buf, 32) == SC_E_KEY_NOT_EXPANDED, "refused key unusable");
    EXPECT(sc_hctr2_key_expand(&ks, key, 32) == SC_OK, "expand");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, 32, buf, buf, 15) == SC_E_LENGTH, "15 bytes");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, 32, buf, buf, SC_MAX_UNIT_BYTES + 1) == SC_E_LENGTH, "2^24+1 bytes");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, SC_MAX_UNIT_BYTES + 1, buf, buf, 32) == SC_E_LENGTH, "tweak too long");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, NULL, 32, buf, buf, 32) == SC_E_NULL, "null tweak with a length");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, NULL, 0, buf, buf, 32) == SC_OK, "null empty tweak");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, 32, NULL, buf, 32) == SC_E_NULL, "null in");
    EXPECT(sc_hctr2_decrypt(&ks, SC_TIER_AESNI, tweak, 32, buf, NULL, 32) == SC_E_NULL, "null out");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, 32, buf, buf + 1, 32) == SC_E_OVERLAP, "overlap");
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, 32, buf, (uint8_t *)&ks, 32) == SC_E_OVERLAP, "output over the key");
    EXPECT(sc_hctr2_encrypt(&ks, 0, tweak, 32, buf, buf, 32) == SC_E_TIER, "tier 0");
    EXPECT(sc_hctr2_encrypt(&ks, 4, tweak, 32, buf, buf, 32) == SC_E_TIER, "tier 4");
    for (int t = SC_TIER_VAES256; t <= SC_TIER_VAES512; t++) {
        const int want = (sc_cpu_tiers() & (1u << t)) ? SC_OK : SC_E_TIER;
        EXPECT(sc_hctr2_encrypt(&ks, t, tweak, 32, buf, buf, 32) == want, "tier %d runs where the CPU does", t);
        EXPECT(sc_hctr2_encrypt_units(&ks, t, buf, buf, 16, 1, 0, 1) == want, "tier %d units", t);
    }
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, buf, buf, 16, 2, UINT64_MAX, 1) == SC_E_RANGE, "IV range overflow");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, buf, buf, 16, 1, UINT64_MAX, 1) == SC_OK, "last IV");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, buf, buf, 16, 2, UINT64_MAX - 7, 8) == SC_E_RANGE, "step past 2^64-1");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, buf, buf, 16, 3, 0, UINT64_MAX / 2 + 1) == SC_E_RANGE, "step product overflow");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, buf, buf, 16, 1, 0, 0) == SC_E_RANGE, "IV step 0");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, buf, buf, 8, 1, 0, 1) == SC_E_LENGTH, "unit of 8 bytes");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, NULL, buf, 16, 1, 0, 1) == SC_E_NULL, "null in");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, NULL, NULL, 16, 0, 0, 1) == SC_OK, "count 0 is a no-op");
    EXPECT(sc_hctr2_encrypt_units(&ks, SC_TIER_AESNI, buf, buf, 1u << 20, SIZE_MAX / 2, 0, 1) == SC_E_LENGTH, "size overflow");
    EXPECT(sc_hctr2_decrypt_units(&ks, SC_TIER_AESNI, buf, buf + 16, 16, 2, 0, 1) == SC_E_OVERLAP, "batch overlap");
    sc_hctr2_key_wipe(&ks);
    EXPECT(sc_hctr2_encrypt(&ks, SC_TIER_AESNI, tweak, 32, buf, buf, 32) == SC_E_KEY_NOT_EXPANDED, "use after wipe");
    EXPECT(sc_hctr2_encrypt(NULL, SC_TIER_AESNI, tweak, 32, buf, buf, 32) == SC_E_NULL, "null key");
    sc_hctr2_key_wipe(NULL);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s HCTR2_VECTORS.txt\n", argv[0]);
        return 2;
    }
    rnd_seed(0x243f6a8885a308d3ull);
    EXPECT(sc_hctr2_key_size() == sizeof(sc_hctr2_key) && sizeof(sc_hctr2_key) % 64 == 0, "key size");
    if (!(sc_cpu_tiers() & (1u << SC_TIER_AESNI))) {
        printf("no AES-NI tier on this CPU: HCTR2 tests skipped\n");
        return 0;
    }
    static const char *const names[] = { "", "aesni", "vaes256", "vaes512" };
    for (tier = SC_TIER_AESNI; tier <= SC_TIER_VAES512; tier++) {
        if (!(sc_cpu_tiers() & (1u << tier))) {
            printf("hctr2 %s: not run, this CPU lacks the tier\n", names[tier]);
            continue;
        }
        const int before = checks, failed = failures;
        test_vector_file(argv[1]);
        test_random_messages(250);
        test_random_units(60);
        printf("hctr2 %s: %d checks, %d failures\n", names[tier], checks - before, failures - failed);
    }
    test_errors();
    printf("hctr2: %d checks, %d failures\n", checks, failures);
    return failures ? 1 : 0;
}
