package io.sectorcrypt.keys;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.xts.KeyClosedException;
import io.sectorcrypt.xts.XtsKey;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Envelope encryption for disks: creates each disk's data-encryption keys (DEKs), has the
 * vault wrap them, keeps the wrapped copies in a {@link DiskKeyStore}, unwraps them when a
 * disk is attached and caches the unwrapped {@link XtsKey}s for a time-to-live (one hour by
 * default) on a {@link Clock}.
 *
 * <ul>
 * <li><b>DEKs</b>: from the policy's approved DRBG. The disk's XTS-AES-256 key is 64 bytes,
 * key1 ≠ key2 checked (IEEE 1619-2018 5.1, FIPS 140-3 IG C.I). DOUBLE sets give each disk a
 * second, independent DEK for the outer layer: an HCTR2-AES-256 key (32 bytes), always
 * wrapped under the manager's platform key ({@link Builder#platformKey}), while the inner
 * XTS key is wrapped by the set's own key, platform or customer.
 * <li><b>Revocation</b>: when a key version is disabled, expired or deleted, or the set's
 * identity loses access, attached disks keep working until their cache time ends; the next
 * use then fails with {@link KeyUnavailableException}, the keys are zeroed and a
 * {@link KeyEvent.DiskStopped} event goes out. Attaching again once the key is usable brings
 * the disk back ({@link KeyEvent.DiskResumed}).
 * <li><b>Rotation</b>: {@link #rotate} pins a set to a named version; a set that follows
 * "latest" picks up a new version at the next {@link #maintain()} (which
 * {@link #startMaintenance} runs every quarter of the rotation window, so within the window).
 * Each disk's DEK is re-wrapped, never changed: data is not re-encrypted and I/O goes on. The
 * new wrapped copy is made durable beside the old before the old is dropped.
 * <li><b>Events</b>: key near expiry (lead time configurable, 30 days by default), rotation
 * done, disk stopped and resumed.
 * </ul>
 */
public final class KeyManager implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt.keys");
    public static final Duration DEFAULT_CACHE_TTL = Duration.ofHours(1);
    public static final Duration DEFAULT_ROTATION_WINDOW = Duration.ofHours(1);
    public static final Duration DEFAULT_EXPIRY_LEAD_TIME = Duration.ofDays(30);
    static final int DEK_BYTES = XtsKey.AES_256_XTS_KEY_BYTES;
    /** What each DOUBLE set's own key (found by putSet) wraps: PLATFORM or CUSTOMER. */
    private final ConcurrentHashMap<String, DiskKeys.Role> doubleInnerRoles = new ConcurrentHashMap<>();

    /** Where one layer's DEK is wrapped: a key, the identity used for it, a pinned version or 0. */
    private record Source(String vaultId, String keyName, String identity, int pinned) {
    }

    private final Map<String, KeyVault> vaults;
    private final DiskKeyStore store;
    private final Clock clock;
    private final CryptoPolicy policy;
    private final Duration cacheTtl;
    private final Duration rotationWindow;
    private final Duration expiryLeadTime;
    private final Source platformKey;
    private final ConcurrentHashMap<String, DiskEncryptionSet> sets = new ConcurrentHashMap<>();
    private final ConcurrentHashMap<String, AttachedDisk> attached = new ConcurrentHashMap<>();
    private final List<KeyEventListener> listeners = new CopyOnWriteArrayList<>();
    private final Set<String> expiryAnnounced = ConcurrentHashMap.newKeySet();
    private final Object rotation = new Object();

    private KeyManager(Builder b) {
        this.vaults = Map.copyOf(b.vaults);
        this.store = Objects.requireNonNull(b.store, "a DiskKeyStore is required");
        this.clock = b.clock;
        this.policy = b.policy;
        this.cacheTtl = b.cacheTtl;
        this.rotationWindow = b.rotationWindow;
        this.expiryLeadTime = b.expiryLeadTime;
        this.platformKey = b.platformKey;
        this.listeners.addAll(b.listeners);
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Configuration; every duration has a default. */
    public static final class Builder {
        private final Map<String, KeyVault> vaults = new LinkedHashMap<>();
        private DiskKeyStore store;
        private Clock clock = Clock.systemUTC();
        private CryptoPolicy policy = CryptoPolicy.configured();
        private Duration cacheTtl = DEFAULT_CACHE_TTL;
        private Duration rotationWindow = DEFAULT_ROTATION_WINDOW;
        private Duration expiryLeadTime = DEFAULT_EXPIRY_LEAD_TIME;
        private Source platformKey;
        private final List<KeyEventListener> listeners = new ArrayList<>();

        public Builder vault(KeyVault vault) {
            if (vaults.putIfAbsent(vault.id(), vault) != null) {
                throw new IllegalArgumentException("two vaults with id '" + vault.id() + "'");
            }
            return this;
        }

        public Builder store(DiskKeyStore s) {
            this.store = s;
            return this;
        }

        public Builder clock(Clock c) {
            this.clock = Objects.requireNonNull(c, "clock");
            return this;
        }

        public Builder policy(CryptoPolicy p) {
            this.policy = Objects.requireNonNull(p, "policy");
            return this;
        }

        /** How long unwrapped keys are used before the vault is asked again (default one hour). */
        public Builder cacheTtl(Duration ttl) {
            this.cacheTtl = positive("cache TTL", ttl);
            return this;
        }

        /** Within how long a new "latest" key version is applied to every disk (default one hour). */
        public Builder rotationWindow(Duration window) {
            this.rotationWindow = positive("rotation window", window);
            return this;
        }

        /** How long before a key version expires to announce it (default 30 days). */
        public Builder expiryLeadTime(Duration lead) {
            this.expiryLeadTime = positive("expiry lead time", lead);
            return this;
        }

        /**
         * The platform key that wraps the outer (HCTR2) layer of every DOUBLE set's disks,
         * always its latest version; DOUBLE sets need it.
         */
        public Builder platformKey(String vaultId, String keyName, String identity) {
            this.platformKey = new Source(Names.vaultId(vaultId), Names.keyName(keyName), Names.identity(identity), 0);
            return this;
        }

        public Builder listener(KeyEventListener l) {
            listeners.add(Objects.requireNonNull(l, "listener"));
            return this;
        }

        public KeyManager build() {
            if (vaults.isEmpty()) {
                throw new IllegalStateException("a key manager needs at least one vault");
            }
            if (platformKey != null && !vaults.containsKey(platformKey.vaultId())) {
                throw new IllegalStateException("the platform key's vault '" + platformKey.vaultId()
                        + "' is not among the vaults");
            }
            return new KeyManager(this);
        }

        private static Duration positive(String what, Duration d) {
            if (d == null || d.isNegative() || d.isZero()) {
                throw new IllegalArgumentException("the " + what + " must be positive, not " + d);
            }
            return d;
        }
    }

    public void addListener(KeyEventListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    public Duration cacheTtl() {
        return cacheTtl;
    }

    // -- encryption sets ---------------------------------------------------------------

    /**
     * Registers or replaces a set (replacing re-points its disks: the next maintenance run
     * re-wraps them under the new key or version). Checks with the vault, as the set's
     * identity, that the key exists and its type fits the encryption type.
     */
    public void putSet(DiskEncryptionSet set) {
        Objects.requireNonNull(set, "set");
        DiskKeys.Role doubleInner = null;
        if (set.type() == EncryptionType.DOUBLE) {
            KeyInfo own = vault(set.vaultId()).describe(set.identity(), set.keyName());
            doubleInner = own.type().isCustomerKey() ? DiskKeys.Role.CUSTOMER : DiskKeys.Role.PLATFORM;
        }
        Map<DiskKeys.Role, Source> wanted = sources(set, doubleInner);
        DiskEncryptionSet registered = sets.get(set.id());
        if (registered != null) {
            // Its disks' records name the role of each layer: a replacement that changes them
            // (a DOUBLE set's key of the other type, or PLATFORM <-> CUSTOMER) would leave every
            // disk of the set unusable and its rotation failing.
            List<DiskKeys.Role> before = List.copyOf(sources(registered).keySet());
            List<DiskKeys.Role> after = List.copyOf(wanted.keySet());
            if (!before.equals(after)) {
                throw new IllegalArgumentException("encryption set '" + set.id() + "' wraps its disks' key layers as "
                        + before + "; a replacement wrapping them as " + after + " would leave its disks unusable:"
                        + " create another set and move the disks to it");
            }
        }
        for (Map.Entry<DiskKeys.Role, Source> layer : wanted.entrySet()) {
            Source s = layer.getValue();
            KeyInfo info = vault(s.vaultId()).describe(s.identity(), s.keyName());
            boolean wantCustomer = layer.getKey() == DiskKeys.Role.CUSTOMER;
            if (info.type().isCustomerKey() != wantCustomer) {
                throw new IllegalArgumentException("encryption set '" + set.id() + "' is " + set.type() + ": key '"
                        + s.keyName() + "' must be " + (wantCustomer ? "an RSA customer key (" + KeyType.CUSTOMER_SIZES
                                + ")" : "an AES-256 platform key") + ", but it is " + info.type().label()
                        + (layer.getKey() == DiskKeys.Role.INFRASTRUCTURE ? " (the key manager's platform key, which"
                                + " wraps the outer layer)" : ""));
            }
            if (s.pinned() != 0 && info.version(s.pinned()).isEmpty()) {
                throw new IllegalArgumentException("encryption set '" + set.id() + "' pins version " + s.pinned()
                        + " of key '" + s.keyName() + "', which does not exist");
            }
        }
        if (doubleInner != null) {
            doubleInnerRoles.put(set.id(), doubleInner);
        }
        sets.put(set.id(), set);
    }

    public Optional<DiskEncryptionSet> set(String setId) {
        return Optional.ofNullable(sets.get(setId));
    }

    // -- disks -------------------------------------------------------------------------

    /** Creates a disk's DEK(s), has them wrapped and stores them durably. */
    public void createDisk(String diskId, String setId) {
        DiskEncryptionSet set = requireNewDisk(diskId, setId);
        List<DiskKeys.Layer> layers = new ArrayList<>();
        try (Arena arena = Arena.ofConfined()) {
            for (Map.Entry<DiskKeys.Role, Source> layer : sources(set).entrySet()) {
                MemorySegment dek = newDek(arena, layer.getKey());
                try {
                    layers.add(wrapLayer(layer.getKey(), layer.getValue(), dek));
                } finally {
                    dek.fill((byte) 0);
                }
            }
        }
        store.write(new DiskKeys(diskId, setId, layers));
    }

    /**
     * A fresh XTS-AES-256 key (64 bytes) from this manager's DRBG, under the rules of every
     * DEK (key1 ≠ key2), that is never wrapped, stored or cached here: the key of a temporary
     * disk, whose data nobody can read once the caller closes it. The caller owns the key;
     * its bytes exist off-heap only, in the returned key.
     */
    public XtsKey newEphemeralKey() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dek = newDek(arena, DiskKeys.Role.PLATFORM);
            try {
                return XtsKey.of(dek);
            } finally {
                dek.fill((byte) 0);
            }
        }
    }

    /**
     * Makes an existing key a disk's DEK: has it wrapped under the set's key exactly as
     * {@link #createDisk} wraps a new one, and stores it durably. For a disk whose data is
     * already encrypted under that key (a LUKS2 volume key): nothing is re-encrypted.
     *
     * @param dek 64 bytes (XTS-AES-256), key1 ≠ key2; read, not kept; the caller zeroes it
     * @throws IllegalArgumentException if the set is not registered or is DOUBLE
     *         ({@link #checkImport}), the disk already has keys, or the key is not a valid
     *         XTS-AES-256 key
     * @throws KeyVaultException if the vault refuses to wrap
     */
    public void importDisk(String diskId, String setId, MemorySegment dek) {
        Objects.requireNonNull(dek, "dek");
        checkImport(setId);
        DiskEncryptionSet set = requireNewDisk(diskId, setId);
        checkDek(dek);
        Map.Entry<DiskKeys.Role, Source> only = sources(set).entrySet().iterator().next();
        store.write(new DiskKeys(diskId, setId, List.of(wrapLayer(only.getKey(), only.getValue(), dek))));
    }

    /**
     * Whether {@link #importDisk} can take a key into this set: only a single-layer set
     * (PLATFORM or CUSTOMER) can. A DOUBLE set encrypts its disks under two independent DEKs,
     * one per layer, so a disk encrypted under one existing key could join it only by
     * re-encrypting its data.
     *
     * @throws IllegalArgumentException if the set is not registered or is DOUBLE
     */
    public void checkImport(String setId) {
        DiskEncryptionSet set = requireSet(setId);
        if (set.type() == EncryptionType.DOUBLE) {
            throw new IllegalArgumentException("encryption set '" + setId + "' is DOUBLE: its disks' data is encrypted"
                    + " under two keys, so a disk encrypted under one existing key cannot join it without re-encrypting"
                    + " its data; use a PLATFORM or CUSTOMER set");
        }
    }

    private DiskEncryptionSet requireNewDisk(String diskId, String setId) {
        DiskEncryptionSet set = requireSet(setId);
        Names.check("disk id", diskId, Names.MAX_KEY_NAME);
        if (store.read(diskId).isPresent()) {
            throw new IllegalArgumentException("disk '" + diskId + "' already has keys; delete it first");
        }
        return set;
    }

    private DiskKeys.Layer wrapLayer(DiskKeys.Role role, Source s, MemorySegment dek) {
        return new DiskKeys.Layer(role, List.of(vault(s.vaultId()).wrap(s.identity(), s.keyName(), targetVersion(s),
                dek)));
    }

    /**
     * Unwraps a disk's keys and caches them for the TTL. Attaching an attached disk returns
     * it as is; attaching a stopped disk tries the vault again and, if the key is usable,
     * resumes it. Throws {@link KeyUnavailableException} when the key cannot be used.
     */
    public AttachedDisk attach(String diskId) {
        synchronized (lockFor(diskId)) {
            AttachedDisk current = attached.get(diskId);
            if (current != null && !current.isStopped()) {
                return current;
            }
            DiskKeys keys = store.read(diskId).orElseThrow(() -> new IllegalArgumentException("disk '" + diskId
                    + "' has no keys in the store"));
            DiskEncryptionSet set = requireSet(keys.setId());
            Set<DiskKeys.Role> expected = sources(set).keySet();
            Set<DiskKeys.Role> stored = keys.layers().stream().map(DiskKeys.Layer::role).collect(
                    java.util.stream.Collectors.toCollection(() -> java.util.EnumSet.noneOf(DiskKeys.Role.class)));
            if (!stored.equals(expected)) {
                throw new IllegalArgumentException("disk '" + diskId + "' has key layers " + stored + ", but its"
                        + " encryption set '" + set.id() + "' (" + set.type() + ") has " + expected);
            }
            AttachedDisk.Cache cache = unwrapAll(set, keys);
            AttachedDisk disk = new AttachedDisk(this, diskId, set.id(),
                    keys.layers().stream().map(DiskKeys.Layer::role).toList(), cache);
            attached.put(diskId, disk);
            if (current != null) {
                LOG.log(Level.INFO, "disk {0} of encryption set {1} resumed", diskId, set.id());
                emit(new KeyEvent.DiskResumed(now(), diskId, set.id()));
            }
            return disk;
        }
    }

    /** Zeroes a disk's cached keys and forgets it. */
    public void detach(String diskId) {
        AttachedDisk disk = attached.remove(diskId);
        if (disk != null) {
            DiskEncryptionSet set = sets.get(disk.setId());
            disk.stop(new KeyUnavailableException(diskId, disk.setId(), set == null ? "-" : set.vaultId(),
                    set == null ? "-" : set.keyName(), "the disk was detached", null));
        }
    }

    // -- rotation ----------------------------------------------------------------------

    /**
     * Manual rotation: pins the set to {@code version} of its key and re-wraps every disk of
     * the set now. Returns how many disks were re-wrapped.
     */
    public int rotate(String setId, int version) {
        DiskEncryptionSet pinned = requireSet(setId).pinnedTo(version);
        putSet(pinned);
        DiskKeys.Role role = ownRole(pinned);
        return rotateLayer(pinned, role, sources(pinned).get(role));
    }

    /**
     * Re-wraps every layer of one disk now under what its set currently targets (the pinned
     * version, or the newest usable one when the set follows "latest"), by the same
     * crash-safe path as rotation; layers already there are left alone. Returns whether any
     * layer changed.
     *
     * @throws IllegalArgumentException if the disk has no keys in the store or its set is
     *                                  not registered
     * @throws KeyUnavailableException  if the vault refuses to describe, unwrap or wrap
     */
    public boolean rewrapDisk(String diskId) {
        Objects.requireNonNull(diskId, "diskId");
        synchronized (rotation) {
            DiskKeys keys = storedKeys(diskId);
            DiskEncryptionSet set = requireSet(keys.setId());
            boolean changed = false;
            for (Map.Entry<DiskKeys.Role, Source> layer : sources(set).entrySet()) {
                Source source = layer.getValue();
                try {
                    int target = targetVersion(source);
                    // Read again per layer: the previous layer's re-wrap rewrote the disk's record.
                    if (rewrap(set, storedKeys(diskId), layer.getKey(), source, target)) {
                        changed = true;
                        LOG.log(Level.INFO, "disk {0}: {1} layer now wrapped under key {2} version {3}", diskId,
                                layer.getKey(), source.keyName(), target);
                        emit(new KeyEvent.RotationDone(now(), set.id(), source.vaultId(), source.keyName(), target, 1));
                    }
                } catch (KeyVaultException e) {
                    throw new KeyUnavailableException(diskId, set.id(), source.vaultId(), source.keyName(),
                            "cannot re-wrap the " + layer.getKey() + " layer: " + e.getMessage(), e);
                }
            }
            return changed;
        }
    }

    /**
     * Moves a disk to another encryption set of the same shape (one layer: platform or
     * customer): its DEK, unwrapped under the current set's key, is wrapped by the new set's
     * key and stored in place of the old record; no data changes. The disk's cached keys are
     * dropped, so its next {@link #attach} unwraps under the new set.
     *
     * @throws IllegalArgumentException if either set is not registered, the disk has no keys,
     *         or either set is DOUBLE (its two layers would need the data re-encrypted)
     * @throws KeyUnavailableException if the current key cannot unwrap or the new one cannot wrap
     */
    public void moveDisk(String diskId, String newSetId) {
        Objects.requireNonNull(diskId, "diskId");
        checkImport(newSetId); // the same rule: a disk encrypted under one key joins only a single-layer set
        DiskEncryptionSet to = requireSet(newSetId);
        synchronized (rotation) {
            DiskKeys keys = storedKeys(diskId);
            DiskEncryptionSet from = requireSet(keys.setId());
            if (keys.layers().size() != 1) {
                throw new IllegalArgumentException("disk '" + diskId + "' of encryption set '" + from.id() + "' ("
                        + from.type() + ") has " + keys.layers().size() + " key layers: it cannot leave its set"
                        + " without re-encrypting its data");
            }
            Map.Entry<DiskKeys.Role, Source> only = sources(to).entrySet().iterator().next();
            Source s = only.getValue();
            AttachedDisk disk = attach(diskId);
            DiskKeys.Layer layer;
            try {
                layer = disk.key().withKeyBytes(dek -> wrapLayer(only.getKey(), s, dek));
            } catch (KeyVaultException e) {
                throw new KeyUnavailableException(diskId, to.id(), s.vaultId(), s.keyName(), "cannot wrap the disk's"
                        + " key for its new encryption set: " + e.getMessage(), e);
            }
            WrappedKey wrapped = layer.current();
            store.write(new DiskKeys(diskId, to.id(), List.of(layer)));
            detach(diskId);
            LOG.log(Level.INFO, "disk {0} moved from encryption set {1} to {2} (key {3} version {4})", diskId,
                    from.id(), to.id(), s.keyName(), wrapped.keyVersion());
        }
    }

    private DiskKeys storedKeys(String diskId) {
        return store.read(diskId).orElseThrow(() -> new IllegalArgumentException("disk '" + diskId
                + "' has no keys in the store"));
    }

    /**
     * One maintenance run: refreshes caches whose time has ended (stopping disks whose key is
     * gone), re-wraps disks whose set now wants another key version, and announces key
     * versions near expiry. Safe to call at any time, from any thread.
     */
    public void maintain() {
        Instant now = now();
        for (AttachedDisk disk : attached.values()) {
            if (!disk.isStopped() && !now.isBefore(disk.validUntil())) {
                synchronized (disk) {
                    if (!disk.isStopped() && !now().isBefore(disk.validUntil())) {
                        revalidate(disk);
                    }
                }
            }
        }
        for (DiskEncryptionSet set : sets.values()) {
            for (Map.Entry<DiskKeys.Role, Source> layer : sources(set).entrySet()) {
                try {
                    announceExpiry(layer.getValue());
                    rotateLayer(set, layer.getKey(), layer.getValue());
                } catch (KeyVaultException | KeyUnavailableException e) {
                    LOG.log(Level.WARNING, "maintenance of encryption set {0} skipped its {1} layer: {2}", set.id(),
                            layer.getKey(), e.getMessage());
                }
            }
        }
    }

    /** Runs {@link #maintain()} every quarter of the shorter of the rotation window and the TTL. */
    public ScheduledFuture<?> startMaintenance(ScheduledExecutorService executor) {
        long period = Math.max(1000, Math.min(rotationWindow.toMillis(), cacheTtl.toMillis()) / 4);
        return executor.scheduleAtFixedRate(() -> {
            try {
                maintain();
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "key maintenance failed: {0}", e.getMessage());
            }
        }, period, period, TimeUnit.MILLISECONDS);
    }

    private int rotateLayer(DiskEncryptionSet set, DiskKeys.Role role, Source source) {
        synchronized (rotation) {
            int target = targetVersion(source);
            int rewrapped = 0;
            for (String diskId : store.diskIds()) {
                Optional<DiskKeys> keys;
                try {
                    keys = store.read(diskId);
                } catch (InvalidWrappedKeyException e) {
                    // One unreadable record (damaged, or a DOUBLE disk of the layout before the
                    // outer HCTR2 layer) must not stop the rotation of every other disk.
                    LOG.log(Level.WARNING, "encryption set {0}: skipped disk {1}, whose key record cannot be read: {2}",
                            set.id(), diskId, e.getMessage());
                    continue;
                }
                if (keys.isPresent() && keys.get().setId().equals(set.id())
                        && rewrap(set, keys.get(), role, source, target)) {
                    rewrapped++;
                }
            }
            if (rewrapped > 0) {
                LOG.log(Level.INFO, "encryption set {0}: {1} disk(s) now wrapped under key {2} version {3}", set.id(),
                        rewrapped, source.keyName(), target);
                emit(new KeyEvent.RotationDone(now(), set.id(), source.vaultId(), source.keyName(), target, rewrapped));
            }
            return rewrapped;
        }
    }

    /**
     * Re-wraps one layer of one disk under {@code target}: (1) wrap the DEK under the new
     * version, (2) store the new copy beside the old, durably, (3) store the new copy alone.
     * A crash before (2) completes leaves the old copy; after, the new one unwraps.
     */
    private boolean rewrap(DiskEncryptionSet set, DiskKeys keys, DiskKeys.Role role, Source source, int target) {
        DiskKeys.Layer layer = keys.layer(role);
        WrappedKey current = layer.current();
        boolean onTarget = current.vaultId().equals(source.vaultId()) && current.keyName().equals(source.keyName())
                && current.keyVersion() == target;
        if (onTarget) {
            if (layer.copies().size() > 1) {
                store.write(keys.replace(layer.withOnly(current))); // finish a rotation a crash interrupted
            }
            return false;
        }
        KeyVault vault = vault(source.vaultId());
        String versions = current.keyName() + "/" + current.keyVersion() + "->" + target;
        String operation = "rotate disk " + keys.diskId();
        try (Arena arena = Arena.ofConfined()) {
            WrappedKey fresh = wrapFromAttached(keys.diskId(), role, vault, source, target);
            if (fresh == null) {
                MemorySegment dek = unwrapLayer(set, keys.diskId(), layer, arena);
                try {
                    fresh = vault.wrap(source.identity(), source.keyName(), target, dek);
                } finally {
                    dek.fill((byte) 0);
                }
            }
            store.write(keys.replace(layer.withNewCopy(fresh)));
            store.write(keys.replace(layer.withOnly(fresh)));
        } catch (RuntimeException | Error e) {
            // One record per rotation, written once its outcome is known: this one failed.
            try {
                audit(vault, source, versions, operation, AuditLog.failureResult(e, "failed"));
            } catch (RuntimeException auditFailed) {
                e.addSuppressed(auditFailed);
            }
            throw e;
        }
        audit(vault, source, versions, operation, "ok");
        return true;
    }

    /**
     * Wraps an attached disk's DEK under {@code target} straight from its key object, the
     * DEK's one home; null when the disk is not attached or is stopped, or its key closed
     * before the bytes were lent (then no wrap was attempted and the caller unwraps the
     * stored copy instead). A stop that comes while the vault wraps waits for the wrap to
     * end (a key's close waits for the loan), so the bytes stay valid throughout.
     */
    private WrappedKey wrapFromAttached(String diskId, DiskKeys.Role role, KeyVault vault, Source source,
            int target) {
        AttachedDisk disk = attached.get(diskId);
        if (disk == null) {
            return null;
        }
        try {
            return disk.lendKeyBytes(role, dek -> vault.wrap(source.identity(), source.keyName(), target, dek));
        } catch (KeyClosedException e) {
            return null;
        }
    }

    // -- cache -------------------------------------------------------------------------

    /** Asks the vault again for an attached disk whose cache time ended; stops it on refusal. */
    void revalidate(AttachedDisk disk) {
        DiskEncryptionSet set = sets.get(disk.setId());
        try {
            if (set == null) {
                throw new KeyUnavailableException(disk.diskId(), disk.setId(), "-", "-",
                        "encryption set '" + disk.setId() + "' is no longer registered", null);
            }
            DiskKeys keys = store.read(disk.diskId()).orElseThrow(() -> new KeyUnavailableException(disk.diskId(),
                    set.id(), set.vaultId(), set.keyName(), "the disk's keys are gone from the store", null));
            // The unwrapped copies are the keys already held; they only prove the vault still agrees.
            try (Arena arena = Arena.ofConfined()) {
                for (DiskKeys.Layer layer : keys.layers()) {
                    unwrapLayer(set, disk.diskId(), layer, arena).fill((byte) 0);
                }
            }
            disk.extend(now().plus(cacheTtl));
        } catch (KeyUnavailableException e) {
            if (disk.stop(e)) {
                LOG.log(Level.WARNING, "{0}", e.getMessage());
                emit(new KeyEvent.DiskStopped(now(), disk.diskId(), disk.setId(), e.keyName(), e.getMessage()));
            }
        }
    }

    /**
     * Unwraps every layer into its key object (an {@link XtsKey}, and an {@link Hctr2Key}
     * for the outer layer of a DOUBLE disk): the vault's output lives in a confined arena
     * only until the key object has copied it, and is zeroed before that arena closes.
     */
    private AttachedDisk.Cache unwrapAll(DiskEncryptionSet set, DiskKeys keys) {
        XtsKey xts = null;
        Hctr2Key outer = null;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dek = unwrapLayer(set, keys.diskId(), keys.xtsLayer(), arena);
            try {
                xts = XtsKey.of(dek);
            } finally {
                dek.fill((byte) 0);
            }
            if (keys.hasOuterLayer()) {
                MemorySegment outerDek = unwrapLayer(set, keys.diskId(), keys.layer(DiskKeys.Role.INFRASTRUCTURE),
                        arena);
                try {
                    outer = Hctr2Key.of(outerDek);
                } finally {
                    outerDek.fill((byte) 0);
                }
            }
            return new AttachedDisk.Cache(keys.xtsLayer().role(), xts, outer, now().plus(cacheTtl));
        } catch (RuntimeException e) {
            if (xts != null) {
                xts.close();
            }
            throw e;
        }
    }

    /** Tries a layer's copies newest first; the first that unwraps wins. */
    private MemorySegment unwrapLayer(DiskEncryptionSet set, String diskId, DiskKeys.Layer layer, Arena arena) {
        Source source = sources(set).get(layer.role());
        KeyVaultException last = null;
        for (WrappedKey copy : layer.copies()) {
            KeyVault vault = vaults.get(copy.vaultId());
            if (vault == null) {
                continue;
            }
            try {
                MemorySegment dek = vault.unwrap(source.identity(), copy, arena);
                if (dek.byteSize() != layer.role().dekBytes()) {
                    dek.fill((byte) 0);
                    throw new KeyVaultException(KeyVaultException.Reason.UNWRAP_FAILED, "the unwrapped "
                            + layer.role().label() + " key of disk '" + diskId + "' is " + dek.byteSize()
                            + " bytes, not " + layer.role().dekBytes());
                }
                return dek;
            } catch (KeyVaultException e) {
                last = e;
            }
        }
        WrappedKey current = layer.current();
        throw new KeyUnavailableException(diskId, set.id(), current.vaultId(), current.keyName(),
                last == null ? "vault '" + current.vaultId() + "' is not configured" : last.getMessage(), last);
    }

    // -- helpers -----------------------------------------------------------------------

    /**
     * A new DEK for a layer from the DRBG into off-heap memory: 64 bytes for an XTS layer,
     * refusing equal halves (IEEE 1619-2018 5.1, FIPS 140-3 IG C.I: key1 ≠ key2), or 32
     * bytes for the outer HCTR2 layer.
     */
    private MemorySegment newDek(Arena arena, DiskKeys.Role role) {
        byte[] bytes = new byte[role.dekBytes()];
        policy.randomSecret(bytes);
        try {
            if (!role.isXts()) {
                MemorySegment dek = arena.allocate(bytes.length);
                dek.copyFrom(MemorySegment.ofArray(bytes));
                return dek;
            }
            return checkedDek(bytes, arena);
        } finally {
            Arrays.fill(bytes, (byte) 0);
        }
    }

    static MemorySegment checkedDek(byte[] candidate, Arena arena) {
        checkDekSize(candidate.length);
        if (!halvesDiffer(MemorySegment.ofArray(candidate))) {
            throw new IllegalStateException(EQUAL_HALVES + "; the DRBG is broken");
        }
        MemorySegment dek = arena.allocate(DEK_BYTES);
        dek.copyFrom(MemorySegment.ofArray(candidate));
        return dek;
    }

    private static final String EQUAL_HALVES = "refusing a DEK whose two halves are equal (key1 = key2 is forbidden by"
            + " IEEE 1619-2018 5.1 and FIPS 140-3 IG C.I)";

    /** A key handed in (not made here): 64 bytes, key1 ≠ key2. */
    private static void checkDek(MemorySegment dek) {
        checkDekSize(dek.byteSize());
        if (!halvesDiffer(dek)) {
            throw new IllegalArgumentException(EQUAL_HALVES);
        }
    }

    private static void checkDekSize(long bytes) {
        if (bytes != DEK_BYTES) {
            throw new IllegalArgumentException("a DEK is " + DEK_BYTES + " bytes (XTS-AES-256), not " + bytes);
        }
    }

    /** key1 ≠ key2, compared in constant time: the loop reads every byte whatever it finds. */
    private static boolean halvesDiffer(MemorySegment dek) {
        int diff = 0;
        for (int i = 0; i < DEK_BYTES / 2; i++) {
            diff |= dek.get(ValueLayout.JAVA_BYTE, i) ^ dek.get(ValueLayout.JAVA_BYTE, DEK_BYTES / 2 + i);
        }
        return diff != 0;
    }

    private void announceExpiry(Source source) {
        KeyInfo info = vault(source.vaultId()).describe(source.identity(), source.keyName());
        int version = source.pinned() != 0 ? source.pinned()
                : info.newestUsable(now()).map(KeyVersion::version).orElse(0);
        info.version(version).ifPresent(v -> {
            Instant expires = v.expires();
            if (expires != null && !now().plus(expiryLeadTime).isBefore(expires)
                    && expiryAnnounced.add(source.vaultId() + "/" + source.keyName() + "/" + version + "@" + expires)) {
                LOG.log(Level.WARNING, "key {0} version {1} in vault {2} expires at {3}", source.keyName(), version,
                        source.vaultId(), expires);
                emit(new KeyEvent.KeyNearExpiry(now(), source.vaultId(), source.keyName(), version, expires));
            }
        });
    }

    private int targetVersion(Source source) {
        if (source.pinned() != 0) {
            return source.pinned();
        }
        KeyInfo info = vault(source.vaultId()).describe(source.identity(), source.keyName());
        return info.newestUsable(now()).orElseThrow(() -> new KeyVaultException(KeyVaultException.Reason.DISABLED,
                "key '" + source.keyName() + "' in vault '" + source.vaultId() + "' has no enabled, unexpired version"))
                .version();
    }

    /** Where each layer of a registered set's disks is wrapped, inner layer first. */
    private Map<DiskKeys.Role, Source> sources(DiskEncryptionSet set) {
        return sources(set, set.type() == EncryptionType.DOUBLE ? ownRole(set) : null);
    }

    private Map<DiskKeys.Role, Source> sources(DiskEncryptionSet set, DiskKeys.Role doubleInner) {
        Source own = new Source(set.vaultId(), set.keyName(), set.identity(), set.pinnedVersion());
        Map<DiskKeys.Role, Source> sources = new LinkedHashMap<>();
        switch (set.type()) {
            case PLATFORM -> sources.put(DiskKeys.Role.PLATFORM, own);
            case CUSTOMER -> sources.put(DiskKeys.Role.CUSTOMER, own);
            case DOUBLE -> {
                if (platformKey == null) {
                    throw new IllegalArgumentException("encryption set '" + set.id() + "' is DOUBLE: configure the key"
                            + " manager's platform key (Builder.platformKey), which wraps its disks' outer layer");
                }
                sources.put(doubleInner, own);
                sources.put(DiskKeys.Role.INFRASTRUCTURE, platformKey);
            }
            default -> throw new IllegalStateException(set.type().toString());
        }
        return sources;
    }

    /** The role of the layer a registered set's own key wraps: its disks' XTS key. */
    private DiskKeys.Role ownRole(DiskEncryptionSet set) {
        return switch (set.type()) {
            case PLATFORM -> DiskKeys.Role.PLATFORM;
            case CUSTOMER -> DiskKeys.Role.CUSTOMER;
            case DOUBLE -> Objects.requireNonNull(doubleInnerRoles.get(set.id()), "DOUBLE set not registered");
        };
    }

    private KeyVault vault(String id) {
        KeyVault v = vaults.get(id);
        if (v == null) {
            throw new IllegalArgumentException("no vault with id '" + id + "' is configured; known: " + vaults.keySet());
        }
        return v;
    }

    private DiskEncryptionSet requireSet(String setId) {
        DiskEncryptionSet set = sets.get(setId);
        if (set == null) {
            throw new IllegalArgumentException("encryption set '" + setId + "' is not registered (putSet first)");
        }
        return set;
    }

    private final ConcurrentHashMap<String, Object> diskLocks = new ConcurrentHashMap<>();

    private Object lockFor(String diskId) {
        return diskLocks.computeIfAbsent(diskId, d -> new Object());
    }

    private void audit(KeyVault vault, Source source, String version, String operation, String result) {
        AuditLog log = vault.auditLog();
        if (log != null) {
            log.append(source.identity(), source.vaultId(), source.keyName(), version, operation, result);
        }
    }

    private void emit(KeyEvent event) {
        for (KeyEventListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LOG.log(Level.WARNING, "a key event listener failed on {0}: {1}", event.getClass().getSimpleName(),
                        e.toString());
            }
        }
    }

    Instant now() {
        return clock.instant();
    }

    /** Zeroes every cached key. The vaults are the caller's to close. */
    @Override
    public void close() {
        for (String diskId : List.copyOf(attached.keySet())) {
            detach(diskId);
        }
    }
}
