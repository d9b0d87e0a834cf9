package io.sectorcrypt.jca;

import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import io.sectorcrypt.xts.XtsLimits;
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
import javax.crypto.BadPaddingException;
import javax.crypto.Cipher;
import javax.crypto.CipherSpi;
import javax.crypto.IllegalBlockSizeException;
import javax.crypto.NoSuchPaddingException;
import javax.crypto.ShortBufferException;
import javax.crypto.spec.IvParameterSpec;

/**
 * {@code AES/XTS/NoPadding}: key = 32 or 64 raw bytes (key1 || key2), IV = the 16-byte
 * tweak, one data unit per {@code doFinal} ({@link XtsLimits}: 16 bytes to 16 MiB). {@code update}
 * buffers; output appears at {@code doFinal}, because ciphertext stealing needs the unit's end.
 * A unit outside the limits, however it was fed in, is an {@link IllegalBlockSizeException}
 * from {@code doFinal}, which leaves the cipher reset as after any other {@code doFinal}.
 *
 * <p>The buffered input (plaintext when encrypting) lives in an array the cipher owns and
 * zeroes when it is done with it: after {@code doFinal}, whether it succeeded or threw (except
 * for {@link ShortBufferException}, after which JCA lets the caller retry with more room), on
 * re-initialisation, when it outgrows its array (the old one is zeroed), and when the cipher
 * becomes unreachable.
 *
 * <p>Re-initialising with the same key bytes (the usual per-sector pattern: same key, new
 * tweak) keeps the expanded key; a new key closes the old one, and a cleaner closes the
 * last when the cipher becomes unreachable, zeroing it.
 */
public final class AesXtsCipher extends CipherSpi {
    private static final Cleaner CLEANER = Cleaner.create();

    private final KeyHolder holder = new KeyHolder();
    private final UnitBuffer buffered = new UnitBuffer(XtsLimits.MAX_UNIT_BYTES);
    private byte[] tweak;
    private boolean encrypt;
    private boolean initialised;

    public AesXtsCipher() {
        CLEANER.register(this, cleanup(holder, buffered));
    }

    /** The cleaner action: refers to the key and the buffer only, never to the cipher. */
    private static Runnable cleanup(KeyHolder holder, UnitBuffer buffer) {
        return () -> {
            buffer.wipe();
            holder.run();
        };
    }

    /** The buffer, for tests that check it is zeroed. */
    UnitBuffer buffer() {
        return buffered;
    }

    /** Owns the current key; also the cleaner action, so it must not refer to the cipher. */
    private static final class KeyHolder implements Runnable {
        private volatile XtsKey key;
        private SectorCipher cipher;

        void use(byte[] raw) {
            XtsKey current = key;
            if (current != null && !current.isClosed() && sameKey(current, raw)) {
                return;
            }
            XtsKey next = XtsKey.of(raw);
            key = next;
            cipher = SectorCipher.of(next);
            if (current != null) {
                current.close();
            }
        }

        private static boolean sameKey(XtsKey key, byte[] raw) {
            try {
                return key.hasKeyMaterial(raw);
            } catch (IllegalStateException closedMeanwhile) {
                return false;
            }
        }

        @Override
        public void run() {
            XtsKey k = key;
            if (k != null) {
                k.close();
            }
        }
    }

    @Override
    protected void engineSetMode(String mode) throws NoSuchAlgorithmException {
        if (!mode.equalsIgnoreCase("XTS")) {
            throw new NoSuchAlgorithmException("this cipher is AES in XTS mode only, not " + mode);
        }
    }

    @Override
    protected void engineSetPadding(String padding) throws NoSuchPaddingException {
        if (!padding.equalsIgnoreCase("NoPadding")) {
            throw new NoSuchPaddingException("XTS needs no padding (ciphertext stealing); use NoPadding, not " + padding);
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

    @Override
    protected void engineInit(int opmode, Key key, SecureRandom random) throws InvalidKeyException {
        buffered.wipe(); // a refused init discards what an earlier one buffered, as every init does
        throw new InvalidKeyException("AES/XTS/NoPadding needs the 16-byte tweak (the data unit number):"
                + " init(mode, key, new IvParameterSpec(tweak))");
    }

    @Override
    protected void engineInit(int opmode, Key key, AlgorithmParameterSpec params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        // Whatever a previous operation left behind goes first, whether or not this init succeeds.
        buffered.wipe();
        if (opmode != Cipher.ENCRYPT_MODE && opmode != Cipher.DECRYPT_MODE) {
            throw new UnsupportedOperationException("AES/XTS/NoPadding supports ENCRYPT_MODE and DECRYPT_MODE only");
        }
        if (!(params instanceof IvParameterSpec iv) || iv.getIV().length != 16) {
            throw new InvalidAlgorithmParameterException("AES/XTS/NoPadding needs an IvParameterSpec of 16 bytes"
                    + " holding the tweak (the data unit number)");
        }
        if (key == null || !"RAW".equalsIgnoreCase(key.getFormat())) {
            throw new InvalidKeyException("AES/XTS/NoPadding needs a raw secret key (SecretKeySpec)");
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
        this.tweak = iv.getIV();
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
        append(input, offset, len);
        return new byte[0];
    }

    @Override
    protected int engineUpdate(byte[] input, int offset, int len, byte[] output, int outputOffset) {
        requireInit();
        append(input, offset, len);
        return 0;
    }

    @Override
    protected byte[] engineDoFinal(byte[] input, int offset, int len) throws IllegalBlockSizeException {
        requireInit();
        int n = input == null ? 0 : len;
        try {
            byte[] result = new byte[unitLength(n)];
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
            int total = unitLength(n);
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

    /** The length of the unit that update() buffered plus {@code len} more, if XTS allows it. */
    private int unitLength(int len) throws IllegalBlockSizeException {
        long total = buffered.length() + len;
        String problem = XtsLimits.unitLengthProblem(total);
        if (problem != null) {
            throw new IllegalBlockSizeException(problem);
        }
        return (int) total;
    }

    /**
     * The data unit is whatever update() buffered followed by this input; without a prior
     * update (the usual case) it goes straight from input to output with no copy. Its
     * length is within the limits ({@link #unitLength}).
     */
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
                holder.cipher.encryptUnit(tweak, data, dataOffset, output, outputOffset, total);
            } else {
                holder.cipher.decryptUnit(tweak, data, dataOffset, output, outputOffset, total);
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

    private void append(byte[] input, int offset, int len) {
        buffered.append(input, offset, len);
    }

}
