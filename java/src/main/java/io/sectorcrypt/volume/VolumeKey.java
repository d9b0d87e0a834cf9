package io.sectorcrypt.volume;

import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.keys.AttachedDisk;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.xts.XtsKey;
import java.time.Duration;
import java.util.function.Function;

/**
 * Where an {@link EncryptedVolume}'s key comes from. {@link #key()} is asked on every I/O, so
 * while the key is usable it costs no more than a few field reads; {@link #release()} is
 * called once, by the volume's close, after the last I/O has ended.
 */
sealed interface VolumeKey permits VolumeKey.Managed, VolumeKey.Ephemeral {
    /**
     * The key for the next I/O: the same {@link XtsKey} object until it changes, so the
     * volume keeps one cipher per key.
     *
     * @throws KeyUnavailableException if the key cannot be used now
     */
    XtsKey key();

    /**
     * The outer layer's HCTR2 key of a DOUBLE disk, the same object until it changes; null
     * for a single-layer disk. Asked right after {@link #key()}, on the same I/O.
     *
     * @throws KeyUnavailableException if the key cannot be used now
     */
    Hctr2Key outerKey();

    /** Lets go of the key as the volume closes: its bytes are zeroed unless someone else holds them. */
    void release();

    /**
     * A LUKS2 volume's DEK, unwrapped by the key manager from the header's envelope token and
     * cached in its {@link AttachedDisk}: once the disk stops (key revoked, TTL ended without
     * access), a stopped disk asks the vault again at most once per {@code reattachInterval}.
     */
    final class Managed implements VolumeKey {
        private final VolumeManager manager;
        private final String diskId;
        private final String name;
        /** Read at each re-attach: a rotation may have re-wrapped the DEK meanwhile. */
        private final Luks2Header header;
        private final Duration reattachInterval;
        private volatile AttachedDisk disk;
        private long nextReattach;

        Managed(VolumeManager manager, String name, Luks2Header header, AttachedDisk disk, Duration reattachInterval) {
            this.manager = manager;
            this.diskId = header.uuid();
            this.name = name;
            this.header = header;
            this.disk = disk;
            this.reattachInterval = reattachInterval;
        }

        @Override
        public XtsKey key() {
            return fromDisk(AttachedDisk::key);
        }

        @Override
        public Hctr2Key outerKey() {
            return disk.hasOuterLayer() ? fromDisk(AttachedDisk::outerKey) : null;
        }

        private <K> K fromDisk(Function<AttachedDisk, K> get) {
            AttachedDisk d = disk;
            for (int attempt = 0;; attempt++) {
                try {
                    return get.apply(d);
                } catch (KeyUnavailableException e) {
                    // Once more if a move to another set dropped the fresh disk too before its
                    // first use; a stopped disk fails in reattach (or after these few tries).
                    if (attempt == 2) {
                        throw e;
                    }
                    d = reattach(e);
                }
            }
        }

        private synchronized AttachedDisk reattach(KeyUnavailableException why) {
            AttachedDisk current = disk;
            if (!current.isStopped()) {
                return current;
            }
            long now = System.nanoTime();
            if (nextReattach != 0 && now - nextReattach < 0) {
                throw why;
            }
            nextReattach = now + Math.max(1, reattachInterval.toNanos());
            AttachedDisk fresh = manager.attachVerified(diskId, name, header.metadata());
            disk = fresh;
            return fresh;
        }

        /**
         * Moves the disk to another encryption set ({@link io.sectorcrypt.keys.KeyManager#moveDisk})
         * and attaches it again; I/O that finds the old set's key dropped waits here for the new.
         */
        synchronized void moveToSet(String newSetId) {
            manager.keys().moveDisk(diskId, newSetId);
            disk = manager.attachVerified(diskId, name, header.metadata());
            nextReattach = 0;
        }

        /** Detaches the disk (the key manager zeroes its cached keys) and forgets its header. */
        @Override
        public void release() {
            manager.detach(diskId);
        }
    }

    /**
     * A key made in memory for a temporary disk and kept nowhere else: no header, no wrapped
     * copy, not in the key manager. Never unavailable while the volume is open; zeroed by
     * {@link #release()}, after which no one can decrypt the disk.
     */
    final class Ephemeral implements VolumeKey {
        private final XtsKey key;

        /** Takes ownership of {@code key}. */
        Ephemeral(XtsKey key) {
            this.key = key;
        }

        @Override
        public XtsKey key() {
            return key;
        }

        @Override
        public Hctr2Key outerKey() {
            return null;
        }

        @Override
        public void release() {
            key.close();
        }
    }
}
