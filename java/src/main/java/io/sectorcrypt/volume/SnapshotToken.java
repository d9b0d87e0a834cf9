package io.sectorcrypt.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.HexFormat;
import java.util.Optional;
import java.util.UUID;

/**
 * The {@value #TYPE} LUKS2 token (LUKS2 3.6: a token type of our own, which cryptsetup
 * keeps and ignores) that makes a LUKS2 image a snapshot:
 * <pre>{@code
 * {"type": "sectorcrypt-snapshot", "keyslots": [], "format": 1,
 *  "snapshot": "<its UUID>", "volume": "<the volume's UUID>", "kind": "full" | "incremental",
 *  "parent": "<UUID>" (incremental only), "created": "2026-11-30T19:00:00Z",
 *  "chunk_size": 65536, "volume_size": "<bytes>", "stored_chunks": "<count>",
 *  "chunk_map": {"offset": "<bytes>", "size": "<bytes>", "sha256": "<hex>"} (incremental only)}
 * }</pre>
 * A full snapshot keeps every chunk where the volume has it: it is a complete LUKS2 disk. An
 * incremental one packs its chunks one after the other from the segment's offset, in
 * ascending chunk order, and names them in its chunk map: one bit per chunk of the volume
 * (u64 little-endian words, chunk c is bit c % 64 of word c / 64), stored after them.
 *
 * @param mapOffset where the chunk map starts in the file, bytes (incremental only, else 0)
 * @param mapBytes  its length, bytes
 * @param mapSha256 its SHA-256, hex
 */
record SnapshotToken(SnapshotInfo info, long mapOffset, long mapBytes, String mapSha256) {
    static final String TYPE = "sectorcrypt-snapshot";
    private static final int FORMAT = 1;
    /** The largest chunk map (and chunk count) read into one array. */
    static final long MAX_CHUNK_MAP_BYTES = Integer.MAX_VALUE - 8;

    /** The snapshot token of {@code m}, checked, if it has one. */
    static Optional<SnapshotToken> read(Luks2Metadata m, String name) {
        Optional<ObjectNode> t = m.token(TYPE);
        if (t.isEmpty()) {
            return Optional.empty();
        }
        try {
            return Optional.of(parse(t.get(), m));
        } catch (IllegalArgumentException | DateTimeParseException e) {
            throw new Luks2FormatException(name + ": its " + TYPE + " token is invalid: " + e.getMessage());
        }
    }

    private static SnapshotToken parse(ObjectNode t, Luks2Metadata m) {
        check(t.path("format").asInt() == FORMAT, "format " + t.path("format") + ", not " + FORMAT);
        String id = uuid(t, "snapshot");
        String volume = uuid(t, "volume");
        SnapshotKind kind = SnapshotKind.ofLabel(t.path("kind").asText());
        String parent = kind == SnapshotKind.INCREMENTAL ? uuid(t, "parent") : null;
        check(kind == SnapshotKind.INCREMENTAL || !t.has("parent"), "a full snapshot names a parent");
        Instant created = Instant.parse(t.path("created").asText());
        check(t.path("chunk_size").asInt() == ChangedBlockMap.CHUNK_BYTES, "chunks of " + t.path("chunk_size")
                + " bytes; this version reads " + ChangedBlockMap.CHUNK_BYTES);
        long volumeSize = number(t, "volume_size");
        check(volumeSize == m.segment().size(), "it records a volume of " + volumeSize + " bytes but its segment is "
                + m.segment().size());
        long chunks = ChangedBlockMap.chunksOf(volumeSize);
        long stored = number(t, "stored_chunks");
        check(stored <= chunks && (kind == SnapshotKind.INCREMENTAL || stored == chunks), stored
                + " stored chunks in a " + kind.label() + " snapshot of " + chunks);
        long mapOffset = 0;
        long mapBytes = 0;
        String sha = null;
        if (kind == SnapshotKind.INCREMENTAL) {
            JsonNode map = t.path("chunk_map");
            check(map.isObject(), "no chunk_map");
            mapOffset = number(map, "offset");
            mapBytes = number(map, "size");
            sha = map.path("sha256").asText();
            check(sha.matches("[0-9a-f]{64}"), "the chunk map's sha256 is not 64 hex digits");
            check(mapBytes == 8L * ChangedBlockMap.words(chunks), "a chunk map of " + mapBytes + " bytes for "
                    + chunks + " chunks");
            check(mapBytes <= MAX_CHUNK_MAP_BYTES && stored <= MAX_CHUNK_MAP_BYTES, "a chunk map of " + mapBytes
                    + " bytes naming " + stored + " chunks; this version reads maps up to " + MAX_CHUNK_MAP_BYTES
                    + " bytes (volumes up to 1 PiB)");
            check(mapOffset == m.segment().offset() + stored * ChangedBlockMap.CHUNK_BYTES, "its chunk map is at "
                    + mapOffset + ", not after its " + stored + " chunks");
        }
        return new SnapshotToken(new SnapshotInfo(id, volume, kind, parent, created, volumeSize, chunks, stored, null),
                mapOffset, mapBytes, sha);
    }

    /** The token's JSON. */
    ObjectNode toJson() {
        ObjectNode t = JsonNodeFactory.instance.objectNode();
        t.put("type", TYPE);
        t.putArray("keyslots");
        t.put("format", FORMAT);
        t.put("snapshot", info.id());
        t.put("volume", info.volumeId());
        t.put("kind", info.kind().label());
        if (info.parent() != null) {
            t.put("parent", info.parent());
        }
        t.put("created", info.created().toString());
        t.put("chunk_size", ChangedBlockMap.CHUNK_BYTES);
        t.put("volume_size", Long.toString(info.volumeSize()));
        t.put("stored_chunks", Long.toString(info.storedChunks()));
        if (info.kind() == SnapshotKind.INCREMENTAL) {
            ObjectNode map = t.putObject("chunk_map");
            map.put("offset", Long.toString(mapOffset));
            map.put("size", Long.toString(mapBytes));
            map.put("sha256", mapSha256);
        }
        return t;
    }

    static String sha256Hex(byte[] data) {
        try {
            return HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(data));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private static String uuid(JsonNode t, String field) {
        String s = t.path(field).asText();
        try {
            check(UUID.fromString(s).toString().equals(s), "'" + field + "' is not a canonical UUID");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("'" + field + "' is not a UUID");
        }
        return s;
    }

    private static long number(JsonNode t, String field) {
        JsonNode n = t.get(field);
        check(n != null && n.isTextual() && n.asText().matches("[0-9]{1,19}"), "'" + field
                + "' is not a decimal string");
        return Long.parseLong(n.asText());
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what);
        }
    }
}
