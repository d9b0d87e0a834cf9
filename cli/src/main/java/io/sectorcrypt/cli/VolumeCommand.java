package io.sectorcrypt.cli;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.sectorcrypt.keys.DiskEncryptionSet;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.keys.LocalKeyVault;
import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.SnapshotInfo;
import io.sectorcrypt.volume.SnapshotKind;
import io.sectorcrypt.volume.VolumeFiles;
import io.sectorcrypt.volume.VolumeInUseException;
import io.sectorcrypt.volume.VolumeInfo;
import io.sectorcrypt.volume.VolumeManager;
import io.sectorcrypt.volume.VolumeSpec;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.WrongPassphraseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Locale;
import java.util.UUID;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "volume", description = "Encrypted disks: LUKS2 volumes whose key is wrapped by an encryption set's"
        + " vault key.",
        subcommands = {VolumeCommand.Create.class, VolumeCommand.Info.class, VolumeCommand.Import.class,
            VolumeCommand.Export.class, VolumeCommand.Write.class, VolumeCommand.Read.class, VolumeCommand.Rotate.class,
            VolumeCommand.Resize.class, VolumeCommand.Snapshot.class, VolumeCommand.Snapshots.class,
            VolumeCommand.Restore.class, VolumeCommand.MoveSet.class, VolumeCommand.Adopt.class,
            VolumeCommand.ForgetSnapshot.class})
final class VolumeCommand {
    /** Copy in chunks this large: big enough for the sector queue to spread over cores. */
    static final int CHUNK = 4 << 20;

    private VolumeCommand() {
    }

    /** A volume subcommand: the vault, the sets, a volume manager; failures become one line. */
    abstract static class VolumeSubcommand implements Callable<Integer> {
        @Mixin
        KeysCommand.VaultOptions vault;

        @Spec
        CommandSpec spec;

        PrintWriter out() {
            return spec.commandLine().getOut();
        }

        void check() {
        }

        abstract void run(LocalKeyVault vault, VolumeManager volumes);

        @Override
        public Integer call() {
            vault.with(this::check, null, v -> {
                try (VolumeManager volumes = VolumeManager.builder(SetCommand.keyManager(v)
                        .policy(vault.cryptoPolicy())).policy(vault.cryptoPolicy()).build()) {
                    run(v, volumes);
                } catch (Luks2FormatException | VolumeInUseException | KeyUnavailableException e) {
                    throw new CliException(e.getMessage(), e);
                }
                return null;
            });
            out().flush();
            return 0;
        }

        /**
         * Registers the one encryption set a command needs (a damaged file of another set does
         * not stand in the way) and returns it.
         */
        static DiskEncryptionSet register(LocalKeyVault v, VolumeManager volumes, String setId, String namedBy) {
            DiskEncryptionSet set = new SetStore(Home.sets()).read(setId).orElseThrow(() -> new CliException(
                    "no encryption set '" + setId + "' (" + namedBy + "): 'sectorcrypt set list' shows the sets"));
            if (!set.vaultId().equals(v.id())) {
                throw new CliException("encryption set '" + setId + "' uses vault '" + set.vaultId() + "', not this"
                        + " vault '" + v.id() + "'");
            }
            volumes.keys().putSet(set);
            return set;
        }

        ProgressBar progress() {
            return Terminal.isStderrTerminal() ? new ProgressBar(spec.commandLine().getErr()) : ProgressBar.NONE;
        }
    }

    /** A subcommand on one existing volume: PATH, and its detached header if it has one. */
    abstract static class OnVolume extends VolumeSubcommand {
        @Parameters(index = "0", paramLabel = "PATH", description = "The volume (data file or device).")
        Path path;

        @Option(names = "--header", paramLabel = "FILE", description = "Its detached LUKS2 header, if it has one.")
        Path header;

        EncryptedVolume open(LocalKeyVault v, VolumeManager volumes, boolean readOnly) {
            VolumeInfo info = VolumeManager.inspect(path, header);
            if (info.setId() != null) {
                register(v, volumes, info.setId(), "named by the volume's header");
            }
            return volumes.open(path, header, readOnly);
        }
    }

