package io.sectorcrypt.volume;

import java.time.Instant;

/**
 * One snapshot of a volume, as its snapshot token and the volume's catalogue record it.
 *
 * @param id           the snapshot's id: its own LUKS2 UUID
 * @param volumeId     the LUKS2 UUID of the volume it was taken of
 * @param kind         full, or incremental on {@code parent}
 * @param parent       the id of the snapshot an incremental one follows; null for a full one
 * @param created      when it was taken (its point in time)
 * @param volumeSize   the volume's data size at that point, bytes
 * @param chunks       chunks of {@value ChangedBlockMap#CHUNK_BYTES} bytes in that data size
 * @param storedChunks chunks this snapshot holds: all of them for a full one, the changed ones
 *                     for an incremental one
 * @param path         the snapshot's file (absolute); in a catalogue listing it may have been
 *                     moved or deleted since: {@link VolumeManager#snapshots} says
 */
public record SnapshotInfo(String id, String volumeId, SnapshotKind kind, String parent, Instant created,
        long volumeSize, long chunks, long storedChunks, String path) {
    /** Bytes per chunk: the unit of the changed-block map and of incremental snapshots. */
    public static final int CHUNK_BYTES = ChangedBlockMap.CHUNK_BYTES;

    SnapshotInfo withPath(String p) {
        return new SnapshotInfo(id, volumeId, kind, parent, created, volumeSize, chunks, storedChunks, p);
    }
}
