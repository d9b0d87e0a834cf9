package io.sectorcrypt.keys;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A named key as a vault reports it: its versions (oldest first), whether it is
 * soft-deleted, and who may do what with it.
 *
 * @param deletedAt null unless the key is soft-deleted
 */
public record KeyInfo(String name, KeyType type, List<KeyVersion> versions, Instant deletedAt,
        Map<String, Set<Permission>> access) {
    public KeyInfo {
        versions = List.copyOf(versions);
        access = Map.copyOf(access);
    }

    public boolean isDeleted() {
        return deletedAt != null;
    }

    /** The newest version. */
    public KeyVersion newest() {
        return versions.get(versions.size() - 1);
    }

    /** The newest version usable at {@code now}, if any. */
    public Optional<KeyVersion> newestUsable(Instant now) {
        for (int i = versions.size() - 1; i >= 0; i--) {
            if (versions.get(i).isUsable(now)) {
                return Optional.of(versions.get(i));
            }
        }
        return Optional.empty();
    }

    public Optional<KeyVersion> version(int version) {
        return versions.stream().filter(v -> v.version() == version).findFirst();
    }
}
