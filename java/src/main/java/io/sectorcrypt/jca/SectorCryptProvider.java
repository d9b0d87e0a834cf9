package io.sectorcrypt.jca;

import java.security.Provider;
import java.util.List;
import java.util.Map;

/**
 * A JCA provider, "SectorCrypt", offering {@code Cipher "AES/XTS/NoPadding"} on the
 * SectorCrypt engine, so plain JCA code can use it:
 *
 * <pre>{@code
 * Cipher c = Cipher.getInstance("AES/XTS/NoPadding", new SectorCryptProvider());
 * c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key64, "AES"), new IvParameterSpec(tweak16));
 * byte[] sector = c.doFinal(plain);   // one XTS data unit per doFinal, any length >= 16
 * }</pre>
 */
public final class SectorCryptProvider extends Provider {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "SectorCrypt";

    public SectorCryptProvider() {
        super(NAME, "0.1", "SectorCrypt: AES-XTS (IEEE 1619, SP 800-38E) on a native AES-NI/VAES kernel");
        putService(new Provider.Service(this, "Cipher", "AES/XTS/NoPadding", AesXtsCipher.class.getName(),
                List.of("AES_XTS", "XTS"), Map.of("SupportedKeyFormats", "RAW", "SupportedKeyClasses",
                        "javax.crypto.SecretKey")));
    }
}
