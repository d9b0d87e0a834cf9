package io.sectorcrypt.keys;

import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.MemorySegment;
import java.time.Instant;
import java.util.List;
import java.util.function.Function;

/**
 * A disk whose data-encryption keys the key manager has unwrapped and caches. Every I/O
 * path asks it for the key ({@link #key()}, and {@link #outerKey()} on a DOUBLE disk) each
 * time: while the cache is fresh that is a read of one volatile field and a clock read; once
 * the cache time (TTL) ends the manager asks the vault again, and if the key has been
 * revoked meanwhile the disk stops: its keys are zeroed and every call throws
 * {@link KeyUnavailableException} until the disk is attached again.
 *
 * <p>A key handed out stays valid until the disk stops or is detached; an operation already
 * running on it then finishes first (close waits for it).
 */
public final class AttachedDisk {
    /**
     * A disk's unwrapped keys and until when they may be used without asking the vault: its
     * XTS key, and the outer layer's HCTR2 key on a DOUBLE disk (else null). The key objects
     * are the DEKs' one home: re-wrapping borrows their bytes ({@code withKeyBytes}), so no
     * second raw copy is cached beside them.
     */
    record Cache(DiskKeys.Role xtsRole, XtsKey xts, Hctr2Key outer, Instant validUntil) {
        Cache withValidUntil(Instant until) {
            return new Cache(xtsRole, xts, outer, until);
        }

        void close() {
            xts.close();
            if (outer != null) {
                outer.close();
            }
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

    /** The layers of this disk, inner first: its XTS layer, then INFRASTRUCTURE on a DOUBLE disk. */
    public List<DiskKeys.Role> roles() {
        return roles;
    }

    /** Whether this is a DOUBLE disk, whose data has the outer HCTR2 layer over the XTS one. */
    public boolean hasOuterLayer() {
        return roles.size() == 2;
    }

    /**
     * The disk's XTS key: its only key, or the inner layer's on a DOUBLE disk.
     *
     * @throws KeyUnavailableException once the disk is stopped
     */
    public XtsKey key() {
        return usableCache().xts();
    }

    /**
     * The outer layer's HCTR2-AES-256 key of a DOUBLE disk.
     *
     * @throws IllegalStateException if the disk has no outer layer
     * @throws KeyUnavailableException once the disk is stopped
     */
    public Hctr2Key outerKey() {
        if (!hasOuterLayer()) {
            throw new IllegalStateException("disk '" + diskId + "' has one key layer: no outer (HCTR2) key");
        }
        return usableCache().outer();
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
        cache = cache.withValidUntil(validUntil);
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
     * Lends one layer's DEK bytes to {@code use} for re-wrapping; null once stopped (or if
     * the disk has no such layer). The key may close before its bytes are lent (the disk
     * stopped meanwhile): then {@link io.sectorcrypt.xts.KeyClosedException} is thrown and
     * the caller unwraps from the vault instead.
     */
    <R> R lendKeyBytes(DiskKeys.Role role, Function<MemorySegment, R> use) {
        Cache c;
        synchronized (this) {
            if (stopped != null) {
                return null;
            }
            c = cache;
        }
        if (role == DiskKeys.Role.INFRASTRUCTURE) {
            return c.outer() == null ? null : c.outer().withKeyBytes(use);
        }
        return role == c.xtsRole() ? c.xts().withKeyBytes(use) : null;
    }

    @Override
    public String toString() {
        return "AttachedDisk[" + diskId + ", set " + setId + (isStopped() ? ", stopped]" : "]");
    }
}
