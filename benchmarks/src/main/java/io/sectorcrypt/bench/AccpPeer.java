package io.sectorcrypt.bench;

import com.amazon.corretto.crypto.provider.AmazonCorrettoCryptoProvider;
import java.security.GeneralSecurityException;
import javax.crypto.Cipher;

/**
 * ACCP in a class of its own: ACCP is on the class path of benchmarks.jar only, and a JVM
 * that never runs the ACCP peer (the CLI's bench) must never have to load it.
 */
final class AccpPeer {
    private AccpPeer() {
    }

    static Cipher cipher() throws GeneralSecurityException {
        AmazonCorrettoCryptoProvider.INSTANCE.assertHealthy();
        return Cipher.getInstance("AES/XTS/NoPadding", AmazonCorrettoCryptoProvider.INSTANCE);
    }
}
