package io.sectorcrypt.jca;

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
 * What the provider's AES modes that take one whole message per {@code doFinal} share (XTS:
 * a data unit, whose ciphertext stealing needs its end; HCTR2: a message whose every output
 * byte depends on every input byte): the tweak as an {@link IvParameterSpec}, {@code update}
 * buffering until {@code doFinal}, and the lifecycle of the key and of the buffer.
 *
 * <p>The buffered input (plaintext when encrypting) lives in an array the cipher owns and
 * zeroes when it is done with it: after {@code doFinal}, whether it succeeded or threw (except
 * for {@link ShortBufferException}, after which JCA lets the caller retry with more room), on
 * re-initialisation, when it outgrows its array (the old one is zeroed), and when the cipher
 * becomes unreachable. A message outside the mode's limits, however it was fed in, is an
 * {@link IllegalBlockSizeException} from {@code doFinal}, which leaves the cipher reset as after
 * any other {@code doFinal}.
 *
 * <p>Re-initialising with the same key bytes (the usual per-sector pattern: same key, new
 * tweak) keeps the expanded key; a new key closes the old one, and a cleaner closes the last
 * when the cipher becomes unreachable, zeroing it.
 *
 * @param <K> the mode's key (off-heap, closeable)
 * @param <C> what encrypts and decrypts with it
 */
abstract class WholeMessageCipher<K extends AutoCloseable, C> extends CipherSpi {
    private static final Cleaner CLEANER = Cleaner.create();

    /** How a mode makes, compares and uses its keys: static, so the cleaner never holds a cipher. */
    interface Keys<K extends AutoCloseable, C> {
        /** @throws IllegalArgumentException if the raw key is not one the mode takes */
        K of(byte[] raw);

        /** Whether {@code key} holds exactly {@code raw}; false if it is closed. */
        boolean holds(K key, byte[] raw);

        C cipherOf(K key);
    }

    private final String transformation;
    private final String mode;
    private final KeyHolder<K, C> holder;
    private final UnitBuffer buffered;
    private byte[] tweak;
    private boolean encrypt;
    private boolean initialised;

    /**
     * @param transformation the JCA name, for messages ("AES/XTS/NoPadding")
     * @param mode           the mode's name ("XTS")
     * @param maxMessage     the longest message, bytes: the buffer's bound
     */
    WholeMessageCipher(String transformation, String mode, int maxMessage, Keys<K, C> keys) {
        this.transformation = transformation;
        this.mode = mode;
        this.holder = new KeyHolder<>(keys);
        this.buffered = new UnitBuffer(maxMessage);
        CLEANER.register(this, cleanup(holder, buffered));
    }

    // -- what a mode says ----------------------------------------------------------------

    /** Why a message of {@code length} bytes is refused, or null. */
    abstract String messageLengthProblem(long length);

    /** Why a tweak of {@code length} bytes is refused (the message names what it should be), or null. */
    abstract String tweakProblem(int length);

    /** What the tweak is, for a caller who gave none. */
    abstract String tweakRule();

    /** Encrypts or decrypts one whole message with the current tweak. */
    abstract void crypt(C cipher, boolean encrypt, byte[] tweak, byte[] in, int inOffset, byte[] out, int outOffset,
            int length);

    /** Why NoPadding, for the refusal of any other padding. */
    abstract String whyNoPadding();

    // -- the JCA -----------------------------------------------------------------------

    /** The cleaner action: refers to the key and the buffer only, never to the cipher. */
    private static Runnable cleanup(KeyHolder<?, ?> holder, UnitBuffer buffer) {
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
    private static final class KeyHolder<K extends AutoCloseable, C> implements Runnable {
        private final Keys<K, C> keys;
        private volatile K key;
        private C cipher;

        KeyHolder(Keys<K, C> keys) {
            this.keys = keys;
        }

        void use(byte[] raw) {
            K current = key;
            if (current != null && keys.holds(current, raw)) {
                return;
            }
            K next = keys.of(raw);
            key = next;
            cipher = keys.cipherOf(next);
            close(current);
        }

        @Override
        public void run() {
            close(key);
        }

        private static void close(AutoCloseable k) {
            if (k != null) {
                try {
                    k.close();
                } catch (Exception e) {
                    throw new IllegalStateException("closing a key failed", e);
                }
            }
        }
    }

    @Override
    protected void engineSetMode(String m) throws NoSuchAlgorithmException {
        if (!m.equalsIgnoreCase(mode)) {
            throw new NoSuchAlgorithmException("this cipher is AES in " + mode + " mode only, not " + m);
        }
    }

    @Override
    protected void engineSetPadding(String padding) throws NoSuchPaddingException {
        if (!padding.equalsIgnoreCase("NoPadding")) {
            throw new NoSuchPaddingException(whyNoPadding() + "; use NoPadding, not " + padding);
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

    /** The current tweak (not a copy), for a subclass's parameters; null before init. */
    byte[] tweak() {
        return tweak;
    }

    @Override
    protected void engineInit(int opmode, Key key, SecureRandom random) throws InvalidKeyException {
        buffered.wipe(); // a refused init discards what an earlier one buffered, as every init does
        throw new InvalidKeyException(transformation + " needs the tweak: init(mode, key, new IvParameterSpec(tweak));"
                + " " + tweakRule());
    }

    @Override
    protected void engineInit(int opmode, Key key, AlgorithmParameterSpec params, SecureRandom random)
            throws InvalidKeyException, InvalidAlgorithmParameterException {
        // Whatever a previous operation left behind goes first, whether or not this init succeeds.
        buffered.wipe();
        if (opmode != Cipher.ENCRYPT_MODE && opmode != Cipher.DECRYPT_MODE) {
            throw new UnsupportedOperationException(transformation + " supports ENCRYPT_MODE and DECRYPT_MODE only");
        }
        if (!(params instanceof IvParameterSpec iv)) {
            throw new InvalidAlgorithmParameterException(transformation + " needs an IvParameterSpec holding the"
                    + " tweak: " + tweakRule());
        }
        byte[] t = iv.getIV();
        String problem = tweakProblem(t.length);
        if (problem != null) {
            throw new InvalidAlgorithmParameterException(transformation + ": " + problem);
        }
        if (key == null || !"RAW".equalsIgnoreCase(key.getFormat())) {
            throw new InvalidKeyException(transformation + " needs a raw secret key (SecretKeySpec)");
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

    /** The length of the message that update() buffered plus {@code len} more, if the mode takes it. */
    private int messageLength(int len) throws IllegalBlockSizeException {
        long total = buffered.length() + len;
        String problem = messageLengthProblem(total);
        if (problem != null) {
            throw new IllegalBlockSizeException(problem);
        }
        return (int) total;
    }

    /**
     * The message is whatever update() buffered followed by this input; without a prior
     * update (the usual case) it goes straight from input to output with no copy. Its length
     * is within the limits ({@link #messageLength}).
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
            crypt(holder.cipher, encrypt, tweak, data, dataOffset, output, outputOffset, total);
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
