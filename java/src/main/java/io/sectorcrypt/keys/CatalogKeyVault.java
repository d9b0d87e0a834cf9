package io.sectorcrypt.keys;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Supplier;

/**
 * The rules every vault shares, over a {@link KeyCatalog} that a subclass stores and key
 * material that a subclass holds: lifecycle (versions, enable/disable, expiry, soft delete,
 * recover, purge), the access policy, the checks before every wrap and unwrap, and the audit
 * record of each operation and each refusal.
 *
 * <p>Audit: every management call, wrap and unwrap writes exactly one record, after its
 * outcome is known ({@link #audited}): "ok" once it has fully succeeded, otherwise the one
 * result {@link AuditLog#failureResult} gives for what went wrong. Reads (list, show, and
 * describe when allowed) write none; a refused describe writes one.
 */
abstract class CatalogKeyVault implements KeyVault {
    protected final String id;
    protected final CryptoPolicy policy;
    protected final Clock clock;
    protected final String operator;
    private AuditLog audit;

    protected CatalogKeyVault(String id, CryptoPolicy policy, Clock clock, String operator) {
        this.id = Names.vaultId(id);
        this.policy = Objects.requireNonNull(policy, "policy");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.operator = Names.identity(operator);
    }

    protected final void useAuditLog(AuditLog log) {
        this.audit = Objects.requireNonNull(log, "audit log");
    }

    /**
     * Runs {@code body} on the stored catalog under the vault's lock (across threads and
     * processes); if {@code write}, stores the catalog durably before returning.
     */
    protected abstract <T> T transact(boolean write, Function<KeyCatalog, T> body);

    /** Creates the material of a new version; returns what the catalog keeps for it. */
    protected abstract byte[] createMaterial(String name, int version, KeyType type);

    /** Destroys a purged version's material (token objects); the catalog entry goes anyway. */
    protected abstract void destroyMaterial(String name, KeyType type, byte[] material);

    /** Wrapped bytes and the exact algorithm that made them. */
    protected record Wrapped(WrapAlgorithm algorithm, byte[] bytes) {
    }

    /** Wraps with the material of version {@code version} of key {@code name}, inside the vault. */
    protected abstract Wrapped wrapWith(String name, int version, KeyType type, byte[] material,
            MemorySegment keyBytes);

    /**
     * Unwraps with the material of version {@code version} of key {@code name} into
     * {@code arena}; throws when the bytes do not unwrap.
     */
    protected abstract MemorySegment unwrapWith(String name, int version, KeyType type, byte[] material,
            WrapAlgorithm algorithm, byte[] wrapped, Arena arena) throws GeneralSecurityException;

    @Override
    public final String id() {
        return id;
    }

    @Override
    public final AuditLog auditLog() {
        return audit;
    }

    // -- management ------------------------------------------------------------------

    @Override
    public KeyVersion createKey(String name, KeyType type, Instant expires) {
        return manage(name, "create", 1, catalog -> {
            Names.keyName(name);
            Objects.requireNonNull(type, "type");
            if (type.isCustomerKey()) {
                policy.checkRsaModulus(type.bits());
            }
            if (catalog.keys.containsKey(name)) {
                throw new KeyVaultException(KeyVaultException.Reason.ALREADY_EXISTS, "key '" + name
                        + "' already exists in vault '" + id + "'" + (catalog.keys.get(name).deletedAt != null
                                ? " (soft-deleted: recover or purge it first)" : ""));
            }
            KeyCatalog.Entry entry = new KeyCatalog.Entry(name, type);
            KeyCatalog.Version v = new KeyCatalog.Version(1, now(), truncate(expires), createMaterial(name, 1, type));
            entry.versions.add(v);
            catalog.keys.put(name, entry);
            return v.view(name, type);
        });
    }

