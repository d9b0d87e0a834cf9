package io.sectorcrypt.volume.luks2;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.util.Objects;

/**
 * The cost of a keyslot's passphrase KDF (LUKS2 on-disk format, section 3.2.5): Argon2
 * time, memory and lanes, or PBKDF2-HMAC-SHA256 iterations. The salt is not part of it: a
 * keyslot draws a fresh 32-byte salt each time it is made.
 *
 * <p>Every value is checked against cryptsetup's own limits for LUKS2 keyslots
 * ({@code lib/utils_pbkdf.c}, {@code crypt_pbkdf_get_limits}), so a keyslot made here is one
 * cryptsetup accepts: Argon2 time ≥ {@value #MIN_ARGON2_TIME}, memory
 * {@value #MIN_ARGON2_MEMORY_KIB} KiB .. 4 GiB, 1 .. {@value #MAX_ARGON2_PARALLEL} lanes;
 * PBKDF2 ≥ {@value #MIN_PBKDF2_ITERATIONS} iterations (the floor SP 800-132 5.2 recommends).
 *
 * <p>cryptsetup benchmarks the machine and aims at 2 s; a library cannot know which machine
 * will unlock, so it offers fixed costs: {@link #production(CryptoPolicy)} and the cheapest
 * values cryptsetup allows, {@link #minimal(CryptoPolicy)}, for tests only.
 *
 * @param type       which function
 * @param time       Argon2 passes over memory (RFC 9106 "t"); 0 for PBKDF2
 * @param memoryKiB  Argon2 memory in KiB (RFC 9106 "m"); 0 for PBKDF2
 * @param parallel   Argon2 lanes (RFC 9106 "p"; LUKS2 "cpus"); 0 for PBKDF2
 * @param iterations PBKDF2 iterations; 0 for Argon2
 */
public record KdfParameters(Type type, int time, int memoryKiB, int parallel, int iterations) {
    /** The KDF types of LUKS2 keyslots, by their JSON names. */
    public enum Type {
        /** Argon2i (RFC 9106), readable; cryptsetup's choice before argon2id. */
        ARGON2I("argon2i"),
        /** Argon2id (RFC 9106 section 4's first recommendation); the DEFAULT policy's choice. */
        ARGON2ID("argon2id"),
        /** PBKDF2-HMAC-SHA256 (RFC 8018 5.2, SP 800-132); the FIPS policy's choice (Argon2 is not approved). */
        PBKDF2("pbkdf2");

        private final String jsonName;

        Type(String jsonName) {
            this.jsonName = jsonName;
        }

        /** The name in the keyslot's {@code kdf.type}. */
        public String jsonName() {
            return jsonName;
        }

        /** Whether this is one of the Argon2 variants. */
        public boolean isArgon2() {
            return this != PBKDF2;
        }

        static Type ofJson(String name, String where) {
            for (Type t : values()) {
                if (t.jsonName.equals(name)) {
                    return t;
                }
            }
            throw new Luks2FormatException(where + ".type '" + Luks2Json.printable(name)
                    + "' is not supported (argon2i, argon2id or pbkdf2)");
        }
    }

    /** cryptsetup's Argon2 time floor. */
    public static final int MIN_ARGON2_TIME = 4;
    /** cryptsetup's Argon2 memory floor, KiB. */
    public static final int MIN_ARGON2_MEMORY_KIB = 32;
    /** cryptsetup's Argon2 memory ceiling: 4 GiB, in KiB. */
    public static final int MAX_ARGON2_MEMORY_KIB = 4 * 1024 * 1024;
    /** cryptsetup's Argon2 lane ceiling. */
    public static final int MAX_ARGON2_PARALLEL = 4;
    /** cryptsetup's (and SP 800-132 5.2's) PBKDF2 floor. */
    public static final int MIN_PBKDF2_ITERATIONS = 1000;

