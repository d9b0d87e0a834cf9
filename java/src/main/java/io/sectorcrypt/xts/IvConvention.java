package io.sectorcrypt.xts;

/**
 * How the {@code plain64} IV of dm-crypt counts sectors: the unit in which a sector's
 * number, the XTS tweak, is given. Named as dm-crypt names them.
 *
 * <p>The IV of a sector is a 64-bit unsigned number written little-endian into the
 * 16-byte tweak (dm-crypt {@code plain64}). With sectors of {@code s} bytes, the sector
 * after one with IV {@code n} has IV {@code n + step(s)}.
 *
 * <ul>
 *   <li>{@link #PLAIN64}: dm-crypt's default, {@code cryptsetup --type plain} without
 *       {@code --iv-large-sectors}, and always LUKS2 (LUKS2 on-disk format 1.1.1, section
 *       3.7, {@code sector_size}): the IV counts 512-byte units whatever the sector size,
 *       so a 4096-byte sector {@code k} of the data has IV {@code 8k}. Sector sizes are
 *       multiples of 512 bytes, and a run of sectors starts at an IV that is a multiple
 *       of {@code sectorSize / 512}, as dm-crypt requires of its start and
 *       {@code iv_offset}.</li>
 *   <li>{@link #IV_LARGE_SECTORS}: dm-crypt's {@code iv_large_sectors} table option
 *       ({@code cryptsetup --iv-large-sectors}): the IV counts sectors of the sector size.
 *       Any data-unit length works, from 16 bytes to 2^20 blocks.</li>
 * </ul>
 */
public enum IvConvention {
    /** The IV counts 512-byte units (dm-crypt's default; LUKS2). */
    PLAIN64,
    /** The IV counts sectors of the sector size (dm-crypt's {@code iv_large_sectors}). */
    IV_LARGE_SECTORS;

    /** The unit {@link #PLAIN64} counts in: dm-crypt's 512-byte sector ({@code SECTOR_SHIFT} 9). */
    public static final int IV_UNIT_BYTES = 512;

    /**
     * How far the IV moves from one sector to the next.
     *
     * @param sectorSize sector size in bytes, 16 .. 2^24
     * @return 1 for {@link #IV_LARGE_SECTORS}; {@code sectorSize / 512} for {@link #PLAIN64}
     * @throws IllegalArgumentException if the size is outside the XTS data-unit limits
     *         ({@link XtsLimits}), or (for {@link #PLAIN64}) not a multiple of 512 bytes
     */
    public long ivStep(int sectorSize) {
        XtsLimits.checkSectorSize(sectorSize);
        if (this == IV_LARGE_SECTORS) {
            return 1;
        }
        if (sectorSize % IV_UNIT_BYTES != 0) {
            throw new IllegalArgumentException("sector size " + sectorSize + " is not a multiple of 512 bytes, the unit"
                    + " the plain64 IV counts in by default (dm-crypt, LUKS2); count IVs in sectors instead"
                    + " (IvConvention.IV_LARGE_SECTORS, dm-crypt's iv_large_sectors)");
        }
        return sectorSize / IV_UNIT_BYTES;
    }

    /**
     * Checks a run of {@code count} sectors starting at IV {@code firstIv}: its start is a
     * multiple of the IV step, and the last sector's IV, {@code firstIv + (count - 1) *
     * step}, is at most 2^64 - 1 (the IV is an unsigned 64-bit number).
     *
     * @param firstIv the first sector's IV, unsigned, in this convention's unit
     * @param count number of sectors, at least 0
     * @param sectorSize sector size in bytes
     * @return the IV step ({@link #ivStep(int)})
     * @throws IllegalArgumentException if the sector size is refused by {@link #ivStep(int)},
     *         the start is not a multiple of the step, or the run passes IV 2^64 - 1
     */
    public long checkRun(long firstIv, long count, int sectorSize) {
        long step = ivStep(sectorSize);
        // This runs on every call: masks and a multiply-high rather than divisions where it can.
        boolean aligned = (step & (step - 1)) == 0 ? (firstIv & (step - 1)) == 0 : Long.remainderUnsigned(firstIv, step) == 0;
        if (!aligned) {
            throw new IllegalArgumentException("first IV " + Long.toUnsignedString(firstIv) + " is not a multiple of "
                    + step + ": with " + sectorSize + "-byte sectors the plain64 IV counts 512-byte units and each"
                    + " sector starts at a multiple of " + step + " (dm-crypt, LUKS2)");
        }
        if (count > 1 && (Math.unsignedMultiplyHigh(count - 1, step) != 0
                || Long.compareUnsigned((count - 1) * step, -1L - firstIv) > 0)) {
            throw new IllegalArgumentException(count + " sectors from IV " + Long.toUnsignedString(firstIv)
                    + (step == 1 ? "" : " in steps of " + step) + " run past IV 2^64 - 1 (18446744073709551615),"
                    + " the last plain64 IV");
        }
        return step;
    }

    /**
     * The IV of the sector {@code sectors} sectors after the one whose IV is {@code firstIv}
     * (no range check: callers check the whole run first with {@link #checkRun}).
     */
    public long ivAfter(long firstIv, long sectors, int sectorSize) {
        return firstIv + sectors * ivStep(sectorSize);
    }
}
