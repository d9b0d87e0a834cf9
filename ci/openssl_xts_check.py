#!/usr/bin/env python3
"""Checks an image converted by `sectorcrypt xts encrypt` against OpenSSL, sector by sector.

For each sector k of PLAIN, OpenSSL's EVP_aes_{128,256}_xts (from the system libcrypto,
called through ctypes, because `openssl enc` refuses XTS) encrypts it with IV =
FIRST_IV + k * IV_STEP as a 16-byte little-endian number (dm-crypt plain64: IV_STEP is
SECTOR_SIZE / 512 for dm-crypt's default and LUKS2, 1 for iv_large_sectors), the key
schedule kept and only the IV reset per sector, as a storage server would; the result
must equal the same sector of CIPHER. Exit status 0 when every sector matches.

usage: openssl_xts_check.py KEYFILE SECTOR_SIZE FIRST_IV IV_STEP PLAIN CIPHER
"""
import ctypes
import ctypes.util
import sys

libcrypto = ctypes.CDLL(ctypes.util.find_library("crypto") or "libcrypto.so.3")
libcrypto.EVP_CIPHER_CTX_new.restype = ctypes.c_void_p
libcrypto.EVP_CIPHER_CTX_free.argtypes = [ctypes.c_void_p]
libcrypto.EVP_aes_128_xts.restype = ctypes.c_void_p
libcrypto.EVP_aes_256_xts.restype = ctypes.c_void_p
libcrypto.EVP_CipherInit_ex.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p,
                                        ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
libcrypto.EVP_CipherUpdate.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int),
                                       ctypes.c_char_p, ctypes.c_int]
libcrypto.OpenSSL_version.restype = ctypes.c_char_p


def main(key_file, sector_size, first_iv, iv_step, plain_file, cipher_file):
    key = open(key_file, "rb").read()
    sector_size, first, step = int(sector_size), int(first_iv), int(iv_step)
    algorithm = {32: libcrypto.EVP_aes_128_xts, 64: libcrypto.EVP_aes_256_xts}[len(key)]()
    ctx = libcrypto.EVP_CIPHER_CTX_new()
    if libcrypto.EVP_CipherInit_ex(ctx, algorithm, None, key, None, 1) != 1:
        sys.exit("openssl_xts_check: EVP_CipherInit_ex refused the key")
    out = ctypes.create_string_buffer(sector_size)
    written = ctypes.c_int(0)
    sectors = mismatches = 0
    with open(plain_file, "rb") as plain, open(cipher_file, "rb") as cipher:
        while True:
            p, c = plain.read(sector_size), cipher.read(sector_size)
            if not p and not c:
                break
            if len(p) != sector_size or len(c) != sector_size:
                sys.exit(f"openssl_xts_check: files differ in length at sector {sectors}")
            n = first + sectors * step
            if n >= 1 << 64:
                sys.exit(f"openssl_xts_check: sector {sectors} would have IV {n}, past 2^64 - 1")
            iv = n.to_bytes(16, "little")
            if libcrypto.EVP_CipherInit_ex(ctx, None, None, None, iv, -1) != 1 or \
                    libcrypto.EVP_CipherUpdate(ctx, out, ctypes.byref(written), p, sector_size) != 1:
                sys.exit(f"openssl_xts_check: OpenSSL failed at sector {n}")
            if out.raw[:written.value] != c:
                if mismatches < 5:
                    print(f"MISMATCH at sector {n}")
                mismatches += 1
            sectors += 1
    libcrypto.EVP_CIPHER_CTX_free(ctx)
    version = libcrypto.OpenSSL_version(0).decode()
    print(f"{sectors} sectors of {sector_size} bytes from IV {first} in steps of {step}, AES-{len(key) * 4}-XTS: "
          f"{sectors - mismatches} equal {version}, {mismatches} differ")
    return 1 if mismatches or sectors == 0 else 0


if __name__ == "__main__":
    if len(sys.argv) != 7:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