    /** Options of a new volume. */
    static final class NewVolumeOptions {
        @Option(names = "--set", required = true, paramLabel = "NAME", description = "The encryption set.")
        String set;

        @Option(names = "--sector-size", paramLabel = "BYTES", defaultValue = "4096",
                description = "512, 1024, 2048 or 4096 (default).")
        int sectorSize;

        @Option(names = "--header", paramLabel = "FILE",
                description = "Put the LUKS2 header in FILE (as cryptsetup's --header); the data starts at offset 0.")
        Path header;

        @Option(names = "--label", paramLabel = "TEXT", description = "A LUKS2 label.")
        String label;

        @Option(names = "--recovery-passphrase-file", paramLabel = "F",
                description = "Add a standard LUKS2 keyslot opened by the first line of F (argon2id; pbkdf2 under"
                        + " --crypto-policy fips), so stock cryptsetup can open the disk in a disaster.")
        Path recoveryPassphraseFile;

        /** The recovery passphrase, or null; the caller zeroes it. */
        char[] recoveryPassphrase() {
            return recoveryPassphraseFile == null ? null
                    : KeysCommand.VaultOptions.firstLine("--recovery-passphrase-file", recoveryPassphraseFile);
        }

        /** Reads the recovery passphrase file now, before the vault is unlocked, and forgets it. */
        void checkRecoveryPassphrase() {
            char[] p = recoveryPassphrase();
            if (p != null) {
                java.util.Arrays.fill(p, '\0');
            }
        }

        EncryptedVolume create(VolumeManager volumes, Path path, VolumeSpec spec) {
            char[] recovery = recoveryPassphrase();
            try {
                return volumes.create(path, spec, recovery, null);
            } finally {
                if (recovery != null) {
                    java.util.Arrays.fill(recovery, '\0');
                }
            }
        }

        VolumeSpec spec(long size) {
            try {
                VolumeSpec.checkSectorSize(sectorSize);
            } catch (IllegalArgumentException e) {
                throw new CliException("--sector-size: " + e.getMessage(), e);
            }
            try {
                VolumeSpec.checkLabel(label == null ? "" : label);
            } catch (IllegalArgumentException e) {
                throw new CliException("--label: " + e.getMessage(), e);
            }
            return new VolumeSpec(size, sectorSize, set, header, label);
        }

        void checkSet() {
            if (new SetStore(Home.sets()).read(set).isEmpty()) {
                throw new CliException("no encryption set '" + set + "': create one with 'sectorcrypt set create " + set
                        + " --type platform'");
            }
        }
    }

    @Command(name = "create", description = "Create an encrypted volume (a sparse file, or a block device).")
    static final class Create extends VolumeSubcommand {
        @Parameters(index = "0", paramLabel = "PATH")
        Path path;

        @Option(names = "--size", required = true, paramLabel = "SIZE", description = "Data size: 64M, 1G, ...")
        String size;

        @Mixin
        NewVolumeOptions options;

        private VolumeSpec volumeSpec;

        @Override
        void check() {
            volumeSpec = options.spec(Sizes.parse("--size", size));
            options.checkSet();
            options.checkRecoveryPassphrase();
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            register(v, volumes, options.set, "--set");
            try (EncryptedVolume vol = options.create(volumes, path, volumeSpec)) {
                VolumeInfo info = vol.info();
                out().println("created " + path + ": " + vol.size() + " bytes in " + vol.sectorSize()
                        + "-byte sectors, aes-xts-plain64 (XTS-AES-256)" + (info.outerCipher() == null ? ""
                                : " under " + info.outerCipher() + " (HCTR2-AES-256, DOUBLE)") + ", encryption set '"
                        + vol.setId() + "', LUKS2 " + vol.diskId() + (info.keyslots().isEmpty() ? ""
                                : ", recovery passphrase in keyslot 0" + (info.outerCipher() == null ? ""
                                        : " (it opens the inner layer only)")));
            }
        }
    }

