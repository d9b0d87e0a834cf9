package io.sectorcrypt.jca;

import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import io.sectorcrypt.xts.XtsLimits;
import java.security.AlgorithmParameters;
import java.security.NoSuchAlgorithmException;
import java.security.spec.InvalidParameterSpecException;
import javax.crypto.spec.IvParameterSpec;

/**
 * {@code AES/XTS/NoPadding} (IEEE 1619, NIST SP 800-38E): key = 32 or 64 raw bytes
 * (key1 || key2), IV = the 16-byte tweak, one data unit per {@code doFinal} ({@link XtsLimits}:
 * 16 bytes to 16 MiB). {@code update} buffers; output appears at {@code doFinal}, because
 * ciphertext stealing needs the unit's end. Buffering, key reuse and cleanup:
 * {@link WholeMessageCipher}.
 */
public final class AesXtsCipher extends WholeMessageCipher<XtsKey, SectorCipher> {
    private static final int TWEAK_BYTES = 16;

    private static final Keys<XtsKey, SectorCipher> KEYS = new Keys<>() {
        @Override
        public XtsKey of(byte[] raw) {
            return XtsKey.of(raw);
        }

        @Override
        public boolean holds(XtsKey key, byte[] raw) {
            try {
                return !key.isClosed() && key.hasKeyMaterial(raw);
            } catch (IllegalStateException closedMeanwhile) {
                return false;
            }
        }

        @Override
        public SectorCipher cipherOf(XtsKey key) {
            return SectorCipher.of(key);
        }
    };

    public AesXtsCipher() {
        super("AES/XTS/NoPadding", "XTS", XtsLimits.MAX_UNIT_BYTES, KEYS);
    }

    @Override
    String messageLengthProblem(long length) {
        return XtsLimits.unitLengthProblem(length);
    }

    @Override
    String tweakProblem(int length) {
        return length == TWEAK_BYTES ? null : tweakRule() + ", not " + length + " bytes";
    }

    @Override
    String tweakRule() {
        return "the tweak is the 16-byte data unit number";
    }

    @Override
    void crypt(SectorCipher cipher, boolean encrypt, byte[] tweak, byte[] in, int inOffset, byte[] out,
            int outOffset, int length) {
        if (encrypt) {
            cipher.encryptUnit(tweak, in, inOffset, out, outOffset, length);
        } else {
            cipher.decryptUnit(tweak, in, inOffset, out, outOffset, length);
        }
    }

    @Override
    String whyNoPadding() {
        return "XTS needs no padding (ciphertext stealing)";
    }

    @Override
    protected AlgorithmParameters engineGetParameters() {
        byte[] tweak = tweak();
        if (tweak == null) {
            return null;
        }
        try {
            AlgorithmParameters params = AlgorithmParameters.getInstance("AES");
            params.init(new IvParameterSpec(tweak));
            return params;
        } catch (NoSuchAlgorithmException | InvalidParameterSpecException e) {
            return null;
        }
    }
}
