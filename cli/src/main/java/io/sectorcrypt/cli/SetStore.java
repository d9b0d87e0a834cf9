package io.sectorcrypt.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.keys.AtomicFiles;
import io.sectorcrypt.keys.DiskEncryptionSet;
import io.sectorcrypt.keys.EncryptionType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * The CLI's encryption sets: one JSON file per set under {@link Home#sets()}, replaced
 * atomically. A set names a key in the embedded vault, pinned or following "latest", and
 * the identity the key manager acts as for it ({@code set:NAME}).
 */
final class SetStore {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int FORMAT = 1;
    private final Path dir;

    SetStore(Path dir) {
        this.dir = dir;
    }

    static String identityOf(String setId) {
        return "set:" + setId;
    }

    Optional<DiskEncryptionSet> read(String id) {
        Path file = dir.resolve(id + ".json");
        if (!Files.exists(file)) {
            return Optional.empty();
        }
        return Optional.of(load(file));
    }

    /** Every set; a damaged file is one line naming it. */
    List<DiskEncryptionSet> all() {
        List<DiskEncryptionSet> sets = new ArrayList<>();
        if (!Files.isDirectory(dir)) {
            return sets;
        }
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : files.filter(p -> p.getFileName().toString().endsWith(".json")
                    && !p.getFileName().toString().startsWith(".")).sorted().toList()) {
                sets.add(load(f));
            }
        } catch (IOException e) {
            throw Main.cannot("list the encryption sets in", dir, e);
        }
        return sets;
    }

    private static DiskEncryptionSet load(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw Main.cannot("read encryption set", file, e);
        }
        if (bytes.length == 0) {
            throw new CliException("encryption set file " + file + " is empty");
        }
        JsonNode n;
        try {
            n = JSON.readTree(bytes);
        } catch (IOException e) {
            throw new CliException("encryption set file " + file + " is not valid JSON", e);
        }
        DiskEncryptionSet set = parse(file, n);
        String expected = file.getFileName().toString().replaceFirst("\\.json$", "");
        if (!set.id().equals(expected)) {
            throw new CliException("encryption set file " + file + " holds set '" + set.id() + "', not '" + expected
                    + "'");
        }
        return set;
    }

    void write(DiskEncryptionSet set) {
        ObjectNode n = JSON.createObjectNode();
        n.put("format", FORMAT);
        n.put("id", set.id());
        n.put("type", set.type().name().toLowerCase(Locale.ROOT));
        n.put("vault", set.vaultId());
        n.put("key", set.keyName());
        n.put("version", set.followsLatest() ? "latest" : Integer.toString(set.pinnedVersion()));
        n.put("identity", set.identity());
        Path file = dir.resolve(set.id() + ".json");
        try {
            Files.createDirectories(dir);
            AtomicFiles.replace(file, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
        } catch (IOException e) {
            throw Main.cannot("write encryption set", file, e);
        }
    }

    private static DiskEncryptionSet parse(Path file, JsonNode n) {
        try {
            if (n.path("format").asInt() != FORMAT) {
                throw new IllegalArgumentException("its format is " + n.path("format") + ", not " + FORMAT);
            }
            String version = n.path("version").asText();
            return new DiskEncryptionSet(n.path("id").asText(), EncryptionType.valueOf(n.path("type").asText()
                    .toUpperCase(Locale.ROOT)), n.path("vault").asText(), n.path("key").asText(),
                    version.equals("latest") ? 0 : Integer.parseInt(version), n.path("identity").asText());
        } catch (RuntimeException e) {
            throw new CliException("encryption set file " + file + " is damaged: " + e.getMessage(), e);
        }
    }
}
