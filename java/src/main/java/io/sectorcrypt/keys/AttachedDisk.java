package io.sectorcrypt.keys;

import io.sectorcrypt.xts.XtsKey;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * A disk whose data-encryption keys the key manager has unwrapped and caches. Every I/O
 * path asks it for the key ({@link #key()}, or {@link #key(DiskKeys.Role)} for DOUBLE) each
 * time: while the cache is fresh that is a read of one volatile field and a clock read; once
 * the cache time (TTL) ends the manager asks the vault again, and if the key has been
 * revoked meanwhile the disk stops: its keys are zeroed and every call throws
 * {@link KeyUnavailableException} until the disk is attached again.
 *
 * <p>An {@link XtsKey} handed out stays valid until the disk stops or is detached; an
 * operation already running on it then finishes first (XtsKey.close waits for it).
 */
public final class AttachedDisk {
    /**
     * A disk's unwrapped keys and until when they may be used without asking the vault. The
     * {@link XtsKey}s are the DEKs' one home: re-wrapping borrows their bytes through
     * {@link XtsKey#withKeyBytes}, so no second raw copy is cached beside them.
     */
    record Cache(Map<DiskKeys.Role, XtsKey> keys, Instant validUntil) {
        void close() {
            keys.values().forEach(XtsKey::close);
        }
    }

    private final KeyManager manager;
    private final String diskId;
    private final String setId;
    private final List<DiskKeys.Role> roles;
    private volatile Cache cache;
    private volatile KeyUnavailableException stopped;

    AttachedDisk(KeyManager manager, String diskId, String setId, List<DiskKeys.Role> roles, Cache cache) {
        this.manager = manager;
        this.diskId = diskId;
        this.setId = setId;
        this.roles = List.copyOf(roles);
        this.cache = cache;
    }

    public String diskId() {
        return diskId;
    }

    public String setId() {
        return setId;
    }

    /** The layers of this disk: one, or customer then platform for DOUBLE. */
    public List<DiskKeys.Role> roles() {
        return roles;
    }

    /** The key of a single-layer disk (PLATFORM or CUSTOMER). */
    public XtsKey key() {
        if (roles.size() != 1) {
            throw new IllegalStateException("disk '" + diskId + "' has two key layers (DOUBLE): ask for key(role)");
        }
        return key(roles.get(0));
    }

    /** The key of one layer; throws {@link KeyUnavailableException} once the disk is stopped. */
    public XtsKey key(DiskKeys.Role role) {
        Cache c = usableCache();
        XtsKey k = c.keys().get(role);
        if (k == null) {
            throw new IllegalArgumentException("disk '" + diskId + "' has no " + role + " layer");
        }
        return k;
    }

    /** Whether the disk is stopped (its key unavailable) until attached again. */
    public boolean isStopped() {
        return stopped != null;
    }

    /** Until when the cached keys are used without asking the vault. */
    public Instant validUntil() {
        Cache c = cache;
        return c == null ? Instant.MIN : c.validUntil();
    }

    private Cache usableCache() {
        KeyUnavailableException stop = stopped;
        if (stop == null) {
            Cache c = cache;
            if (manager.now().isBefore(c.validUntil())) {
                return c;
            }
            synchronized (this) {
                if (stopped == null) {
                    if (!manager.now().isBefore(cache.validUntil())) {
                        manager.revalidate(this);
                    }
                    if (stopped == null) {
                        return cache;
                    }
                }
            }
            stop = stopped;
        }
        throw new KeyUnavailableException(diskId, setId, stop.vaultIdForCopy(), stop.keyName(), stop.reasonForCopy(),
                stop);
    }

    // -- for the manager, under this object's lock --------------------------------------

    Cache cache() {
        return cache;
    }

    synchronized void extend(Instant validUntil) {
        Cache c = cache;
        cache = new Cache(c.keys(), validUntil);
    }

    /** Zeroes the keys and records why; later uses throw. Returns false if already stopped. */
    synchronized boolean stop(KeyUnavailableException why) {
        if (stopped != null) {
            return false;
        }
        stopped = why;
        cache.close();
        return true;
    }

    /**
     * The key of a layer for re-wrapping, or null once stopped. It may be closed by the time
     * the caller borrows its bytes (the disk stopped meanwhile): {@link XtsKey#withKeyBytes}
     * then throws and the caller unwraps from the vault instead.
     */
    synchronized XtsKey keyForRewrap(DiskKeys.Role role) {
        if (stopped != null) {
            return null;
        }
        return cache.keys().get(role);
    }

    @Override
    public String toString() {
        return "AttachedDisk[" + diskId + ", set " + setId + (isStopped() ? ", stopped]" : "]");
    }
}