    /** A subcommand that only reads a volume's header and the files beside it: no vault, no key. */
    abstract static class OnHeader implements Callable<Integer> {
        @Parameters(index = "0", paramLabel = "PATH", description = "The volume (data file or device).")
        Path path;

        @Option(names = "--header", paramLabel = "FILE", description = "Its detached LUKS2 header, if it has one.")
        Path header;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @Spec
        CommandSpec spec;

        abstract void run(PrintWriter out) throws IOException;

        @Override
        public Integer call() throws IOException {
            PrintWriter out = spec.commandLine().getOut();
            try {
                run(out);
            } catch (Luks2FormatException e) {
                throw new CliException(e.getMessage(), e);
            }
            out.flush();
            return 0;
        }
    }

    @Command(name = "info", description = "Show a volume's LUKS2 header: size, keys, keyslots (no vault needed).")
    static final class Info extends OnHeader {
        @Override
        void run(PrintWriter out) throws IOException {
            VolumeInfo info = VolumeManager.inspect(path, header);
            if (json) {
                printJson(out, info);
            } else {
                out.println("volume:      " + info.path());
                out.println("uuid:        " + info.uuid() + (info.label().isEmpty() ? "" : " (label " + info.label()
                        + ")"));
                out.println("size:        " + info.size() + " bytes, " + info.sectorSize() + "-byte sectors");
                out.println("cipher:      " + info.cipher() + " (XTS-AES-256, IV in 512-byte units)"
                        + (info.outerCipher() == null ? "" : ", the inner layer"));
                if (info.outerCipher() != null) {
                    out.println("outer layer: " + info.outerCipher() + " (HCTR2-AES-256 over the XTS ciphertext, the"
                            + " same IVs; DOUBLE encryption)");
                }
                out.println("data offset: " + info.dataOffset() + (info.detachedHeader() ? " (detached header)" : ""));
                out.println("header:      seqid " + info.seqid() + ", " + info.headerBytes() + " bytes per copy");
                out.println("set:         " + (info.setId() == null ? "(none: not a SectorCrypt volume)"
                        : info.setId()));
                for (VolumeInfo.Layer l : info.layers()) {
                    for (VolumeInfo.WrappedCopy c : l.wrapped()) {
                        out.println("key:         " + l.role() + " DEK wrapped with " + c.algorithm() + " by key '"
                                + c.key() + "' version " + c.version() + " in vault '" + c.vault() + "'");
                    }
                }
                out.println("keyslots:    " + (info.keyslots().isEmpty() ? "none" : info.keyslots()));
                info.tokens().forEach((id, type) -> out.println("token " + id + ":     " + type));
            }
        }
    }

    @Command(name = "import", description = "Encrypt a raw image into a new volume (nothing appears at PATH until"
            + " it is complete).")
    static final class Import extends VolumeSubcommand {
        @Parameters(index = "0", paramLabel = "RAW")
        Path raw;

        @Parameters(index = "1", paramLabel = "PATH")
        Path path;

        @Mixin
        NewVolumeOptions options;

        private long size;

