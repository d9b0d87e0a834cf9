package io.sectorcrypt.jca;

import java.security.Provider;
import java.util.List;
import java.util.Map;

/**
 * A JCA provider, "SectorCrypt", offering {@code Cipher "AES/XTS/NoPadding"} on the
 * SectorCrypt engine and {@code Cipher "AES/HCTR2/NoPadding"} (pure Java so far), so plain
 * JCA code can use them:
 *
 * <pre>{@code
 * Cipher c = Cipher.getInstance("AES/XTS/NoPadding", new SectorCryptProvider());
 * c.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key64, "AES"), new IvParameterSpec(tweak16));
 * byte[] sector = c.doFinal(plain);   // one XTS data unit per doFinal, any length >= 16
 *
 * Cipher h = Cipher.getInstance("AES/HCTR2/NoPadding", new SectorCryptProvider());
 * h.init(Cipher.ENCRYPT_MODE, new SecretKeySpec(key32, "AES"), new IvParameterSpec(tweak));
 * byte[] wide = h.doFinal(plain);     // one message per doFinal, any length >= 16
 * }</pre>
 */
public final class SectorCryptProvider extends Provider {
    private static final long serialVersionUID = 1L;
    public static final String NAME = "SectorCrypt";

    public SectorCryptProvider() {
        super(NAME, "0.1", "SectorCrypt: AES-XTS (IEEE 1619, SP 800-38E) on a native AES-NI/VAES kernel;"
                + " AES-HCTR2 (ePrint 2021/1441)");
        putService(new Provider.Service(this, "Cipher", "AES/XTS/NoPadding", AesXtsCipher.class.getName(),
                List.of("AES_XTS", "XTS"), Map.of("SupportedKeyFormats", "RAW", "SupportedKeyClasses",
                        "javax.crypto.SecretKey")));
        putService(new Provider.Service(this, "Cipher", "AES/HCTR2/NoPadding", AesHctr2Cipher.class.getName(),
                List.of("AES_HCTR2", "HCTR2"), Map.of("SupportedKeyFormats", "RAW", "SupportedKeyClasses",
                        "javax.crypto.SecretKey")));
    }
}
