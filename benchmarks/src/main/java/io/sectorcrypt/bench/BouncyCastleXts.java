package io.sectorcrypt.bench;

import java.util.Arrays;
import org.bouncycastle.crypto.BlockCipher;
import org.bouncycastle.crypto.engines.AESEngine;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * The Bouncy Castle peer: XTS composed on the lightweight {@code AESEngine} (table-driven
 * Java, no intrinsics), whole blocks only, as a pure-Java library without JCA would do it.
 */
public final class BouncyCastleXts {
    private final BlockCipher data;
    private final BlockCipher tweak;
    private final byte[] t = new byte[16];

    public BouncyCastleXts(byte[] key, boolean encrypt) {
        int half = key.length / 2;
        data = AESEngine.newInstance();
        data.init(encrypt, new KeyParameter(Arrays.copyOfRange(key, 0, half)));
        tweak = AESEngine.newInstance();
        tweak.init(true, new KeyParameter(Arrays.copyOfRange(key, half, key.length)));
    }

    /** One sector in place: T = E_K2(sector), then C_j = E_K1(P_j ^ T_j) ^ T_j, T_{j+1} = T_j * x. */
    public void sector(byte[] buf, int off, int len, long sector) {
        Arrays.fill(t, (byte) 0);
        for (int i = 0; i < 8; i++) {
            t[i] = (byte) (sector >>> (8 * i));
        }
        tweak.processBlock(t, 0, t, 0);
        for (int b = off; b < off + len; b += 16) {
            for (int i = 0; i < 16; i++) {
                buf[b + i] ^= t[i];
            }
            data.processBlock(buf, b, buf, b);
            int carry = 0;
            for (int i = 0; i < 16; i++) {
                buf[b + i] ^= t[i];
                int next = (t[i] >> 7) & 1;
                t[i] = (byte) ((t[i] << 1) | carry);
                carry = next;
            }
            if (carry != 0) {
                t[0] ^= (byte) 0x87;
            }
        }
    }
}
