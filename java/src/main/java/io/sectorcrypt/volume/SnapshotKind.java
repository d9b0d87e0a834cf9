package io.sectorcrypt.volume;

import java.util.Locale;

/** What a snapshot holds. */
public enum SnapshotKind {
    /** Every chunk of the disk at its point in time: a LUKS2 image that opens on its own. */
    FULL,
    /** Only the chunks written since its parent snapshot; restored on top of its chain. */
    INCREMENTAL;

    /** The name in the snapshot token and in JSON output: "full", "incremental". */
    public String label() {
        return name().toLowerCase(Locale.ROOT);
    }

    static SnapshotKind ofLabel(String label) {
        for (SnapshotKind k : values()) {
            if (k.label().equals(label)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown snapshot kind '" + label + "' (full or incremental)");
    }
}