    @Override
    public KeyVersion newVersion(String name) {
        return manage(name, "new-version", 0, catalog -> {
            KeyCatalog.Entry entry = live(catalog, name);
            int number = entry.versions.get(entry.versions.size() - 1).number + 1;
            KeyCatalog.Version v = new KeyCatalog.Version(number, now(), null,
                    createMaterial(name, number, entry.type));
            entry.versions.add(v);
            return v.view(name, entry.type);
        });
    }

    @Override
    public List<KeyInfo> list() {
        return transact(false, catalog -> catalog.keys.values().stream().map(KeyCatalog.Entry::view).toList());
    }

    @Override
    public KeyInfo show(String name) {
        return transact(false, catalog -> entry(catalog, name).view());
    }

    @Override
    public void setEnabled(String name, int version, boolean enabled) {
        manage(name, enabled ? "enable" : "disable", version, catalog -> {
            version(live(catalog, name), version).enabled = enabled;
            return null;
        });
    }

    @Override
    public void setExpiry(String name, int version, Instant expires) {
        manage(name, "set-expiry " + (expires == null ? "never" : truncate(expires)), version, catalog -> {
            version(live(catalog, name), version).expires = truncate(expires);
            return null;
        });
    }

    @Override
    public void delete(String name) {
        manage(name, "delete", 0, catalog -> {
            live(catalog, name).deletedAt = now();
            return null;
        });
    }

