package io.sectorcrypt.bench;

import io.sectorcrypt.xts.IvConvention;
import java.util.SplittableRandom;

/** The benchmarks' key material: fixed, so every run and every peer encrypts the same way. */
final class BenchKeys {
    private BenchKeys() {
    }

    /** 64 bytes (XTS-AES-256) or 32 (XTS-AES-128), halves distinct. */
    static byte[] key(int size) {
        byte[] k = new byte[size];
        new SplittableRandom(0x5EC7C0DEL + size).nextBytes(k);
        k[size / 2] ^= (byte) (k[0] ^ k[size / 2] ^ 1); // key2[0] != key1[0]
        return k;
    }

    /**
     * The IV convention a benchmark of this sector size runs: dm-crypt's and LUKS2's 512-byte
     * units wherever the size allows (what disks use), otherwise IVs counted in sectors.
     */
    static IvConvention ivConvention(int sectorSize) {
        return sectorSize % IvConvention.IV_UNIT_BYTES == 0 ? IvConvention.PLAIN64 : IvConvention.IV_LARGE_SECTORS;
    }
}