        @Override
        void check() {
            if (Files.isDirectory(raw) || !Files.isReadable(raw)) {
                throw new CliException("RAW " + raw + (Files.isDirectory(raw) ? " is a directory"
                        : Files.exists(raw) ? " cannot be read" : " does not exist"));
            }
            try (FileChannel in = FileChannel.open(raw, StandardOpenOption.READ)) {
                size = in.size();
            } catch (IOException e) {
                throw Main.cannot("read RAW", raw, e);
            }
            if (size == 0) {
                throw new CliException("RAW " + raw + " is empty");
            }
            if (size % options.sectorSize != 0) {
                throw new CliException("RAW " + raw + " is " + size + " bytes, not a whole number of "
                        + options.sectorSize + "-byte sectors" + (options.sectorSize > 512 && size % 512 == 0
                                ? ": use --sector-size 512" : ": pad it to a whole sector"));
            }
            options.spec(size);
            options.checkSet();
            options.checkRecoveryPassphrase();
            refuseExisting(path, "PATH");
            if (options.header != null) {
                refuseExisting(options.header, "--header");
                if (options.header.toAbsolutePath().normalize().equals(path.toAbsolutePath().normalize())) {
                    throw new CliException("--header must be a file of its own, not PATH " + path);
                }
            }
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            register(v, volumes, options.set, "--set");
            String tag = UUID.randomUUID().toString().substring(0, 8);
            Path tmpData = VolumeFiles.hiddenBeside(path, "importing-" + tag);
            Path tmpHeader = options.header == null ? null : VolumeFiles.hiddenBeside(options.header, "importing-" + tag);
            TempFiles.register(tmpData);
            if (tmpHeader != null) {
                TempFiles.register(tmpHeader);
            }
            try {
                NewVolumeOptions o = options;
                VolumeSpec s = new VolumeSpec(size, o.sectorSize, o.set, tmpHeader, o.label);
                try (EncryptedVolume vol = o.create(volumes, tmpData, s);
                     FileChannel in = FileChannel.open(raw, StandardOpenOption.READ);
                     Arena arena = Arena.ofShared()) {
                    copyIn(in, vol, size, arena, progress());
                }
                if (tmpHeader != null) {
                    publish(tmpHeader, options.header); // first: data without its header cannot be opened
                }
                try {
                    publish(tmpData, path);
                } catch (IOException | RuntimeException e) {
                    if (tmpHeader != null) {
                        Files.deleteIfExists(options.header); // ours, published a moment ago
                    }
                    throw e;
                }
                out().println("imported " + raw + " into " + path + ": " + size + " bytes, encryption set '"
                        + options.set + "'");
            } catch (IOException e) {
                throw Main.cannot("import into", path, e);
            } finally {
                deleteQuietly(tmpData);
                if (tmpHeader != null) {
                    deleteQuietly(tmpHeader);
                }
            }
        }
    }

    /**
     * Reads RAW in large chunks into off-heap memory and writes each chunk to the volume; two
     * buffers, so the next read overlaps the encryption of the current chunk.
     */
    static void copyIn(FileChannel in, EncryptedVolume vol, long size, Arena arena, ProgressBar bar)
            throws IOException {
        MemorySegment buf = arena.allocate(CHUNK, 4096);
        try {
            for (long done = 0; done < size;) {
                int n = (int) Math.min(CHUNK, size - done);
                ByteBuffer b = buf.asSlice(0, n).asByteBuffer();
                while (b.hasRemaining()) {
                    if (in.read(b, done + b.position()) < 0) {
                        throw new IOException("RAW ended early, at byte " + (done + b.position()));
                    }
                }
                vol.write(done, buf.asSlice(0, n));
                done += n;
                bar.update(done, size);
            }
            vol.flush();
        } finally {
            bar.finish(); // an error goes on a line of its own
        }
    }

    /** Decrypts {@code length} bytes at {@code offset} into {@code out} (from its start), in chunks. */
    static void copyOut(EncryptedVolume vol, long offset, long length, WritableByteChannel out, Arena arena,
            ProgressBar bar)
            throws IOException {
        vol.checkRange("read", offset, length);
        MemorySegment buf = arena.allocate(CHUNK, 4096);
        try {
            for (long done = 0; done < length;) {
                int n = (int) Math.min(CHUNK, length - done);
                vol.read(offset + done, buf.asSlice(0, n));
                ByteBuffer b = buf.asSlice(0, n).asByteBuffer();
                while (b.hasRemaining()) {
                    out.write(b);
                }
                done += n;
                bar.update(done, length);
            }
            if (out instanceof FileChannel file) {
                file.force(true);
            }
        } finally {
            bar.finish();
        }
    }

    @Command(name = "export", description = "Decrypt a volume into a raw image (audited in the vault's log).")
    static final class Export extends OnVolume {
        @Parameters(index = "1", paramLabel = "RAW")
        Path rawOut;

