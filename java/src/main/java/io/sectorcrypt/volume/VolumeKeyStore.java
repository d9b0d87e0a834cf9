package io.sectorcrypt.volume;

import io.sectorcrypt.keys.DiskKeyStore;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.volume.luks2.Luks2Header;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The {@link DiskKeyStore} of a {@link VolumeManager}: each open volume's wrapped keys live
 * in its own LUKS2 header, in the envelope token, so a rotation's store write is a
 * crash-safe header update (both copies, seqid + 1). A volume being created holds its keys
 * in memory until its header is first written.
 */
final class VolumeKeyStore implements DiskKeyStore {
    /** Where one disk's keys are kept: a header, or (while it is being created) memory. */
    private static final class Entry {
        final Luks2Header header;
        final boolean readOnly;
        volatile DiskKeys pending;

        Entry(Luks2Header header, boolean readOnly) {
            this.header = header;
            this.readOnly = readOnly;
        }
    }

    private final ConcurrentHashMap<String, Entry> disks = new ConcurrentHashMap<>();

    void registerPending(String diskId) {
        if (disks.putIfAbsent(diskId, new Entry(null, false)) != null) {
            throw new IllegalStateException("disk " + diskId + " is already open");
        }
    }

    void register(String diskId, Luks2Header header, boolean readOnly) {
        if (disks.putIfAbsent(diskId, new Entry(header, readOnly)) != null) {
            throw new IllegalStateException("disk " + diskId + " is already open");
        }
    }

    void unregister(String diskId) {
        disks.remove(diskId);
    }

    @Override
    public Optional<DiskKeys> read(String diskId) {
        Entry e = disks.get(diskId);
        if (e == null) {
            return Optional.empty();
        }
        return e.header == null ? Optional.ofNullable(e.pending) : e.header.metadata().envelope();
    }

    @Override
    public void write(DiskKeys keys) {
        Entry e = disks.get(keys.diskId());
        if (e == null) {
            throw new IllegalStateException("disk " + keys.diskId() + " is not open: its header cannot be updated");
        }
        if (e.readOnly) {
            throw new IllegalStateException("disk " + keys.diskId() + " is open read-only: its keys are re-wrapped when"
                    + " it is next opened for writing");
        }
        if (e.header == null) {
            e.pending = keys;
        } else {
            synchronized (e.header) {
                e.header.update(e.header.metadata().withEnvelope(keys));
            }
        }
    }

    @Override
    public void delete(String diskId) {
        throw new UnsupportedOperationException("a volume's keys are deleted with the volume, not through the key"
                + " store");
    }

    /** The disks whose headers can be updated: read-only ones are left to rotate when next opened for writing. */
    @Override
    public List<String> diskIds() {
        return disks.entrySet().stream().filter(e -> !e.getValue().readOnly).map(java.util.Map.Entry::getKey).sorted()
                .toList();
    }
}
