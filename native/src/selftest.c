/* Known-answer self-test (power-on self-test in FIPS 140-3 terms) for one tier. */
#include <string.h>

#include "internal.h"

typedef struct {
    size_t len;
    const char *key, *tweak, *pt, *ct;
} kat;

/* Whole-block and ciphertext-stealing cases for both key sizes; values from the standard. */
static const kat KATS[] = {
    { /* IEEE 1619-2007 Annex B vector 2: XTS-AES-128, 32 bytes, DataUnitSeqNo 0x3333333333 */
      32,
        "1111111111111111111111111111111122222222222222222222222222222222",
        "33333333330000000000000000000000",
        "4444444444444444444444444444444444444444444444444444444444444444",
        "c454185e6a16936e39334038acef838bfb186fff7480adc4289382ecd6d394f0" },
    { /* IEEE 1619-2007 Annex B vector 10: XTS-AES-256, 512 bytes, DataUnitSeqNo 0xff */
      512,
        "271828182845904523536028747135266249775724709369995957496696762731415926535897932384626433832795"
        "02884197169399375105820974944592",
        "ff000000000000000000000000000000",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
        "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
        "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
        "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f"
        "505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
        "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        "1c3b3a102f770386e4836c99e370cf9bea00803f5e482357a4ae12d414a3e63b5d31e276f8fe4a8d66b317f9ac683f44"
        "680a86ac35adfc3345befecb4bb188fd5776926c49a3095eb108fd1098baec70aaa66999a72a82f27d848b21d4a741b0"
        "c5cd4d5fff9dac89aeba122961d03a757123e9870f8acf1000020887891429ca2a3e7a7d7df7b10355165c8b9a6d0a7d"
        "e8b062c4500dc4cd120c0f7418dae3d0b5781c34803fa75421c790dfe1de1834f280d7667b327f6c8cd7557e12ac3a0f"
        "93ec05c52e0493ef31a12d3d9260f79a289d6a379bc70c50841473d1a8cc81ec583e9645e07b8d9670655ba5bbcfecc6"
        "dc3966380ad8fecb17b6ba02469a020a84e18e8f84252070c13e9f1f289be54fbc481457778f616015e1327a02b140f1"
        "505eb309326d68378f8374595c849d84f4c333ec4423885143cb47bd71c5edae9be69a2ffeceb1bec9de244fbe15992b"
        "11b77c040f12bd8f6a975a44a0f90c29a9abc3d4d893927284c58754cce294529f8614dcd2aba991925fedc4ae74ffac"
        "6e333b93eb4aff0479da9a410e4450e0dd7ae4c6e2910900575da401fc07059f645e8b7e9bfdef33943054ff84011493"
        "c27b3429eaedb4ed5376441a77ed43851ad77f16f541dfd269d50d6a5f14fb0aab1cbb4c1550be97f7ab4066193c4caa"
        "773dad38014bd2092fa755c824bb5e54c4f36ffda9fcea70b9c6e693e148c151" },
    { /* IEEE 1619-2007 Annex B vector 15: XTS-AES-128, 17 bytes, DataUnitSeqNo 0x123456789a */
      17,
        "fffefdfcfbfaf9f8f7f6f5f4f3f2f1f0bfbebdbcbbbab9b8b7b6b5b4b3b2b1b0",
        "9a785634120000000000000000000000",
        "000102030405060708090a0b0c0d0e0f10",
        "6c1625db4671522d3d7599601de7ca09ed" },
    { /* IEEE 1619-2007 Annex B vector 19: XTS-AES-128, 512 bytes, DataUnitSeqNo 0xa987654321 */
      512,
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeefc0c1c2c3c4c5c6c7c8c9cacbcccdcecf",
        "21436587a90000000000000000000000",
        "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f"
        "303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
        "606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f808182838485868788898a8b8c8d8e8f"
        "909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
        "c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedfe0e1e2e3e4e5e6e7e8e9eaebecedeeef"
        "f0f1f2f3f4f5f6f7f8f9fafbfcfdfeff000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f404142434445464748494a4b4c4d4e4f"
        "505152535455565758595a5b5c5d5e5f606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
        "808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9fa0a1a2a3a4a5a6a7a8a9aaabacadaeaf"
        "b0b1b2b3b4b5b6b7b8b9babbbcbdbebfc0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
        "e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff",
        "38b45812ef43a05bd957e545907e223b954ab4aaf088303ad910eadf14b42be68b2461149d8c8ba85f992be970bc621f"
        "1b06573f63e867bf5875acafa04e42ccbd7bd3c2a0fb1fff791ec5ec36c66ae4ac1e806d81fbf709dbe29e471fad3854"
        "9c8e66f5345d7c1eb94f405d1ec785cc6f6a68f6254dd8339f9d84057e01a17741990482999516b5611a38f41bb6478e"
        "6f173f320805dd71b1932fc333cb9ee39936beea9ad96fa10fb4112b901734ddad40bc1878995f8e11aee7d141a2f5d4"
        "8b7a4e1e7f0b2c04830e69a4fd1378411c2f287edf48c6c4e5c247a19680f7fe41cefbd49b582106e3616cbbe4dfb234"
        "4b2ae9519391f3e0fb4922254b1d6d2d19c6d4d537b3a26f3bcc51588b32f3eca0829b6a5ac72578fb814fb43cf80d64"
        "a233e3f997a3f02683342f2b33d25b492536b93becb2f5e1a8b82f5b883342729e8ae09d16938841a21a97fb543eea3b"
        "bff59f13c1a18449e398701c1ad51648346cbc04c27bb2da3b93a1372ccae548fb53bee476f9e9c91773b1bb19828394"
        "d55d3e1a20ed69113a860b6829ffa847224604435070221b257e8dff783615d2cae4803a93aa4334ab482a0afac9c0ae"
        "da70b45a481df5dec5df8cc0f423c77a5fd46cd312021d4b438862419a791be03bb4d97c0e59578542531ba466a83baf"
        "92cefc151b5cc1611a167893819b63fb8a6b18e86de60290fa72b797b0ce59f3" },
};

