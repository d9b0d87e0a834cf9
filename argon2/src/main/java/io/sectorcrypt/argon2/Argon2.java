package io.sectorcrypt.argon2;

import java.util.Objects;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Argon2 version 1.3 (RFC 9106) as LUKS2 keyslots use it: a password, a salt, time cost,
 * memory cost in KiB and lanes; no secret, no associated data. Computed by Bouncy Castle's
 * {@code Argon2BytesGenerator}, which this jar carries relocated under
 * {@code io.sectorcrypt.shaded.bouncycastle}: the relocated copy shares no class name with
 * {@code bc-fips} (FIPS mode) or an application's own {@code bcprov}, so neither can shadow
 * the other, and bc-fips' self-integrity check never sees foreign classes in its packages.
 *
 * <p>This class checks nothing but the arguments' presence: its one caller, the LUKS2 keyslot
 * code of {@code sectorcrypt}, validates and bounds every cost first (the memory is allocated
 * on the Java heap: {@code memoryKiB} KiB plus about 3 % of object overhead). The password
 * and the output are the caller's to zero; the generator's own working memory is cleared by
 * Bouncy Castle when it finishes.
 */
public final class Argon2 {
    /** The Argon2 variants LUKS2 names ({@code "argon2i"}, {@code "argon2id"}). */
    public enum Type {
        /** Data-independent addressing (RFC 9106 3.4.1.1). */
        ARGON2I(Argon2Parameters.ARGON2_i),
        /** The hybrid RFC 9106 recommends (section 4): argon2i for the first half pass, then argon2d. */
        ARGON2ID(Argon2Parameters.ARGON2_id);

        private final int code;

        Type(int code) {
            this.code = code;
        }
    }

    private Argon2() {
    }

    /**
     * Fills {@code out} with Argon2 v1.3 of {@code password} and {@code salt}.
     *
     * @param timeCost   passes over memory (RFC 9106 "t"), at least 1
     * @param memoryKiB  memory in KiB (1024-byte blocks, RFC 9106 "m"), at least 8 × lanes
     * @param lanes      parallelism (RFC 9106 "p"); computed on the calling thread
     * @throws IllegalArgumentException if Bouncy Castle refuses the parameters
     */
    public static void derive(Type type, byte[] password, byte[] salt, int timeCost, int memoryKiB, int lanes,
            byte[] out) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(password, "password");
        Objects.requireNonNull(salt, "salt");
        Objects.requireNonNull(out, "out");
        Argon2Parameters parameters = new Argon2Parameters.Builder(type.code)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13)
                .withSalt(salt)
                .withIterations(timeCost)
                .withMemoryAsKB(memoryKiB)
                .withParallelism(lanes)
                .build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        try {
            generator.init(parameters);
            generator.generateBytes(password, out);
        } finally {
            parameters.clear();
        }
    }

}
