package io.sectorcrypt.jca;

import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.hctr2.Hctr2Limits;
import java.security.AlgorithmParameters;

/**
 * {@code AES/HCTR2/NoPadding} (Crowley, Huckleberry, Biggers, ePrint 2021/1441): key = 16 or
 * 32 raw bytes (HCTR2-AES-128/256), IV = the tweak, 0 .. 2^24 bytes (dm-crypt uses 32: the
 * sector's IV little-endian, zeros after), one message per {@code doFinal} of 16 bytes to
 * 16 MiB ({@link Hctr2Limits}). The output is as long as the input. {@code update} buffers:
 * every output byte depends on every input byte, so output appears at {@code doFinal}.
 * Buffering, key reuse and cleanup: {@link WholeMessageCipher}.
 */
public final class AesHctr2Cipher extends WholeMessageCipher<Hctr2Key, Hctr2> {
    private static final Keys<Hctr2Key, Hctr2> KEYS = new Keys<>() {
        @Override
        public Hctr2Key of(byte[] raw) {
            return Hctr2Key.of(raw);
        }

        @Override
        public boolean holds(Hctr2Key key, byte[] raw) {
            try {
                return !key.isClosed() && key.hasKeyMaterial(raw);
            } catch (IllegalStateException closedMeanwhile) {
                return false;
            }
        }

        @Override
        public Hctr2 cipherOf(Hctr2Key key) {
            return Hctr2.of(key);
        }
    };

    public AesHctr2Cipher() {
        super("AES/HCTR2/NoPadding", "HCTR2", Hctr2Limits.MAX_MESSAGE_BYTES, KEYS);
    }

    @Override
    String messageLengthProblem(long length) {
        return Hctr2Limits.messageLengthProblem(length);
    }

    @Override
    String tweakProblem(int length) {
        return Hctr2Limits.tweakLengthProblem(length);
    }

    @Override
    String tweakRule() {
        return "0 .. " + Hctr2Limits.MAX_TWEAK_BYTES + " bytes; dm-crypt uses " + Hctr2Limits.SECTOR_TWEAK_BYTES;
    }

    @Override
    void crypt(Hctr2 cipher, boolean encrypt, byte[] tweak, byte[] in, int inOffset, byte[] out, int outOffset,
            int length) {
        if (encrypt) {
            cipher.encrypt(tweak, in, inOffset, out, outOffset, length);
        } else {
            cipher.decrypt(tweak, in, inOffset, out, outOffset, length);
        }
    }

    @Override
    String whyNoPadding() {
        return "HCTR2 is length-preserving and needs no padding";
    }

    @Override
    protected AlgorithmParameters engineGetParameters() {
        return null; // a tweak of any length fits no standard AlgorithmParameters; engineGetIV has it
    }
}
