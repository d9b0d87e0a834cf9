package io.sectorcrypt.hctr2;

/**
 * The limits of HCTR2 that every layer enforces (the library, the sector API and the JCA
 * provider), written once.
 *
 * <ul>
 *   <li>A message is at least one AES block: HCTR2 (Crowley, Huckleberry, Biggers, ePrint
 *       2021/1441, section 3) splits it into a 16-byte M and the rest N.</li>
 *   <li>A message is at most 2^24 bytes (16 MiB). The paper sets no practical bound; this
 *       library's bound keeps the JCA's buffered input bounded, matches the XTS data-unit
 *       limit (so every sector size that works for XTS works here), and keeps XCTR's block
 *       counter far below the 2^32 that Linux's {@code xctr} counts in.</li>
 *   <li>A tweak is 0 to 2^24 bytes. The paper allows any length (its length block holds
 *       2|T| + 2 in 128 bits); Linux's {@code hctr2(aes)} and dm-crypt use 32 bytes.</li>
 * </ul>
 */
public final class Hctr2Limits {
    /** The shortest message: one AES block. */
    public static final int MIN_MESSAGE_BYTES = 16;
    /** The longest message this library takes: 16 MiB. */
    public static final int MAX_MESSAGE_BYTES = 1 << 24;
    /** The longest tweak this library takes: 16 MiB. */
    public static final int MAX_TWEAK_BYTES = 1 << 24;
    /** The tweak Linux's {@code hctr2(aes)} takes and dm-crypt fills per sector: 32 bytes. */
    public static final int SECTOR_TWEAK_BYTES = 32;

    private Hctr2Limits() {
    }

    /** Why {@code length} bytes cannot be one HCTR2 message, or null if they can. */
    public static String messageLengthProblem(long length) {
        if (length >= MIN_MESSAGE_BYTES && length <= MAX_MESSAGE_BYTES) {
            return null;
        }
        return "an HCTR2 message is 16 .. 16777216 bytes (at least one AES block), not " + length + " bytes";
    }

    /**
     * Checks that {@code length} bytes can be one HCTR2 message.
     *
     * @throws IllegalArgumentException if it is below 16 bytes or above 2^24 bytes
     */
    public static void checkMessageLength(long length) {
        String problem = messageLengthProblem(length);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /** Why a tweak of {@code length} bytes is refused, or null if it is taken. */
    public static String tweakLengthProblem(long length) {
        if (length >= 0 && length <= MAX_TWEAK_BYTES) {
            return null;
        }
        return "an HCTR2 tweak is 0 .. 16777216 bytes (dm-crypt uses 32), not " + length + " bytes";
    }

    /**
     * Checks a tweak length.
     *
     * @throws IllegalArgumentException if it is above 2^24 bytes
     */
    public static void checkTweakLength(long length) {
        String problem = tweakLengthProblem(length);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }
}
