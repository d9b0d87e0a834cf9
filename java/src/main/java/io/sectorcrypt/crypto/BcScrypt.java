package io.sectorcrypt.crypto;

import org.bouncycastle.crypto.general.KDF;

/** scrypt (RFC 7914) from Bouncy Castle; isolated so the library loads without bc-fips. */
final class BcScrypt {
    private BcScrypt() {
    }

    static void derive(byte[] password, byte[] salt, int costN, int blockSizeR, int parallelismP, byte[] out) {
        KDF.ScryptParameters params = KDF.SCRYPT.using(salt, costN, blockSizeR, parallelismP, password);
        new KDF.SCryptFactory().createKDFCalculator(params).generateBytes(out);
    }
}
