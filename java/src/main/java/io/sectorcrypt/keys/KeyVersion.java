package io.sectorcrypt.keys;

import java.time.Instant;
import java.util.Objects;

/**
 * One version of a named key, as a vault reports it: never the key material.
 *
 * @param expires null when the version never expires
 */
public record KeyVersion(String name, int version, KeyType type, boolean enabled, Instant created, Instant expires) {
    public KeyVersion {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(created, "created");
    }

    /** Whether the version has expired at {@code now}. */
    public boolean isExpired(Instant now) {
        return expires != null && !now.isBefore(expires);
    }

    /** Enabled and not expired: usable for wrap and unwrap (if the key is not deleted). */
    public boolean isUsable(Instant now) {
        return enabled && !isExpired(now);
    }
}
