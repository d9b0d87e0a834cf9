package io.sectorcrypt.jca;

import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.hctr2.Hctr2Limits;
import java.lang.ref.Cleaner;
import java.security.AlgorithmParameters;
import java.security.InvalidAlgorithmParameterException;
import java.security.InvalidKeyException;
import java.security.Key;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.security.spec.AlgorithmParameterSpec;
import java.security.spec.InvalidParameterSpecException;
import java.util.Arrays;
import javax.crypto.Cipher;
import javax.crypto.CipherSpi;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.IvParameterSpec;

/**
 * {@code AES/HCTR2/NoPadding} (Crowley, Huckleberry, Biggers, ePrint 2021/1441): key = 16 or
 * 32 raw bytes (HCTR2-AES-128/256), IV = the tweak, 0 .. 2^24 bytes (dm-crypt uses 32: the
 * sector's IV little-endian, zeros after), one message per {@code doFinal} of 16 bytes to
 * 16 MiB ({@link Hctr2Limits}). The output is as long as the input. {@code update} buffers:
 * every output byte depends on every input byte, so output appears at {@code doFinal}. A
 * message outside the limits is an {@link IllegalBlockSizeException} from {@code doFinal},
 * which leaves the cipher reset as after any other {@code doFinal}.
 *
 * <p>Buffered input, key reuse and cleanup follow {@link AesXtsCipher}: the buffer is
 * zeroed after each doFinal (but a {@link ShortBufferException}), on re-initialisation and
 * when the cipher becomes unreachable; re-initialising with the same key keeps the derived
 * key; a new key closes the old one.
 */
public final class AesHctr2Cipher extends CipherSpi {
    private static final Cleaner CLEANER = Cleaner.create();

    private final KeyHolder holder = new KeyHolder();
    private final UnitBuffer buffered = new UnitBuffer(Hctr2Limits.MAX_MESSAGE_BYTES);
    private byte[] tweak;
    private boolean encrypt;
    private boolean initialised;

    public AesHctr2Cipher() {
        CLEANER.register(this, cleanup(holder, buffered));
    }

    /** The cleaner action: refers to the key and the buffer only, never to the cipher. */
    private static Runnable cleanup(KeyHolder holder, UnitBuffer buffer) {
        return () -> {
            buffer.wipe();
            holder.run();
        };
    }

    /** Owns the current key; also the cleaner action, so it must not refer to the cipher. */
    private static final class KeyHolder implements Runnable {
        private volatile Hctr2Key key;
        private Hctr2 cipher;

        void use(byte[] raw) {
            Hctr2Key current = key;
            if (current != null && !current.isClosed() && sameKey(current, raw)) {
                return;
            }
            Hctr2Key next = Hctr2Key.of(raw);
            key = next;
            cipher = Hctr2.of(next);
            if (current != null) {
                current.close();
            }
        }

        private static boolean sameKey(Hctr2Key key, byte[] raw) {
            try {
                return key.hasKeyMaterial(raw);
            } catch (IllegalStateException closedMeanwhile) {
                return false;
            }
        }

        @Override
        public void run() {
            Hctr2Key k = key;
            if (k != null) {
                k.close();
            }
        }
    }

    @Override
    protected void engineSetMode(String mode) throws NoSuchAlgorithmException {
        if (!mode.equalsIgnoreCase("HCTR2")) {
            throw new NoSuchAlgorithmException("this cipher is AES in HCTR2 mode only, not " + mode);
        }
    }

    @Override
    protected void engineSetPadding(String padding) throws NoSuchPaddingException {
        if (!padding.equalsIgnoreCase("NoPadding")) {
            throw new NoSuchPaddingException("HCTR2 is length-preserving and needs no padding; use NoPadding, not "
                    + padding);
        }
    }

    @Override
    protected int engineGetBlockSize() {
        return 16;
    }

    @Override
    protected int engineGetOutputSize(int inputLen) {
        return (int) Math.min(Integer.MAX_VALUE, buffered.length() + Math.max(0, inputLen));
    }

    @Override
    protected byte[] engineGetIV() {
        return tweak == null ? null : tweak.clone();
    }

    @Override
    protected AlgorithmParameters engineGetParameters() {
        return null; // a tweak of any length fits no standard AlgorithmParameters; engineGetIV has it
    }

    @Override
    protected void engineInit(int opmode, Key key, SecureRandom random) throws InvalidKeyException {
        buffered.wipe(); // a refused init discards what an earlier one buffered, as every init does
        throw new InvalidKeyException("AES/HCTR2/NoPadding needs the tweak: init(mode, key, new IvParameterSpec(tweak)),"
                + " new IvParameterSpec(new byte[0]) for the empty tweak");
    }

