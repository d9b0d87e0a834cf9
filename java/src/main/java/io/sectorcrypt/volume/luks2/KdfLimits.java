package io.sectorcrypt.volume.luks2;

/**
 * The most work a reader lets a keyslot's KDF (or a digest's PBKDF2) ask for before it
 * refuses the keyslot: a header is untrusted input, and its costs decide how much memory
 * and time opening it takes. cryptsetup's own ceilings (4 GiB, 2^32 - 1 iterations) are too
 * high to be a defence, so these default to what cryptsetup ever chooses unasked, with room.
 *
 * @param maxArgon2MemoryKiB  the most Argon2 memory, KiB (it is allocated on the Java heap)
 * @param maxArgon2Work       the most Argon2 time × memory, in KiB passes: bounds the run time
 * @param maxArgon2Parallel   the most Argon2 lanes
 * @param maxPbkdf2Iterations the most PBKDF2 iterations, per output block
 */
public record KdfLimits(long maxArgon2MemoryKiB, long maxArgon2Work, int maxArgon2Parallel, long maxPbkdf2Iterations) {
    /**
     * Memory ≤ 1 GiB (cryptsetup's default ceiling for new keyslots, {@code
     * DEFAULT_LUKS2_MEMORY_KB}); work ≤ 16 passes over 1 GiB (cryptsetup's 2 s benchmark picks
     * 4 to 10 at 1 GiB on current CPUs; 16 took about 45 s on the 2-vCPU build machine); lanes ≤ 4 (cryptsetup's ceiling); PBKDF2 ≤ 2^25 iterations
     * (about ten times what cryptsetup's 2 s benchmark picks on a fast CPU).
     */
    public static final KdfLimits DEFAULT = new KdfLimits(1024L * 1024, 16L * 1024 * 1024, 4, 1L << 25);

    public KdfLimits {
        if (maxArgon2MemoryKiB < KdfParameters.MIN_ARGON2_MEMORY_KIB
                || maxArgon2MemoryKiB > KdfParameters.MAX_ARGON2_MEMORY_KIB) {
            throw new IllegalArgumentException("maxArgon2MemoryKiB must be " + KdfParameters.MIN_ARGON2_MEMORY_KIB
                    + ".." + KdfParameters.MAX_ARGON2_MEMORY_KIB);
        }
        if (maxArgon2Work < maxArgon2MemoryKiB * KdfParameters.MIN_ARGON2_TIME) {
            throw new IllegalArgumentException("maxArgon2Work must allow at least " + KdfParameters.MIN_ARGON2_TIME
                    + " passes over maxArgon2MemoryKiB");
        }
        if (maxArgon2Parallel < 1 || maxArgon2Parallel > KdfParameters.MAX_ARGON2_PARALLEL) {
            throw new IllegalArgumentException("maxArgon2Parallel must be 1.." + KdfParameters.MAX_ARGON2_PARALLEL);
        }
        if (maxPbkdf2Iterations < KdfParameters.MIN_PBKDF2_ITERATIONS || maxPbkdf2Iterations > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("maxPbkdf2Iterations must be " + KdfParameters.MIN_PBKDF2_ITERATIONS
                    + "..2^32-1");
        }
    }
}
