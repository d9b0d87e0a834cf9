/*
 * sectorcrypt.h - the one contract between the Java library and the native XTS kernel.
 *
 * AES-XTS per IEEE 1619-2007 and NIST SP 800-38E, for AES-128 and AES-256, in three
 * CPU tiers that differ in vector width only:
 *
 *   SC_TIER_AESNI    xmm, 1 block per register, 8 registers in flight
 *                    (AES-NI + PCLMULQDQ + SSE4.1: every x86-64 CPU since Westmere/Bulldozer)
 *   SC_TIER_VAES256  ymm, 2 blocks per register (VAES + VPCLMULQDQ + AVX2:
 *                    Ice Lake, Alder Lake, Zen 3 and later)
 *   SC_TIER_VAES512  zmm, 4 blocks per register (VAES + VPCLMULQDQ + AVX-512 F/BW/VL:
 *                    Ice Lake server, Sapphire Rapids, Zen 4 and later)
 *
 * Rules every function follows:
 *   - Stateless: all state is in a caller-owned sc_xts_key; nothing is allocated, printed
 *     or aborted. Every function returns SC_OK or a negative SC_E_* code.
 *   - Thread-safe: a key may be used by any number of threads at once once expanded.
 *   - No alignment is required of data buffers. The key struct wants 64-byte alignment
 *     for speed (sc_xts_key_align()) but works at any 16-byte alignment.
 *   - in == out (in place) is allowed; any other overlap of in and out is refused.
 *   - The caller validates first; the kernel checks again and never reads or writes
 *     outside [in, in+len) and [out, out+len).
 */
#ifndef SECTORCRYPT_H
#define SECTORCRYPT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SC_API __attribute__((visibility("default")))
#else
#define SC_API
#endif

/* Bumped whenever a signature or the meaning of an argument changes. */
#define SC_ABI_VERSION 3u

/* Return codes. */
#define SC_OK                   0
#define SC_E_NULL              -1 /* a required pointer is NULL */
#define SC_E_KEY_LENGTH        -2 /* raw key is not 32 (XTS-AES-128) or 64 (XTS-AES-256) bytes */
#define SC_E_KEY_HALVES_EQUAL  -3 /* key1 == key2, refused per FIPS 140-3 IG C.I */
#define SC_E_KEY_NOT_EXPANDED  -4 /* the key struct does not hold an expanded key (zeroed?) */
#define SC_E_LENGTH            -5 /* data unit < 16 bytes, > 2^24 bytes (2^20 blocks), or total overflows */
#define SC_E_RANGE             -6 /* iv_step is 0, or the last unit's IV does not fit in 64 bits */
#define SC_E_TIER              -7 /* tier unknown, or not runnable on this CPU and OS */
#define SC_E_OVERLAP           -8 /* in and out overlap without being equal */
#define SC_E_SELFTEST          -9 /* a known-answer test produced a wrong result */

/* Tiers. */
#define SC_TIER_AESNI   1
#define SC_TIER_VAES256 2
#define SC_TIER_VAES512 3

/* CPU and OS features, as reported by sc_cpu_features(). */
#define SC_CPU_AES        (1u << 0)
#define SC_CPU_PCLMULQDQ  (1u << 1)
#define SC_CPU_SSE41      (1u << 2)
#define SC_CPU_AVX        (1u << 3)
#define SC_CPU_AVX2       (1u << 4)
#define SC_CPU_VAES       (1u << 5)
#define SC_CPU_VPCLMULQDQ (1u << 6)
#define SC_CPU_AVX512F    (1u << 7)
#define SC_CPU_AVX512BW   (1u << 8)
#define SC_CPU_AVX512VL   (1u << 9)
#define SC_OS_YMM         (1u << 10) /* XCR0: the OS saves ymm state */
#define SC_OS_ZMM         (1u << 11) /* XCR0: the OS saves opmask and zmm state */

/* Largest data unit: SP 800-38E limits a data unit to 2^20 AES blocks. */
#define SC_MAX_UNIT_BYTES ((size_t)1 << 24)

/* sc_xts_key_expand flags. */
#define SC_KEY_ALLOW_EQUAL_HALVES 1u /* only for known-answer tests (IEEE 1619 vector 1) */

/*
 * An expanded XTS key: encryption and decryption schedules of the data key (key1) and
 * the encryption schedule of the tweak key (key2). Each 16-byte round key is stored four
 * times over, one 64-byte row, so every tier loads it straight into an xmm, ymm or zmm
 * register and no call copies key material to its stack. Holds key material: the owner
 * wipes it (sc_xts_key_wipe or its own zeroing) before releasing the memory.
 */