    @Override
    public void recover(String name) {
        manage(name, "recover", 0, catalog -> {
            KeyCatalog.Entry entry = entry(catalog, name);
            if (entry.deletedAt == null) {
                throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "key '" + name + "' in vault '"
                        + id + "' is not deleted: nothing to recover");
            }
            entry.deletedAt = null;
            return null;
        });
    }

    @Override
    public void purge(String name) {
        manage(name, "purge", 0, catalog -> {
            KeyCatalog.Entry entry = entry(catalog, name);
            if (entry.deletedAt == null) {
                throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "key '" + name + "' in vault '"
                        + id + "' must be deleted before it can be purged");
            }
            for (KeyCatalog.Version v : entry.versions) {
                destroyMaterial(name, entry.type, v.material);
                Arrays.fill(v.material, (byte) 0);
            }
            catalog.keys.remove(name);
            return null;
        });
    }

    @Override
    public void grant(String name, String identity, Set<Permission> permissions) {
        manage(name, "grant " + identity + " " + labels(permissions), 0, catalog -> {
            Names.identity(identity);
            if (permissions.isEmpty()) {
                throw new IllegalArgumentException("grant at least one permission: get, wrapKey or unwrapKey");
            }
            live(catalog, name).access.computeIfAbsent(identity, i -> EnumSet.noneOf(Permission.class))
                    .addAll(permissions);
            return null;
        });
    }

    @Override
    public void revoke(String name, String identity) {
        manage(name, "revoke " + identity, 0, catalog -> {
            Names.identity(identity);
            if (entry(catalog, name).access.remove(identity) == null) {
                throw new KeyVaultException(KeyVaultException.Reason.NOT_FOUND, "identity '" + identity
                        + "' has no access to key '" + name + "' in vault '" + id + "'");
            }
            return null;
        });
    }

    // -- data plane --------------------------------------------------------------------

    @Override
    public KeyInfo describe(String identity, String name) {
        try {
            return transact(false, catalog -> {
                KeyCatalog.Entry entry = entry(catalog, name);
                checkAccess(identity, entry, Permission.GET, name);
                return entry.view();
            });
        } catch (RuntimeException e) {
            // A read: only a refusal is an event worth a record.
            recordFailure(identity, name, 0, "get", DENIED, e);
            throw e;
        }
    }

    @Override
    public WrappedKey wrap(String identity, String name, int version, MemorySegment keyBytes) {
        return audited(identity, name, version, "wrap", DENIED, () -> {
            Objects.requireNonNull(keyBytes, "keyBytes");
            Usable usable = usable(identity, name, version, Permission.WRAP_KEY);
            try {
                Wrapped wrapped = wrapWith(name, version, usable.type, usable.material, keyBytes);
                return new WrappedKey(wrapped.algorithm(), id, name, version, wrapped.bytes());
            } finally {
                Arrays.fill(usable.material, (byte) 0);
            }
        }, w -> "ok " + w.algorithm().label());
    }

    @Override
    public MemorySegment unwrap(String identity, WrappedKey wrapped, Arena arena) {
        Objects.requireNonNull(wrapped, "wrapped");
        String name = wrapped.keyName();
        int version = wrapped.keyVersion();
        return audited(identity, name, version, "unwrap", DENIED, () -> {
            if (!wrapped.vaultId().equals(id)) {
                throw new KeyVaultException(KeyVaultException.Reason.INVALID_REQUEST, "the wrapped key belongs to vault '"
                        + wrapped.vaultId() + "', not '" + id + "'");
            }
            Usable usable = usable(identity, name, version, Permission.UNWRAP_KEY);
            try {
                if (!compatible(usable.type, wrapped.algorithm())) {
                    throw new GeneralSecurityException("algorithm does not fit the key type");
                }
                return unwrapWith(name, version, usable.type, usable.material, wrapped.algorithm(), wrapped.wrapped(),
                        arena);
            } catch (GeneralSecurityException e) {
                // The cause's message is the provider's and may say which check failed: not passed on.
                throw new KeyVaultException(KeyVaultException.Reason.UNWRAP_FAILED, "the wrapped key does not unwrap"
                        + " with key '" + name + "' version " + version + " in vault '" + id + "' (wrong key, or altered"
                        + " bytes)");
            } catch (IllegalArgumentException e) {
                // A length the algorithm cannot produce (KeyWrapLimits): say which rule, it holds no secret.
                throw new KeyVaultException(KeyVaultException.Reason.UNWRAP_FAILED, "the wrapped key does not unwrap"
                        + " with key '" + name + "' version " + version + " in vault '" + id + "': " + e.getMessage(), e);
            } finally {
                Arrays.fill(usable.material, (byte) 0);
            }
        }, key -> "ok " + wrapped.algorithm().label());
    }

    /** How a refused data-plane call is recorded ("denied: access_denied"). */
    private static final String DENIED = "denied";
    /** How a refused management call is recorded ("refused: not_found"). */
    private static final String REFUSED = "refused";

    /**
     * Runs one audited operation and writes its one record, once the outcome is known: the
     * body has returned (so nothing after the record can still fail it) or thrown. Should the
     * record itself fail to be written, the caller gets that failure; a failure of the body
     * is not hidden by one of the record.
     *
     * @param refusal the word for a refusal on the key's state or access: {@link #DENIED} or {@link #REFUSED}
     * @param ok      the result recorded for a successful outcome
     */
    private <T> T audited(String identity, String name, int version, String operation, String refusal,
            Supplier<T> body, Function<T, String> ok) {
        T result;
        try {
            result = body.get();
        } catch (RuntimeException | Error e) {
            recordFailure(identity, name, version, operation, refusal, e);
            throw e;
        }
        try {
            record(identity, name, result instanceof KeyVersion v ? v.version() : version, operation, ok.apply(result));
        } catch (RuntimeException | Error e) {
            if (result instanceof MemorySegment key) {
                key.fill((byte) 0); // an unwrapped key the caller will never receive
            }
            throw e;
        }
        return result;
    }

    private void recordFailure(String identity, String name, int version, String operation, String refusal,
            Throwable failure) {
        try {
            record(identity, name, version, operation, AuditLog.failureResult(failure, refusal));
        } catch (RuntimeException auditFailed) {
            failure.addSuppressed(auditFailed);
        }
    }

    private static boolean compatible(KeyType type, WrapAlgorithm algorithm) {
        return type.isCustomerKey() ? algorithm != WrapAlgorithm.AES_KWP : algorithm == WrapAlgorithm.AES_KWP;
    }

    private record Usable(KeyType type, byte[] material) {
    }

    /**
     * Checks access and state under the lock and takes a copy of the version's material.
     * Refusals are thrown; the caller's {@link #audited} records them.
     */
    private Usable usable(String identity, String name, int version, Permission permission) {
        return transact(false, catalog -> {
            KeyCatalog.Entry entry = catalog.keys.get(name);
            if (entry == null) {
                throw new KeyVaultException(KeyVaultException.Reason.NOT_FOUND,
                        "key '" + name + "' does not exist in vault '" + id + "'");
            }
            checkAccess(identity, entry, permission, name);
            if (entry.deletedAt != null) {
                throw new KeyVaultException(KeyVaultException.Reason.DELETED,
                        "key '" + name + "' in vault '" + id + "' is deleted");
            }
            KeyCatalog.Version v = entry.version(version);
            if (v == null) {
                throw new KeyVaultException(KeyVaultException.Reason.NOT_FOUND,
                        "key '" + name + "' in vault '" + id + "' has no version " + version);
            }
            if (!v.enabled) {
                throw new KeyVaultException(KeyVaultException.Reason.DISABLED,
                        "key '" + name + "' version " + version + " in vault '" + id + "' is disabled");
            }
            if (v.expires != null && !clock.instant().isBefore(v.expires)) {
                throw new KeyVaultException(KeyVaultException.Reason.EXPIRED,
                        "key '" + name + "' version " + version + " in vault '" + id + "' expired at " + v.expires);
            }
            return new Usable(entry.type, v.material.clone());
        });
    }

    private void checkAccess(String identity, KeyCatalog.Entry entry, Permission permission, String name) {
        Set<Permission> granted = entry.access.get(identity);
        if (granted == null || !granted.contains(permission)) {
            throw new KeyVaultException(KeyVaultException.Reason.ACCESS_DENIED, "identity '" + identity + "' may not "
                    + permission.label() + " with key '" + name + "' in vault '" + id + "'");
        }
    }

    /** A management call: the change is stored under the lock, then the one record is written. */
    private <T> T manage(String name, String operation, int version, Function<KeyCatalog, T> change) {
        return audited(operator, name, version, operation, REFUSED, () -> transact(true, change), result -> "ok");
    }

    private void record(String identity, String name, int version, String operation, String result) {
        if (audit != null) {
            audit.append(identity, id, name, version == 0 ? "-" : Integer.toString(version), operation, result);
        }
    }

    private KeyCatalog.Entry entry(KeyCatalog catalog, String name) {
        KeyCatalog.Entry entry = catalog.keys.get(name);
        if (entry == null) {
            throw new KeyVaultException(KeyVaultException.Reason.NOT_FOUND, "key '" + name + "' does not exist in vault '"
                    + id + "'");
        }
        return entry;
    }

    /** A key that exists and is not deleted: management other than recover/purge needs one. */
    private KeyCatalog.Entry live(KeyCatalog catalog, String name) {
        KeyCatalog.Entry entry = entry(catalog, name);
        if (entry.deletedAt != null) {
            throw new KeyVaultException(KeyVaultException.Reason.DELETED, "key '" + name + "' in vault '" + id
                    + "' is deleted; recover it first");
        }
        return entry;
    }

    private KeyCatalog.Version version(KeyCatalog.Entry entry, int version) {
        KeyCatalog.Version v = entry.version(version);
        if (v == null) {
            throw new KeyVaultException(KeyVaultException.Reason.NOT_FOUND, "key '" + entry.name + "' in vault '" + id
                    + "' has no version " + version);
        }
        return v;
    }

    private Instant now() {
        return clock.instant().truncatedTo(ChronoUnit.MILLIS);
    }

    private static Instant truncate(Instant t) {
        return t == null ? null : t.truncatedTo(ChronoUnit.MILLIS);
    }

    private static String labels(Set<Permission> permissions) {
        return String.join(",", permissions.stream().map(Permission::label).sorted().toList());
    }

    @Override
    public String toString() {
        return getClass().getSimpleName() + "[" + id + "]";
    }
}
