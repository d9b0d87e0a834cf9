package io.sectorcrypt.xts;

import java.lang.foreign.MemorySegment;

/**
 * What the sector queue and a volume run on a run of whole sectors: one cipher
 * ({@link SectorCipher}, XTS) or a chain of them (a DOUBLE disk's XTS then HCTR2). Each
 * sector is one data unit whose IV is its number in the transform's {@link IvConvention}.
 *
 * <p>Implementations are immutable and thread-safe, accept src and dst as the same memory
 * (in place) and refuse any other overlap, and check every argument before writing a byte.
 */
public interface SectorTransform {
    /** How the IVs of a run follow from its first IV. */
    IvConvention ivConvention();

    /**
     * Encrypts whole sectors from src into dst (same length; may be the same memory).
     *
     * @param firstIv the first sector's IV, unsigned, in the unit of {@link #ivConvention()}
     * @param sectorSize bytes per sector (data unit)
     * @throws IllegalArgumentException if src is not whole sectors, dst differs in length, is
     *         read-only or partly overlaps src, or the IVs break {@link IvConvention#checkRun}
     * @throws KeyClosedException if a key is closed
     */
    void encrypt(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize);

    /** Decrypts whole sectors from src into dst, as {@link #encrypt}. */
    void decrypt(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize);
}
