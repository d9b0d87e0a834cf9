package io.sectorcrypt.volume;

import io.sectorcrypt.keys.Names;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * What a new volume looks like: its size in bytes (a whole number of sectors), its sector
 * size (4096 by default, or 512, 1024, 2048: LUKS2 3.3.2), the encryption set whose key
 * wraps its DEK, and optionally a detached header file (cryptsetup's {@code --header}: the
 * data then starts at offset 0 of the data file) and a LUKS2 label.
 */
public record VolumeSpec(long size, int sectorSize, String setId, Path detachedHeader, String label) {
    public static final int DEFAULT_SECTOR_SIZE = 4096;
    /** Sizes up to 2^60 bytes: far beyond any device, far from overflow in offset arithmetic. */
    public static final long MAX_SIZE = 1L << 60;

    public VolumeSpec {
        checkSectorSize(sectorSize);
        checkSize(size, sectorSize);
        Names.check("encryption set id", setId, 127);
        label = label == null ? "" : label;
        checkLabel(label);
    }

    /** 512, 1024, 2048 or 4096 bytes (LUKS2 3.3.2). */
    public static void checkSectorSize(int sectorSize) {
        if (sectorSize != 512 && sectorSize != 1024 && sectorSize != 2048 && sectorSize != 4096) {
            throw new IllegalArgumentException("the sector size is 512, 1024, 2048 or 4096 bytes, not " + sectorSize);
        }
    }

    /** At most 47 printable ASCII characters (the binary header's 48-byte field with its NUL). */
    public static void checkLabel(String label) {
        if (label.length() > 47 || !label.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
            throw new IllegalArgumentException("a LUKS2 label is at most 47 printable ASCII characters");
        }
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

    public Optional<Path> header() {
        return Optional.ofNullable(detachedHeader);
    }

    /** The one rule for volume sizes: positive, whole sectors, at most {@link #MAX_SIZE}. */
    public static void checkSize(long size, int sectorSize) {
        if (size <= 0 || size > MAX_SIZE || size % sectorSize != 0) {
            throw new IllegalArgumentException("a volume size must be a positive whole number of " + sectorSize
                    + "-byte sectors (at most 2^60 bytes), not " + size + " bytes");
        }
    }
}