static int hexval(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

static void unhex(uint8_t *out, const char *hex, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = (uint8_t)(hexval(hex[2 * i]) << 4 | hexval(hex[2 * i + 1]));
}

static uint64_t le64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static int high_half_zero(const uint8_t *tweak)
{
    uint8_t acc = 0;
    for (int i = 8; i < 16; i++)
        acc |= tweak[i];
    return acc == 0;
}

#define MAX_KAT 512
#define CHECK(cond) do { if (!(cond)) { rc = SC_E_SELFTEST; goto out; } } while (0)

static int run_kat(const kat *v, int tier, sc_xts_key *key)
{
    uint8_t raw[64], tweak[16], pt[MAX_KAT], ct[MAX_KAT], buf[MAX_KAT];
    const size_t key_len = strlen(v->key) / 2;
    int rc = SC_OK;
    unhex(raw, v->key, key_len);
    unhex(tweak, v->tweak, 16);
    unhex(pt, v->pt, v->len);
    unhex(ct, v->ct, v->len);
    CHECK(sc_xts_key_expand(key, raw, key_len, 0) == SC_OK);

    CHECK(sc_xts_encrypt_unit(key, tier, tweak, pt, buf, v->len) == SC_OK);
    CHECK(memcmp(buf, ct, v->len) == 0);
    CHECK(sc_xts_decrypt_unit(key, tier, tweak, buf, buf, v->len) == SC_OK); /* in place */
    CHECK(memcmp(buf, pt, v->len) == 0);
    if (high_half_zero(tweak)) {
        const uint64_t unit = le64(tweak);
        CHECK(sc_xts_encrypt_units(key, tier, pt, buf, v->len, 1, unit, 1) == SC_OK);
        CHECK(memcmp(buf, ct, v->len) == 0);
        CHECK(sc_xts_decrypt_units(key, tier, buf, buf, v->len, 1, unit, 1) == SC_OK);
        CHECK(memcmp(buf, pt, v->len) == 0);
    }
out:
    sc_secure_zero(raw, sizeof raw);
    sc_xts_key_wipe(key);
    return rc;
}

/* Several units in one batch call must equal one call per unit, across the top of the
 * 64-bit IV range, with an IV step other than 1 (as 4096-byte sectors have under LUKS2's
 * 512-byte IV unit) and with ciphertext stealing inside each unit. */
static int run_batch_agreement(int tier, sc_xts_key *key)
{
    enum { UNITS = 5, UNIT = 100 };
    uint8_t raw[64], data[UNITS * UNIT], batch[UNITS * UNIT], single[UNIT], tweak[16];
    enum { STEP = 8 };
    const uint64_t first = UINT64_MAX - (UNITS - 1) * STEP;
    int rc = SC_OK;
    for (size_t i = 0; i < sizeof raw; i++)
        raw[i] = (uint8_t)(i * 7 + 1);
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 13 + 5);
    CHECK(sc_xts_key_expand(key, raw, sizeof raw, 0) == SC_OK);
    CHECK(sc_xts_encrypt_units(key, tier, data, batch, UNIT, UNITS, first, STEP) == SC_OK);
    for (int u = 0; u < UNITS; u++) {
        const uint64_t n = first + (uint64_t)u * STEP;
        memset(tweak, 0, sizeof tweak);
        for (int b = 0; b < 8; b++)
            tweak[b] = (uint8_t)(n >> (8 * b));
        CHECK(sc_xts_encrypt_unit(key, tier, tweak, data + u * UNIT, single, UNIT) == SC_OK);
        CHECK(memcmp(single, batch + u * UNIT, UNIT) == 0);
    }
    CHECK(sc_xts_decrypt_units(key, tier, batch, batch, UNIT, UNITS, first, STEP) == SC_OK);
    CHECK(memcmp(batch, data, sizeof data) == 0);
out:
    sc_secure_zero(raw, sizeof raw);
    sc_xts_key_wipe(key);
    return rc;
}

int sc_selftest(int tier)
{
    if (tier < SC_TIER_AESNI || tier > SC_TIER_VAES512 || !(sc_cpu_tiers() & (1u << tier)))
        return SC_E_TIER;
    sc_xts_key key;
    for (size_t i = 0; i < sizeof KATS / sizeof KATS[0]; i++) {
        int rc = run_kat(&KATS[i], tier, &key);
        if (rc)
            return rc;
    }
    return run_batch_agreement(tier, &key);
}