    /**
     * Production Argon2id: t = 4, m = 256 MiB, p = 4. Four lanes and four passes are
     * cryptsetup's defaults ({@code DEFAULT_LUKS2_PARALLEL_THREADS}, its time floor); 256 MiB is
     * four times RFC 9106 section 4's second recommendation (t = 3, 64 MiB), and a quarter of
     * cryptsetup's 1 GiB ceiling, which its 2 s benchmark reaches only on fast CPUs. Measured on
     * the 2-vCPU build machine: 256 MiB takes about 2.5 s to make or open, in Java (Bouncy
     * Castle, one thread) as in cryptsetup 2.6.1 (2.3 s to format, 1.7 s to open); 1 GiB took
     * 11-12 s in both, and would need 1.1 GiB of free Java heap on every open. Opening needs
     * about 270 MiB of heap.
     */
    public static final KdfParameters ARGON2ID_PRODUCTION = argon2id(4, 256 * 1024, 4);
    /**
     * Production PBKDF2-HMAC-SHA256: 600 000 iterations, OWASP's 2023 figure for this PRF
     * (cryptsetup benchmarks about 2 s worth, typically 1-4 million on current CPUs); about
     * 0.5 s in Java on the build machine.
     */
    public static final KdfParameters PBKDF2_PRODUCTION = pbkdf2(600_000);

    public KdfParameters {
        Objects.requireNonNull(type, "type");
        if (type.isArgon2()) {
            if (time < MIN_ARGON2_TIME) {
                throw new IllegalArgumentException("Argon2 time must be at least " + MIN_ARGON2_TIME + ", not " + time);
            }
            if (memoryKiB < MIN_ARGON2_MEMORY_KIB || memoryKiB > MAX_ARGON2_MEMORY_KIB) {
                throw new IllegalArgumentException("Argon2 memory must be " + MIN_ARGON2_MEMORY_KIB + ".."
                        + MAX_ARGON2_MEMORY_KIB + " KiB, not " + memoryKiB);
            }
            if (parallel < 1 || parallel > MAX_ARGON2_PARALLEL) {
                throw new IllegalArgumentException("Argon2 parallel must be 1.." + MAX_ARGON2_PARALLEL + ", not "
                        + parallel);
            }
            if (iterations != 0) {
                throw new IllegalArgumentException("Argon2 has no iteration count (use time)");
            }
        } else {
            if (iterations < MIN_PBKDF2_ITERATIONS) {
                throw new IllegalArgumentException("PBKDF2 needs at least " + MIN_PBKDF2_ITERATIONS
                        + " iterations, not " + iterations);
            }
            if (time != 0 || memoryKiB != 0 || parallel != 0) {
                throw new IllegalArgumentException("PBKDF2 has only an iteration count");
            }
        }
    }

    /** Argon2id with the given costs. */
    public static KdfParameters argon2id(int time, int memoryKiB, int parallel) {
        return new KdfParameters(Type.ARGON2ID, time, memoryKiB, parallel, 0);
    }

    /** PBKDF2-HMAC-SHA256 with the given iteration count. */
    public static KdfParameters pbkdf2(int iterations) {
        return new KdfParameters(Type.PBKDF2, 0, 0, 0, iterations);
    }

    /** {@link #ARGON2ID_PRODUCTION}, or {@link #PBKDF2_PRODUCTION} under a FIPS policy. */
    public static KdfParameters production(CryptoPolicy policy) {
        return policy.isFips() ? PBKDF2_PRODUCTION : ARGON2ID_PRODUCTION;
    }

    /**
     * The cheapest costs cryptsetup accepts (Argon2id t = 4, 32 KiB, p = 1; PBKDF2 1000
     * iterations), for tests: they protect nothing against guessing.
     */
    public static KdfParameters minimal(CryptoPolicy policy) {
        return policy.isFips() ? pbkdf2(MIN_PBKDF2_ITERATIONS) : argon2id(MIN_ARGON2_TIME, MIN_ARGON2_MEMORY_KIB, 1);
    }
}