        @Override
        void check() {
            refuseExisting(rawOut, "RAW");
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            Path tmp = VolumeFiles.hiddenBeside(rawOut, "exporting-" + UUID.randomUUID().toString().substring(0, 8));
            TempFiles.register(tmp);
            try (EncryptedVolume vol = open(v, volumes, true)) {
                try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
                     Arena arena = Arena.ofShared()) {
                    copyOut(vol, 0, vol.size(), out, arena, progress());
                }
                publish(tmp, rawOut);
                DiskEncryptionSet set = volumes.keys().set(vol.setId()).orElseThrow();
                if (v.auditLog() != null) {
                    v.auditLog().append(set.identity(), v.id(), set.keyName(), "-", "export disk " + vol.diskId()
                            + " (" + path + ") decrypted to " + rawOut.toAbsolutePath(), "ok");
                }
                out().println("exported " + path + " to " + rawOut + ": " + vol.size() + " bytes");
            } catch (IOException e) {
                throw Main.cannot("export to RAW", rawOut, e);
            } finally {
                deleteQuietly(tmp);
            }
        }
    }

    @Command(name = "write", description = "Write a file's bytes into a volume at any byte offset ('-' reads stdin).")
    static final class Write extends OnVolume {
        @Option(names = "--offset", required = true, paramLabel = "BYTES")
        long offset;

        @Parameters(index = "1", paramLabel = "IN")
        String in;

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            byte[] data;
            try (InputStream s = in.equals("-") ? System.in : Files.newInputStream(Path.of(in))) {
                data = s.readNBytes(CHUNK * 64 + 1);
            } catch (IOException e) {
                throw Main.cannot("read IN", Path.of(in), e);
            }
            if (data.length > CHUNK * 64) {
                throw new CliException("IN is larger than " + (CHUNK * 64 >> 20) + " MiB: use 'volume import' for"
                        + " images");
            }
            try (EncryptedVolume vol = open(v, volumes, false)) {
                vol.write(offset, MemorySegment.ofArray(data), true);
                out().println("wrote " + data.length + " bytes at offset " + offset + " of " + path);
            }
        }
    }

    @Command(name = "read", description = "Read bytes of a volume at any offset into a new file ('-' writes stdout).")
    static final class Read extends OnVolume {
        @Option(names = "--offset", required = true, paramLabel = "BYTES")
        long offset;

        @Option(names = "--length", required = true, paramLabel = "BYTES")
        long length;

        @Parameters(index = "1", paramLabel = "OUT")
        String outFile;

        @Override
        void check() {
            if (length < 0 || offset < 0) {
                throw new CliException((length < 0 ? "--length" : "--offset") + " must be 0 or more");
            }
            if (!outFile.equals("-")) {
                refuseExisting(Path.of(outFile), "OUT");
            }
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            try (EncryptedVolume vol = open(v, volumes, true); Arena arena = Arena.ofShared()) {
                vol.checkRange("read", offset, length);
                if (outFile.equals("-")) {
                    copyOut(vol, offset, length, Channels.newChannel(System.out), arena, ProgressBar.NONE);
                    System.out.flush();
                    return;
                }
                Path target = Path.of(outFile);
                Path tmp = VolumeFiles.hiddenBeside(target, "reading-" + UUID.randomUUID().toString().substring(0, 8));
                TempFiles.register(tmp);
                try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                    copyOut(vol, offset, length, out, arena, progress());
                }
                publish(tmp, target);
                deleteQuietly(tmp);
            } catch (IOException e) {
                throw Main.cannot("write OUT", Path.of(outFile), e);
            }
        }
    }

    @Command(name = "rotate", description = "Re-wrap the volume's key under its set's current key version (no data is"
            + " re-encrypted); --new-key-version first adds a version to the set's key.")
    static final class Rotate extends OnVolume {
        @Option(names = "--new-key-version", description = "Add a version to the set's key first (the set must follow"
                + " 'latest'): every disk of the set moves to it.")
        boolean newKeyVersion;

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            try (EncryptedVolume vol = open(v, volumes, false)) {
                DiskEncryptionSet set = volumes.keys().set(vol.setId()).orElseThrow(() -> new CliException(
                        "the volume's encryption set '" + vol.setId() + "' is not among the sets here"));
                if (newKeyVersion) {
                    if (!set.followsLatest()) {
                        throw new CliException("encryption set '" + set.id() + "' is pinned to version "
                                + set.pinnedVersion() + " of key '" + set.keyName() + "'; a new version would not be"
                                + " used");
                    }
                    v.newVersion(set.keyName());
                }
                List<VolumeInfo.Layer> before = vol.info().layers();
                boolean changed = volumes.keys().rewrapDisk(vol.diskId());
                List<VolumeInfo.Layer> after = vol.info().layers();
                int xtsBefore = currentVersion(before.get(0));
                int xtsAfter = currentVersion(after.get(0));
                if (!changed) {
                    out().println(path + " is already wrapped under key '" + set.keyName() + "' version " + xtsAfter
                            + ": nothing to do (add a version with --new-key-version)");
                    return;
                }
                String keyBefore = before.get(0).wrapped().get(0).key();
                String keyAfter = after.get(0).wrapped().get(0).key();
                if (!keyBefore.equals(keyAfter)) {
                    out().println("re-wrapped " + path + " from key '" + keyBefore + "' version " + xtsBefore
                            + " to key '" + keyAfter + "' version " + xtsAfter + "; no data was re-encrypted");
                } else if (xtsBefore != xtsAfter) {
                    out().println("re-wrapped " + path + " from key '" + keyAfter + "' version " + xtsBefore
                            + " to version " + xtsAfter + "; no data was re-encrypted");
                }
                // A DOUBLE disk's outer layer follows the platform key on its own.
                for (int i = 1; i < Math.min(before.size(), after.size()); i++) {
                    VolumeInfo.WrappedCopy was = before.get(i).wrapped().get(0);
                    VolumeInfo.WrappedCopy now = after.get(i).wrapped().get(0);
                    if (was.version() != now.version() || !was.key().equals(now.key())) {
                        out().println("re-wrapped the " + after.get(i).role() + " (outer) layer of " + path
                                + " from key '" + was.key() + "' version " + was.version() + " to key '" + now.key()
                                + "' version " + now.version() + "; no data was re-encrypted");
                    }
                }
            }
        }

        private static int currentVersion(VolumeInfo.Layer layer) {
            return layer.wrapped().get(0).version();
        }
    }

    @Command(name = "resize", description = "Grow a volume (online: the file grows, then the header).")
    static final class Resize extends OnVolume {
        @Option(names = "--size", required = true, paramLabel = "SIZE")
        String size;

        private long bytes;

        @Override
        void check() {
            bytes = Sizes.parse("--size", size);
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            try (EncryptedVolume vol = open(v, volumes, false)) {
                long before = vol.size();
                vol.resize(bytes);
                out().println(before == bytes ? path + " is already " + bytes + " bytes"
                        : "resized " + path + " from " + before + " to " + bytes + " bytes");
            }
        }
    }

    @Command(name = "move-set", description = "Move a volume to another encryption set (platform <-> customer): its"
            + " key is re-wrapped, no data is re-encrypted. A customer key stays while incremental snapshots exist.")
    static final class MoveSet extends OnVolume {
        @Option(names = "--set", required = true, paramLabel = "NAME", description = "The new encryption set.")
        String setId;

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            try (EncryptedVolume vol = open(v, volumes, false)) {
                String from = vol.setId();
                register(v, volumes, setId, "--set");
                vol.changeEncryptionSet(setId);
                out().println(from.equals(setId) ? path + " is already in encryption set '" + setId + "'"
                        : "moved " + path + " from encryption set '" + from + "' to '" + setId + "'; no data was"
                                + " re-encrypted");
            }
        }
    }

    @Command(name = "snapshot", description = "Take a snapshot of a volume into a new file SNAP (I/O goes on;"
            + " nothing appears at SNAP until it is complete): full, or --incremental (only the chunks written since"
            + " the previous snapshot).")
    static final class Snapshot extends OnVolume {
        @Parameters(index = "1", paramLabel = "SNAP", description = "The new snapshot file.")
        Path snapshot;

        @Option(names = "--incremental", description = "Only the chunks written since the previous snapshot.")
        boolean incremental;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @Override
        void check() {
            refuseExisting(snapshot, "the snapshot");
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            try (EncryptedVolume vol = open(v, volumes, false)) {
                ProgressBar bar = progress();
                long start = System.nanoTime();
                SnapshotInfo s = vol.snapshot(snapshot, incremental ? SnapshotKind.INCREMENTAL : SnapshotKind.FULL,
                        bar::update);
                bar.finish();
                if (json) {
                    printJson(out(), json(s));
                } else {
                    out().printf("%s snapshot %s of %s: %d of %d chunks of %d KiB in %.2f s%n", s.kind().label(),
                            snapshot, path, s.storedChunks(), s.chunks(), SnapshotInfo.CHUNK_BYTES / 1024,
                            (System.nanoTime() - start) / 1e9);
                }
            }
        }
    }

    @Command(name = "forget-snapshot", description = "Take a deleted snapshot off the volume's list (its file must be"
            + " gone: a listed incremental snapshot keeps a customer key on the disk).")
    static final class ForgetSnapshot extends OnVolume {
        @Parameters(index = "1", paramLabel = "ID", description = "The snapshot's id, as 'volume snapshots' lists it.")
        String id;

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            try (EncryptedVolume vol = open(v, volumes, false)) {
                out().println(vol.forgetSnapshot(id) ? "forgot snapshot " + id + " of " + path
                        : path + " lists no snapshot " + id + ": nothing to do");
            }
        }
    }

    @Command(name = "snapshots", description = "List a volume's snapshots, oldest first: each full one starts a"
            + " chain, each incremental one follows its parent (no vault needed).")
    static final class Snapshots extends OnHeader {
        @Override
        void run(PrintWriter out) {
            List<SnapshotInfo> list = VolumeManager.snapshots(path, header);
            if (json) {
                printJson(out, list.stream().map(VolumeCommand::json).toList());
            } else if (list.isEmpty()) {
                out.println(path + " has no snapshots");
            } else {
                out.printf("%-36s  %-11s  %-20s  %12s  %s%n", "ID", "KIND", "CREATED", "CHUNKS", "FILE");
                for (SnapshotInfo s : list) {
                    out.printf("%-36s  %-11s  %-20s  %12s  %s%s%n", s.id(), s.kind().label(), s.created().truncatedTo(
                            java.time.temporal.ChronoUnit.SECONDS), s.storedChunks() + "/" + s.chunks(), s.path(),
                            Files.exists(Path.of(s.path())) ? "" : " (missing)");
                }
            }
        }
    }

    @Command(name = "restore", description = "Make a new disk PATH from a chain of snapshots: a full one, then the"
            + " incremental ones after it, in order (nothing appears at PATH until it is complete).")
    static final class Restore extends VolumeSubcommand {
        @Parameters(arity = "2..*", paramLabel = "SNAP... PATH", description = "The chain, oldest first, then the new"
                + " disk.")
        List<Path> paths;

        @Override
        void check() {
            refuseExisting(paths.get(paths.size() - 1), "the restored disk");
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            List<Path> chain = paths.subList(0, paths.size() - 1);
            Path target = paths.get(paths.size() - 1);
            SnapshotInfo last = VolumeManager.inspectSnapshot(chain.get(chain.size() - 1));
            String setId = VolumeManager.inspect(chain.get(chain.size() - 1), null).setId();
            register(v, volumes, setId, "named by the snapshot " + chain.get(chain.size() - 1));
            ProgressBar bar = progress();
            long start = System.nanoTime();
            try (EncryptedVolume vol = volumes.restore(chain, target, bar::update)) {
                bar.finish();
                out().printf("restored %s (%d bytes) from %d snapshot(s), to snapshot %s of %s, in %.2f s%n", target,
                        vol.size(), chain.size(), last.id(), last.created(), (System.nanoTime() - start) / 1e9);
            }
        }
    }

    /** A snapshot as JSON: the record's fields, the time in ISO 8601. */
    private static java.util.Map<String, Object> json(SnapshotInfo s) {
        java.util.Map<String, Object> m = new java.util.LinkedHashMap<>();
        m.put("id", s.id());
        m.put("volume", s.volumeId());
        m.put("kind", s.kind().label());
        m.put("parent", s.parent());
        m.put("created", s.created().toString());
        m.put("volume_size", s.volumeSize());
        m.put("chunk_size", SnapshotInfo.CHUNK_BYTES);
        m.put("chunks", s.chunks());
        m.put("stored_chunks", s.storedChunks());
        m.put("path", s.path());
        m.put("present", Files.exists(Path.of(s.path())));
        return m;
    }

    private static void printJson(PrintWriter out, Object value) {
        try {
            out.println(new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(value));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Command(name = "adopt", description = "Put a LUKS2 disk made by cryptsetup under an encryption set: its"
            + " passphrase opens the volume key, which the set's key wraps into the header (no data is re-encrypted;"
            + " cryptsetup still opens it with the passphrase).")
    static final class Adopt extends VolumeSubcommand {
        @Parameters(index = "0", paramLabel = "PATH", description = "The disk (data file or device).")
        Path path;

        @Option(names = "--header", paramLabel = "FILE", description = "Its detached LUKS2 header, if it has one.")
        Path header;

        @Option(names = "--set", required = true, paramLabel = "NAME",
                description = "The encryption set (platform or customer; a double set would need the data"
                        + " re-encrypted).")
        String set;

        // --passphrase-file is the vault's (VaultOptions): this one opens the disk's keyslot.
        @Option(names = "--luks-passphrase-file", required = true, paramLabel = "F",
                description = "The first line of F is the passphrase of one of the disk's keyslots.")
        Path passphraseFile;

        @Option(names = "--json", description = "Print JSON for scripts.")
        boolean json;

        @Override
        void check() {
            if (new SetStore(Home.sets()).read(set).isEmpty()) {
                throw new CliException("no encryption set '" + set + "': create one with 'sectorcrypt set create " + set
                        + " --type platform'");
            }
            java.util.Arrays.fill(passphrase(), '\0'); // readable now, before the vault is unlocked
        }

        private char[] passphrase() {
            return KeysCommand.VaultOptions.firstLine("--luks-passphrase-file", passphraseFile);
        }

        @Override
        void run(LocalKeyVault v, VolumeManager volumes) {
            register(v, volumes, set, "--set");
            char[] passphrase = passphrase();
            try (EncryptedVolume vol = volumes.adopt(path, header, set, passphrase)) {
                if (json) {
                    printJson(out(), vol.info());
                } else {
                    out().println("adopted " + path + ": LUKS2 " + vol.diskId() + ", " + vol.size() + " bytes in "
                            + vol.sectorSize() + "-byte sectors, now in encryption set '" + vol.setId() + "'; no data"
                            + " was re-encrypted and its keyslots " + vol.info().keyslots() + " still open it");
                }
            } catch (WrongPassphraseException e) {
                throw new CliException("--luks-passphrase-file " + passphraseFile + ": " + e.getMessage(), e);
            } finally {
                java.util.Arrays.fill(passphrase, '\0');
            }
        }
    }

    static void refuseExisting(Path p, String what) {
        if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new CliException(what + " " + p + " exists; refusing to overwrite it");
        }
    }

    /** {@link VolumeFiles#publish}, and the temporary name is no longer the exit hook's to remove. */
    static void publish(Path tmp, Path target) throws IOException {
        try {
            VolumeFiles.publish(tmp, target);
        } catch (IllegalArgumentException e) {
            throw new CliException(e.getMessage(), e);
        }
        TempFiles.release(tmp);
    }

    private static void deleteQuietly(Path p) {
        try {
            TempFiles.delete(p);
        } catch (IOException e) {
            // Best effort: the shutdown hook tries again.
        }
    }
}
