package io.sectorcrypt.keys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/** One file per disk, {@code <diskId>.keys}, each replaced through {@link AtomicFiles}. */
public final class DirectoryDiskKeyStore implements DiskKeyStore {
    private static final String SUFFIX = ".keys";
    private final Path dir;

    public DirectoryDiskKeyStore(Path dir) {
        this.dir = dir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(this.dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the disk key directory " + this.dir, e);
        }
    }

    @Override
    public Optional<DiskKeys> read(String diskId) {
        try {
            return Optional.of(DiskKeys.decode(Files.readAllBytes(file(diskId))));
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the keys of disk '" + diskId + "'", e);
        }
    }

    @Override
    public void write(DiskKeys keys) {
        try {
            AtomicFiles.replace(file(keys.diskId()), keys.encode());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the keys of disk '" + keys.diskId() + "'", e);
        }
    }

    @Override
    public void delete(String diskId) {
        try {
            Files.deleteIfExists(file(diskId));
            AtomicFiles.syncDirectory(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the keys of disk '" + diskId + "'", e);
        }
    }

    @Override
    public List<String> diskIds() {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(SUFFIX) && !n.startsWith("."))
                    .map(n -> n.substring(0, n.length() - SUFFIX.length())).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private Path file(String diskId) {
        return dir.resolve(Names.check("disk id", diskId, Names.MAX_KEY_NAME) + SUFFIX);
    }
}