typedef struct sc_xts_key {
    uint8_t data_enc[15][64];
    uint8_t data_dec[15][64];
    uint8_t tweak_enc[15][64];
    uint32_t rounds; /* 10 (AES-128) or 14 (AES-256); anything else means "not expanded" */
    uint32_t check;  /* SC_KEY_CHECK when expanded */
    uint8_t pad[56];
} sc_xts_key;

/* ABI version the library was built with; the Java side refuses a mismatch. */
SC_API uint32_t sc_abi_version(void);

/* SC_CPU_* / SC_OS_* bits of this CPU and OS. Computed once, then cached. */
SC_API uint32_t sc_cpu_features(void);

/* Bit (1u << tier) is set for each tier this CPU and OS can run. */
SC_API uint32_t sc_cpu_tiers(void);

/* sizeof(sc_xts_key) and the alignment it prefers, so callers need not mirror the layout. */
SC_API size_t sc_xts_key_size(void);
SC_API size_t sc_xts_key_align(void);

/*
 * Expands raw = key1 || key2 (32 or 64 bytes) into *key. Refuses key1 == key2 (compared in
 * constant time) unless SC_KEY_ALLOW_EQUAL_HALVES is given. Needs AES-NI (SC_TIER_AESNI).
 * On any error *key is left zeroed.
 */
SC_API int sc_xts_key_expand(sc_xts_key *key, const uint8_t *raw, size_t raw_len, uint32_t flags);

/* Zeroes *key in a way the compiler cannot elide. */
SC_API void sc_xts_key_wipe(sc_xts_key *key);

/*
 * Encrypts (decrypts) count consecutive data units of unit_len bytes each, from in to out.
 * Unit i (0-based) uses the tweak first_iv + i * iv_step as a 128-bit little-endian number:
 * the dm-crypt "plain64" IV. iv_step is how far the IV moves from one unit to the next:
 * unit_len / 512 for dm-crypt's default and LUKS2 (the IV counts 512-byte sectors), 1 for
 * dm-crypt's iv_large_sectors (the IV counts units). unit_len may be any length from 16 to
 * SC_MAX_UNIT_BYTES; a length that is not a multiple of 16 uses ciphertext stealing within
 * each unit. count == 0 is a no-op. Returns SC_E_RANGE if iv_step is 0 or the last unit's
 * IV would exceed 2^64 - 1.
 */
SC_API int sc_xts_encrypt_units(const sc_xts_key *key, int tier, const uint8_t *in, uint8_t *out,
                                size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step);
SC_API int sc_xts_decrypt_units(const sc_xts_key *key, int tier, const uint8_t *in, uint8_t *out,
                                size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step);

/*
 * Encrypts (decrypts) one data unit of len bytes (16 .. SC_MAX_UNIT_BYTES) with the
 * caller's 16-byte tweak value i (IEEE 1619: encrypted under key2 to give T).
 */
SC_API int sc_xts_encrypt_unit(const sc_xts_key *key, int tier, const uint8_t tweak[16],
                               const uint8_t *in, uint8_t *out, size_t len);
SC_API int sc_xts_decrypt_unit(const sc_xts_key *key, int tier, const uint8_t tweak[16],
                               const uint8_t *in, uint8_t *out, size_t len);

/*
 * Known-answer self-test of one tier: IEEE 1619-2007 Annex B vectors (AES-128 and
 * AES-256, whole blocks and ciphertext stealing) through both entry points, both
 * directions, plus a batch-versus-single-unit agreement check. SC_OK or SC_E_SELFTEST
 * (SC_E_TIER if the tier cannot run here).
 */
SC_API int sc_selftest(int tier);

/*
 * HCTR2-AES (Crowley, Huckleberry, Biggers, "Length-preserving encryption with HCTR2",
 * IACR ePrint 2021/1441): a wide-block tweakable cipher, so one changed bit anywhere in a
 * data unit changes the whole unit, unlike XTS's 16-byte granularity. Built from AES,
 * POLYVAL (RFC 8452) and XCTR; byte-compatible with Linux's hctr2(aes) and dm-crypt's
 * "capi:hctr2(aes)-plain64" (32-byte tweak: the 64-bit little-endian IV, then zeros).
 *
 * Every tier runs HCTR2, on the CPUs that tier is reported for (sc_cpu_tiers()):
 *   SC_TIER_AESNI    AES-NI + PCLMULQDQ on xmm (no VEX encoding)
 *   SC_TIER_VAES256  VAES + VPCLMULQDQ on ymm: XCTR and POLYVAL 16 blocks at a time
 *   SC_TIER_VAES512  VAES + VPCLMULQDQ on zmm: likewise
 * A tier the CPU lacks returns SC_E_TIER. All tiers give the same bytes. The same rules as
 * above hold: stateless, thread-safe once expanded, no alignment needed of data, in == out
 * allowed, other overlaps refused.
 */

