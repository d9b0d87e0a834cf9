package io.sectorcrypt.jca;

import java.util.Arrays;

/**
 * What a cipher's update() has taken and doFinal() has not yet used, in an array the cipher
 * owns and zeroes. Past the cipher's longest unit it stops storing input and only counts
 * it, so that doFinal can refuse the unit with its real length. Shared by the XTS and HCTR2
 * ciphers, which both see a whole unit (sector, message) only at doFinal.
 */
final class UnitBuffer {
    /** Arrays up to this size are kept for the next unit; larger ones are dropped once zeroed. */
    private static final int KEEP_BYTES = 64 * 1024;
    private byte[] bytes = new byte[0];
    private int size;
    private long overflowLength = -1;
    private final int maxBytes;

    /** A buffer that stores at most {@code maxBytes}: the longest unit the cipher accepts. */
    UnitBuffer(int maxBytes) {
        this.maxBytes = maxBytes;
    }

    /** Bytes taken since the last reset: the stored ones, or the counted length after an overflow. */
    long length() {
        return overflowLength >= 0 ? overflowLength : size;
    }

    boolean isEmpty() {
        return length() == 0;
    }

    void append(byte[] input, int offset, int len) {
        if (len <= 0) {
            return;
        }
        if (overflowLength >= 0) {
            overflowLength += len;
            return;
        }
        long needed = (long) size + len;
        if (needed > maxBytes) {
            // The unit can no longer be valid: keep no more of it, remember how long it got.
            wipe();
            overflowLength = needed;
            return;
        }
        if (needed > bytes.length) {
            byte[] larger = new byte[(int) Math.min(maxBytes,
                    Math.max(needed, Math.max(64L, 2L * bytes.length)))];
            System.arraycopy(bytes, 0, larger, 0, size);
            Arrays.fill(bytes, (byte) 0);
            bytes = larger;
        }
        System.arraycopy(input, offset, bytes, size, len);
        size = (int) needed;
    }

    /** The stored bytes are {@code array()[0 .. size())}; valid until the next append or wipe. */
    byte[] array() {
        return bytes;
    }

    int size() {
        return size;
    }

    /** Zeroes what was stored and forgets any overflow: the state after init. */
    void wipe() {
        Arrays.fill(bytes, 0, size, (byte) 0);
        size = 0;
        overflowLength = -1;
        if (bytes.length > KEEP_BYTES) {
            bytes = new byte[0]; // zeroed above; a large unit's array is not kept for the next
        }
    }
}
