package io.sectorcrypt.keys;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Instant;
import java.util.List;
import java.util.Set;

/**
 * Where key-encryption keys live: named keys with numbered versions (1, 2, ...), each
 * version an RSA customer key or an AES-256 platform key, enabled or disabled, with an
 * optional expiry. A key can be soft-deleted, then recovered or purged for good.
 *
 * <p>Wrapping and unwrapping happen inside the vault: its private and secret keys never
 * leave it. Those data-plane calls ({@link #describe}, {@link #wrap}, {@link #unwrap}) name
 * the calling identity and are checked against the key's access policy ({@link Permission}
 * get, wrapKey, unwrapKey); they also refuse a disabled, expired or deleted version. The
 * management calls belong to the vault's operator and are not access-checked. Every
 * management call, wrap and unwrap writes exactly one record to the vault's
 * {@link #auditLog()}, once its outcome is known: ok, refused or failed, never two for one
 * call; a refused {@link #describe} writes one too.
 *
 * <p>Implementations are thread-safe.
 */
public interface KeyVault extends AutoCloseable {
    /** A stable id, written into every {@link WrappedKey} this vault makes. */
    String id();

    /** The algorithm this vault wraps with under keys of {@code type}. */
    WrapAlgorithm wrapAlgorithm(KeyType type);

    // -- management ------------------------------------------------------------------

    /** Creates key {@code name}, version 1, enabled. */
    KeyVersion createKey(String name, KeyType type, Instant expires);

    /** Adds a version (same type, enabled) and returns it: the new "latest". */
    KeyVersion newVersion(String name);

    /** Every key, including soft-deleted ones, sorted by name. */
    List<KeyInfo> list();

    /** One key; throws {@link KeyVaultException} (NOT_FOUND) if there is none. */
    KeyInfo show(String name);

    void setEnabled(String name, int version, boolean enabled);

    /** Sets or, with null, clears a version's expiry. */
    void setExpiry(String name, int version, Instant expires);

    /** Soft delete: every use fails until {@link #recover}; {@link #purge} destroys. */
    void delete(String name);

    void recover(String name);

    /** Destroys a soft-deleted key and all its versions for good. */
    void purge(String name);

    /** Gives {@code identity} these permissions on key {@code name} (added to any it has). */
    void grant(String name, String identity, Set<Permission> permissions);

    /** Takes every permission on key {@code name} away from {@code identity}. */
    void revoke(String name, String identity);

    // -- data plane (access-checked) ---------------------------------------------------

    /** The key's metadata, for an identity with {@code get}. */
    KeyInfo describe(String identity, String name);

    /**
     * Wraps key bytes under a version of key {@code name}, for an identity with
     * {@code wrapKey}; the version must be enabled, unexpired, and the key not deleted.
     */
    WrappedKey wrap(String identity, String name, int version, MemorySegment keyBytes);

    /**
     * Unwraps into a new segment of {@code arena}, for an identity with {@code unwrapKey};
     * the caller zeroes the segment when done. Fails with {@link KeyVaultException} when the
     * version is disabled, expired or deleted, access is revoked, or the bytes do not unwrap.
     */
    MemorySegment unwrap(String identity, WrappedKey wrapped, Arena arena);

    /** The tamper-evident log this vault writes its operations to. */
    AuditLog auditLog();

    @Override
    void close();
}
