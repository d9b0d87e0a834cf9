package io.sectorcrypt.keys;

import java.util.Objects;
import java.util.OptionalInt;

/**
 * The key a group of disks is protected by: a key in a vault, either pinned to one version
 * or following the latest one (then a new version is picked up and every disk of the set
 * re-wrapped automatically), and the identity the key manager acts as towards the vault.
 *
 * <p>The key's type must fit the encryption type: an AES-256 platform key for
 * {@link EncryptionType#PLATFORM}, an RSA customer key for {@link EncryptionType#CUSTOMER};
 * either for {@link EncryptionType#DOUBLE}, where it wraps the inner (XTS) layer and the key
 * manager's platform key wraps the outer (HCTR2) layer.
 *
 * @param pinnedVersion 0 for "latest", else the version every disk is wrapped under
 */
public record DiskEncryptionSet(String id, EncryptionType type, String vaultId, String keyName, int pinnedVersion,
        String identity) {
    public DiskEncryptionSet {
        Names.check("encryption set id", id, Names.MAX_KEY_NAME);
        Objects.requireNonNull(type, "type");
        Names.vaultId(vaultId);
        Names.keyName(keyName);
        Names.identity(identity);
        if (pinnedVersion < 0) {
            throw new IllegalArgumentException("a pinned key version is at least 1 (or 0 for latest), not "
                    + pinnedVersion);
        }
    }

    /** A platform-key set following the latest version of the key: the default kind. */
    public static DiskEncryptionSet platform(String id, String vaultId, String keyName, String identity) {
        return new DiskEncryptionSet(id, EncryptionType.PLATFORM, vaultId, keyName, 0, identity);
    }

    /** A customer-key set following the latest version of the key. */
    public static DiskEncryptionSet customer(String id, String vaultId, String keyName, String identity) {
        return new DiskEncryptionSet(id, EncryptionType.CUSTOMER, vaultId, keyName, 0, identity);
    }

    /**
     * A double-encryption set: this key (customer RSA or platform AES) wraps each disk's XTS
     * key, the key manager's platform key its outer HCTR2 key.
     */
    public static DiskEncryptionSet doubleEncryption(String id, String vaultId, String keyName, String identity) {
        return new DiskEncryptionSet(id, EncryptionType.DOUBLE, vaultId, keyName, 0, identity);
    }

    /** The same set pinned to {@code version} (manual rotation). */
    public DiskEncryptionSet pinnedTo(int version) {
        if (version < 1) {
            throw new IllegalArgumentException("a key version is at least 1, not " + version);
        }
        return new DiskEncryptionSet(id, type, vaultId, keyName, version, identity);
    }

    /** The same set following the latest version (automatic rotation). */
    public DiskEncryptionSet followingLatest() {
        return new DiskEncryptionSet(id, type, vaultId, keyName, 0, identity);
    }

    public OptionalInt pinned() {
        return pinnedVersion == 0 ? OptionalInt.empty() : OptionalInt.of(pinnedVersion);
    }

    public boolean followsLatest() {
        return pinnedVersion == 0;
    }
}
