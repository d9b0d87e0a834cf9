package io.sectorcrypt.xts;

/**
 * The limits of XTS-AES that every layer enforces (the library, the sector queue, the JCA
 * provider and the CLI), written once. The native kernel checks them again as a second
 * line, but Java refuses first, with these messages.
 *
 * <ul>
 *   <li>A data unit (sector) is 16 bytes to 2^20 AES blocks: IEEE 1619-2007 section 5.1
 *       needs at least one whole block; NIST SP 800-38E caps a data unit at 2^20 blocks.</li>
 *   <li>The tweak is 16 bytes (one AES block).</li>
 * </ul>
 */
public final class XtsLimits {
    /** The shortest data unit: one AES block (IEEE 1619-2007 5.1). */
    public static final int MIN_UNIT_BYTES = 16;
    /** The longest data unit: 2^20 AES blocks, 16 MiB (NIST SP 800-38E). */
    public static final int MAX_UNIT_BYTES = 1 << 24;
    /** An XTS tweak value is one AES block. */
    public static final int TWEAK_BYTES = 16;

    private XtsLimits() {
    }

    /**
     * Why sectors of {@code sectorSize} bytes cannot be XTS data units, or null if they can.
     *
     * @param sectorSize a sector size in bytes
     */
    public static String sectorSizeProblem(long sectorSize) {
        if (sectorSize >= MIN_UNIT_BYTES && sectorSize <= MAX_UNIT_BYTES) {
            return null;
        }
        return "sector size " + sectorSize + " is outside 16 .. 16777216 bytes (an XTS data unit holds 1 to 2^20 AES"
                + " blocks, SP 800-38E)";
    }

    /**
     * Checks that sectors of {@code sectorSize} bytes can be XTS data units.
     *
     * @throws IllegalArgumentException if it is below 16 bytes or above 2^24 bytes
     */
    public static void checkSectorSize(long sectorSize) {
        String problem = sectorSizeProblem(sectorSize);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }

    /**
     * Why {@code length} bytes cannot be one XTS data unit, or null if it can.
     *
     * @param length a data unit (sector) length in bytes
     */
    public static String unitLengthProblem(long length) {
        if (length >= MIN_UNIT_BYTES && length <= MAX_UNIT_BYTES) {
            return null;
        }
        return "an XTS data unit is 16 .. 16777216 bytes (SP 800-38E: up to 2^20 blocks), not " + length + " bytes";
    }

    /**
     * Checks that {@code length} bytes can be one XTS data unit (a sector).
     *
     * @throws IllegalArgumentException if it is below 16 bytes or above 2^24 bytes
     */
    public static void checkUnitLength(long length) {
        String problem = unitLengthProblem(length);
        if (problem != null) {
            throw new IllegalArgumentException(problem);
        }
    }
}
