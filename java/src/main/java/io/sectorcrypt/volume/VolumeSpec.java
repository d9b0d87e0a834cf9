package io.sectorcrypt.volume;

import io.sectorcrypt.keys.Names;
import io.sectorcrypt.volume.luks2.Luks2BinaryHeader;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What a new volume looks like: its size in bytes (a whole number of sectors), its sector
 * size (4096 by default, or 512, 1024, 2048: LUKS2 3.3.2), the encryption set whose key
 * wraps its DEK, and optionally a detached header file (cryptsetup's {@code --header}: the
 * data then starts at offset 0 of the data file) and a LUKS2 label.
 */
public record VolumeSpec(long size, int sectorSize, String setId, Path detachedHeader, String label) {
    public static final int DEFAULT_SECTOR_SIZE = 4096;

    public VolumeSpec {
        checkSectorSize(sectorSize);
        checkSize(size, sectorSize);
        Names.check("encryption set id", setId, Names.MAX_KEY_NAME);
        label = label == null ? "" : label;
        checkLabel(label);
    }

    /** 512, 1024, 2048 or 4096 bytes (LUKS2 3.3.2): {@link Luks2Metadata.CryptSegment#checkSectorSize}. */
    public static void checkSectorSize(int sectorSize) {
        Luks2Metadata.CryptSegment.checkSectorSize(sectorSize);
    }

    /** At most 47 printable ASCII characters: {@link Luks2BinaryHeader#checkLabel}. */
    public static void checkLabel(String label) {
        Luks2BinaryHeader.checkLabel(label);
    }

    /** A volume of {@code size} bytes with 4096-byte sectors, its header at its start. */
    public static VolumeSpec of(long size, String setId) {
        return new VolumeSpec(size, DEFAULT_SECTOR_SIZE, setId, null, "");
    }

    public VolumeSpec withSectorSize(int bytes) {
        return new VolumeSpec(size, bytes, setId, detachedHeader, label);
    }

    public VolumeSpec withDetachedHeader(Path header) {
        return new VolumeSpec(size, sectorSize, setId, Objects.requireNonNull(header, "header"), label);
    }

    public VolumeSpec withLabel(String text) {
        return new VolumeSpec(size, sectorSize, setId, detachedHeader, text);
    }

    /** Positive, whole sectors, at most 2^60 bytes: {@link Luks2Metadata.CryptSegment#checkSize}. */
    public static void checkSize(long size, int sectorSize) {
        Luks2Metadata.CryptSegment.checkSize(size, sectorSize);
    }
}