#define SC_HCTR2_TWEAK_PLAIN64 32 /* bytes of the per-unit tweak of the *_units functions */

/*
 * An expanded HCTR2 key: the AES encryption and decryption schedules, the POLYVAL key
 * h = E_K(0^128) with its powers h^1..h^32 (up to 32 blocks hashed per reduction), and
 * L = E_K(1) (little-endian 1). Holds key material: the owner wipes it (sc_hctr2_key_wipe
 * or its own zeroing) before releasing the memory. Callers should use sc_hctr2_key_size()
 * rather than sizeof: the layout is the kernel's and may change.
 */
typedef struct sc_hctr2_key {
    uint8_t enc[15][16];
    uint8_t dec[15][16];
    /* h_pow[i] = h^(32-i) for i < 32, in POLYVAL's Montgomery form (highest power first, so
     * one vector load gives the powers of consecutive blocks); rows 32..35 are zero, so a
     * group of fewer blocks may load whole vectors past h^1. */
    uint8_t h_pow[36][16];
    /* h_kar[i]: the two 64-bit halves of h_pow[i] XORed, in both halves (Karatsuba's middle
     * factor, precomputed). */
    uint8_t h_kar[36][16];
    uint8_t L[16];
    uint32_t rounds; /* 10 (AES-128) or 14 (AES-256); anything else means "not expanded" */
    uint32_t check;  /* SC_HCTR2_KEY_CHECK (internal) when expanded */
    uint8_t pad[8];
} sc_hctr2_key;

/* sizeof(sc_hctr2_key) and the alignment it prefers (64). */
SC_API size_t sc_hctr2_key_size(void);
SC_API size_t sc_hctr2_key_align(void);

/*
 * Expands a raw AES key of 16 (HCTR2-AES-128) or 32 (HCTR2-AES-256) bytes into *key.
 * HCTR2 has a single key: h and L are derived from it (paper section 3). Returns SC_OK,
 * SC_E_NULL, SC_E_KEY_LENGTH, or SC_E_TIER without AES-NI. On any error *key is left zeroed.
 */
SC_API int sc_hctr2_key_expand(sc_hctr2_key *key, const uint8_t *raw, size_t raw_len);

/* Zeroes *key in a way the compiler cannot elide. NULL is ignored. */
SC_API void sc_hctr2_key_wipe(sc_hctr2_key *key);

/*
 * Encrypts (decrypts) one message of len bytes (16 .. SC_MAX_UNIT_BYTES, any length: the
 * part after the first block need not be whole blocks) under a tweak of tweak_len bytes
 * (0 .. SC_MAX_UNIT_BYTES; tweak may be NULL when tweak_len is 0). Returns SC_OK, SC_E_NULL,
 * SC_E_KEY_NOT_EXPANDED, SC_E_TIER, SC_E_LENGTH (len or tweak_len out of range, or an
 * address range that wraps) or SC_E_OVERLAP.
 */
SC_API int sc_hctr2_encrypt(const sc_hctr2_key *key, int tier, const uint8_t *tweak, size_t tweak_len,
                            const uint8_t *in, uint8_t *out, size_t len);
SC_API int sc_hctr2_decrypt(const sc_hctr2_key *key, int tier, const uint8_t *tweak, size_t tweak_len,
                            const uint8_t *in, uint8_t *out, size_t len);

/*
 * Encrypts (decrypts) count consecutive data units of unit_len bytes each, as
 * sc_xts_encrypt_units does: unit i (0-based) has the IV first_iv + i * iv_step, and its
 * tweak is that IV as 8 little-endian bytes followed by 24 zero bytes
 * (SC_HCTR2_TWEAK_PLAIN64 bytes in all: dm-crypt's plain64 IV for hctr2(aes)). unit_len is
 * 16 .. SC_MAX_UNIT_BYTES, any length. count == 0 is a no-op. Returns the codes of
 * sc_xts_encrypt_units: SC_E_RANGE if iv_step is 0 or the last IV would exceed 2^64 - 1.
 */
SC_API int sc_hctr2_encrypt_units(const sc_hctr2_key *key, int tier, const uint8_t *in, uint8_t *out,
                                  size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step);
SC_API int sc_hctr2_decrypt_units(const sc_hctr2_key *key, int tier, const uint8_t *in, uint8_t *out,
                                  size_t unit_len, size_t count, uint64_t first_iv, uint64_t iv_step);

#ifdef __cplusplus
}
#endif

#endif /* SECTORCRYPT_H */
