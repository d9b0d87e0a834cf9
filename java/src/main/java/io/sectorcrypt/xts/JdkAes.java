package io.sectorcrypt.xts;

import java.security.GeneralSecurityException;
import java.security.Provider;
import java.security.Security;
import javax.crypto.Cipher;

/**
 * The JDK's AES as the pure-Java engines (XTS here, HCTR2 in {@code io.sectorcrypt.hctr2}) use
 * it: {@code AES/ECB/NoPadding}, intrinsified with AES-NI by HotSpot, from the provider
 * {@value #PROVIDER_PROPERTY} names (BCFIPS under the FIPS policy, say) or the JCA's choice.
 * For the engines, not for applications.
 */
public final class JdkAes {
    /** Names the JCA provider of the pure-Java engines' AES; unset: the JCA's first. */
    public static final String PROVIDER_PROPERTY = "sectorcrypt.java.aes.provider";

    private JdkAes() {
    }

    /**
     * A new {@code AES/ECB/NoPadding} cipher, not initialised.
     *
     * @throws IllegalStateException if the named provider is not installed
     * @throws GeneralSecurityException if the provider has no such cipher
     */
    public static Cipher ecb() throws GeneralSecurityException {
        String name = System.getProperty(PROVIDER_PROPERTY);
        if (name == null || name.isBlank()) {
            return Cipher.getInstance("AES/ECB/NoPadding");
        }
        Provider provider = Security.getProvider(name.strip());
        if (provider == null) {
            throw new IllegalStateException("-D" + PROVIDER_PROPERTY + "=" + name + ": no JCA provider of that name"
                    + " is installed (for BCFIPS, start the FIPS crypto policy first: it installs the provider)");
        }
        return Cipher.getInstance("AES/ECB/NoPadding", provider);
    }

    /**
     * {@code n} bytes (whole blocks) of {@code in} through {@code cipher} into {@code out}, out
     * of place (the JDK's CipherCore copies, allocating, an input that is also the output).
     * doFinal, not update: some providers (Bouncy Castle) hold a block back in update.
     */
    public static void ecb(Cipher cipher, byte[] in, byte[] out, int n) {
        try {
            if (cipher.doFinal(in, 0, n, out, 0) != n) {
                throw new IllegalStateException("AES/ECB returned a short result");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("AES/ECB failed: " + e.getMessage(), e);
        }
    }
}