    @Override
    protected void engineInit(int opmode, Key key, AlgorithmParameterSpec params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        buffered.wipe();
        if (opmode != Cipher.ENCRYPT_MODE && opmode != Cipher.DECRYPT_MODE) {
            throw new UnsupportedOperationException("AES/HCTR2/NoPadding supports ENCRYPT_MODE and DECRYPT_MODE only");
        }
        if (!(params instanceof IvParameterSpec iv)) {
            throw new InvalidAlgorithmParameterException("AES/HCTR2/NoPadding needs an IvParameterSpec holding the"
                    + " tweak (0 .. 16777216 bytes; dm-crypt uses 32)");
        }
        byte[] t = iv.getIV();
        String problem = Hctr2Limits.tweakLengthProblem(t.length);
        if (problem != null) {
            throw new InvalidAlgorithmParameterException(problem);
        }
        if (key == null || !"RAW".equalsIgnoreCase(key.getFormat())) {
            throw new InvalidKeyException("AES/HCTR2/NoPadding needs a raw secret key (SecretKeySpec)");
        }
        byte[] raw = key.getEncoded();
        if (raw == null) {
            throw new InvalidKeyException("the key does not expose its encoding");
        }
        try {
            holder.use(raw);
        } catch (IllegalArgumentException e) {
            throw new InvalidKeyException(e.getMessage());
        } finally {
            Arrays.fill(raw, (byte) 0);
        }
        this.tweak = t;
        this.encrypt = opmode == Cipher.ENCRYPT_MODE;
        this.initialised = true;
    }

    @Override
    protected void engineInit(int opmode, Key key, AlgorithmParameters params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        try {
            engineInit(opmode, key, params == null ? null : params.getParameterSpec(IvParameterSpec.class), random);
        } catch (InvalidParameterSpecException e) {
            throw new InvalidAlgorithmParameterException("the parameters hold no IvParameterSpec tweak", e);
        }
    }

    @Override
    protected byte[] engineUpdate(byte[] input, int offset, int len) {
        requireInit();
        buffered.append(input, offset, len);
        return new byte[0];
    }

    @Override
    protected int engineUpdate(byte[] input, int offset, int len, byte[] output, int outputOffset) {
        requireInit();
        buffered.append(input, offset, len);
        return 0;
    }

    @Override
    protected byte[] engineDoFinal(byte[] input, int offset, int len) throws IllegalBlockSizeException {
        requireInit();
        int n = input == null ? 0 : len;
        try {
            byte[] result = new byte[messageLength(n)];
            finish(input, offset, n, result, 0);
            return result;
        } finally {
            buffered.wipe();
        }
    }

    @Override
    protected int engineDoFinal(byte[] input, int offset, int len, byte[] output, int outputOffset)
            throws ShortBufferException, IllegalBlockSizeException {
        requireInit();
        int n = input == null ? 0 : len;
        boolean retry = false;
        try {
            int total = messageLength(n);
            if (output == null || outputOffset < 0 || output.length - outputOffset < total) {
                retry = true; // JCA: the caller may call again with a larger buffer, so keep the input
                throw new ShortBufferException("output needs " + total + " bytes");
            }
            return finish(input, offset, n, output, outputOffset);
        } finally {
            if (!retry) {
                buffered.wipe();
            }
        }
    }

    /** The length of the message that update() buffered plus {@code len} more, if HCTR2 takes it. */
    private int messageLength(int len) throws IllegalBlockSizeException {
        long total = buffered.length() + len;
        String problem = Hctr2Limits.messageLengthProblem(total);
        if (problem != null) {
            throw new IllegalBlockSizeException(problem);
        }
        return (int) total;
    }

    /** The message is what update() buffered followed by this input; without update, no copy. */
    private int finish(byte[] input, int offset, int len, byte[] output, int outputOffset) {
        byte[] data = input;
        int dataOffset = offset;
        int total = len;
        byte[] copy = null;
        if (!buffered.isEmpty()) {
            buffered.append(input, offset, len);
            data = buffered.array();
            dataOffset = 0;
            total = buffered.size();
        } else if (input == output && offset != outputOffset && Math.abs(offset - outputOffset) < len) {
            // JCA allows any overlap of input and output; the engine needs equal or disjoint.
            copy = Arrays.copyOfRange(input, offset, offset + len);
            data = copy;
            dataOffset = 0;
        }
        try {
            if (encrypt) {
                holder.cipher.encrypt(tweak, data, dataOffset, output, outputOffset, total);
            } else {
                holder.cipher.decrypt(tweak, data, dataOffset, output, outputOffset, total);
            }
            return total;
        } finally {
            if (copy != null) {
                Arrays.fill(copy, (byte) 0);
            }
        }
    }

    private void requireInit() {
        if (!initialised) {
            throw new IllegalStateException("the cipher is not initialised");
        }
    }
}
