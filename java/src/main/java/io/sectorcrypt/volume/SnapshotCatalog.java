package io.sectorcrypt.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.keys.AtomicFiles;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;

/**
 * The list of a volume's snapshots, oldest first, in a JSON file beside it
 * ({@code NAME.snapshots}), replaced atomically as each snapshot is published:
 * <pre>{@code
 * {"format": 1, "volume": "<UUID>", "snapshots": [{"id": ..., "kind": "full" | "incremental",
 *   "parent": ... (incremental only), "created": ..., "volume_size": <bytes>, "chunks": <n>,
 *   "stored_chunks": <n>, "path": "<absolute path>"}]}
 * }</pre>
 * It is an index for people and scripts: each snapshot file's own token is what a restore
 * trusts.
 */
final class SnapshotCatalog {
    static final String SUFFIX = ".snapshots";
    private static final int FORMAT = 1;
    private static final ObjectMapper JSON = new ObjectMapper();

    private SnapshotCatalog() {
    }

    /** The catalogue of a volume whose header is at {@code headerPath}. */
    static Path beside(Path headerPath) {
        Path abs = headerPath.toAbsolutePath();
        return abs.resolveSibling(abs.getFileName() + SUFFIX);
    }

    /**
     * The snapshots listed in {@code file}, oldest first; none if there is no file.
     *
     * @throws IllegalArgumentException if the file is not a catalogue of {@code volumeId}
     */
    static List<SnapshotInfo> read(Path file, String volumeId) {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            return List.of();
        } catch (IOException e) {
            throw new IllegalArgumentException("the snapshot catalogue " + file + " cannot be read: " + e.getMessage());
        }
        if (root == null || root.path("format").asInt() != FORMAT || !root.path("snapshots").isArray()) {
            throw new IllegalArgumentException(file + " is not a snapshot catalogue of format " + FORMAT);
        }
        if (!volumeId.equals(root.path("volume").asText())) {
            throw new IllegalArgumentException("the snapshot catalogue " + file + " belongs to volume "
                    + root.path("volume").asText() + ", not " + volumeId);
        }
        List<SnapshotInfo> list = new ArrayList<>();
        try {
            for (JsonNode s : root.get("snapshots")) {
                list.add(new SnapshotInfo(s.path("id").asText(), volumeId, SnapshotKind.ofLabel(s.path("kind")
                        .asText()), s.hasNonNull("parent") ? s.get("parent").asText() : null, Instant.parse(s.path(
                                "created").asText()), s.path("volume_size").asLong(), s.path("chunks").asLong(),
                        s.path("stored_chunks").asLong(), s.path("path").asText()));
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the snapshot catalogue " + file + " has an invalid entry: "
                    + e.getMessage());
        }
        return list;
    }

    /** Adds {@code s} at the end of the catalogue in {@code file}, atomically and durably. */
    static void append(Path file, String volumeId, SnapshotInfo s) {
        List<SnapshotInfo> list = new ArrayList<>(read(file, volumeId));
        list.add(s);
        write(file, volumeId, list);
    }

    /**
     * Takes snapshot {@code id} off the catalogue in {@code file}, atomically and durably.
     *
     * @return whether it was listed
     */
    static boolean remove(Path file, String volumeId, String id) {
        List<SnapshotInfo> list = new ArrayList<>(read(file, volumeId));
        boolean removed = list.removeIf(s -> s.id().equals(id));
        if (removed) {
            write(file, volumeId, list);
        }
        return removed;
    }

    private static void write(Path file, String volumeId, List<SnapshotInfo> list) {
        ObjectNode root = JSON.createObjectNode();
        root.put("format", FORMAT);
        root.put("volume", volumeId);
        ArrayNode arr = root.putArray("snapshots");
        for (SnapshotInfo i : list) {
            ObjectNode o = arr.addObject();
            o.put("id", i.id());
            o.put("kind", i.kind().label());
            if (i.parent() != null) {
                o.put("parent", i.parent());
            }
            o.put("created", i.created().toString());
            o.put("volume_size", i.volumeSize());
            o.put("chunks", i.chunks());
            o.put("stored_chunks", i.storedChunks());
            o.put("path", i.path());
        }
        try {
            AtomicFiles.replace(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(root));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot update the snapshot catalogue " + file, e);
        }
    }
}
