package io.sectorcrypt.keys;

import java.util.List;
import java.util.Optional;

/**
 * Where each disk's {@link DiskKeys} are kept: a volume header, or files. {@link #write}
 * must be atomic and durable: after a crash, a read returns the keys before or after the
 * write, whole.
 */
public interface DiskKeyStore {
    Optional<DiskKeys> read(String diskId);

    void write(DiskKeys keys);

    /** Forgets a disk's keys (the disk is destroyed: crypto-shredding). */
    void delete(String diskId);

    List<String> diskIds();
}
