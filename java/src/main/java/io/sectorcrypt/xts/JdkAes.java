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
        return cipher("AES/ECB/NoPadding");
    }

    /**
     * A new {@code AES/CBC/NoPadding} cipher, not initialised, from the same provider as
     * {@link #ecb()}: the Java XTS engine decrypts through it (HotSpot's CBC-decrypt intrinsic
     * runs many blocks in flight on every AES-NI CPU; ECB's multi-block one needs AVX-512).
     *
     * @throws IllegalStateException if the named provider is not installed
     * @throws GeneralSecurityException if the provider has no such cipher
     */
    public static Cipher cbc() throws GeneralSecurityException {
        return cipher("AES/CBC/NoPadding");
    }

    private static Cipher cipher(String transformation) throws GeneralSecurityException {
        String name = System.getProperty(PROVIDER_PROPERTY);
        if (name == null || name.isBlank()) {
            return Cipher.getInstance(transformation);
        }
        Provider provider = Security.getProvider(name.strip());
        if (provider == null) {
            throw new IllegalStateException("-D" + PROVIDER_PROPERTY + "=" + name + ": no JCA provider of that name"
                    + " is installed (for BCFIPS, start the FIPS crypto policy first: it installs the provider)");
        }
        return Cipher.getInstance(transformation, provider);
    }

    /**
     * {@code n} bytes (whole blocks) of {@code in} through {@code cipher} into {@code out}, out
     * of place (the JDK's CipherCore copies, allocating, an input that is also the output).
     * doFinal, not update: some providers (Bouncy Castle) hold a block back in update.
     */
    public static void ecb(Cipher cipher, byte[] in, byte[] out, int n) {
        blocks(cipher, in, 0, out, 0, n);
    }

    /**
     * {@code n} bytes (whole blocks) of {@code in[inOff..]} through {@code cipher} into
     * {@code out[outOff..]} with one doFinal, out of place; a CBC cipher starts again from its
     * initial IV, as every doFinal leaves a cipher as {@code init} left it.
     */
    public static void blocks(Cipher cipher, byte[] in, int inOff, byte[] out, int outOff, int n) {
        try {
            if (cipher.doFinal(in, inOff, n, out, outOff) != n) {
                throw new IllegalStateException(cipher.getAlgorithm() + " returned a short result");
            }
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException(cipher.getAlgorithm() + " failed: " + e.getMessage(), e);
        }
    }
}
