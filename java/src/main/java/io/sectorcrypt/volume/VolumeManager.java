package io.sectorcrypt.volume;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.AttachedDisk;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.keys.KeyManager;
import io.sectorcrypt.keys.KeyUnavailableException;
import io.sectorcrypt.queue.SectorQueue;
import io.sectorcrypt.volume.luks2.KdfParameters;
import io.sectorcrypt.volume.luks2.Luks2BinaryHeader;
import io.sectorcrypt.volume.luks2.Luks2Digest;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import io.sectorcrypt.volume.luks2.PassphraseKeyslot;
import io.sectorcrypt.volume.luks2.WrongPassphraseException;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.XtsKey;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Makes and opens {@link EncryptedVolume}s and owns what they share: the {@link KeyManager}
 * (whose disk key store is the volumes' own LUKS2 headers: each disk's wrapped DEK lives in
 * its envelope token) and the {@link SectorQueue} that spreads large I/O over cores.
 *
 * <p>Layout of a new volume, as {@code cryptsetup luksFormat --type luks2} makes it: two
 * 16 KiB header copies (12 KiB of JSON each), the keyslots area up to 16 MiB, the data from
 * 16 MiB; with a detached header the header file holds the first 16 MiB and the data starts
 * at offset 0 of the data file. The volume key is the disk's DEK (XTS-AES-256, 64 bytes),
 * made by the key manager; the header holds its pbkdf2 digest (LUKS2 3.4) so cryptsetup can
 * verify it, and its wrapped copies in the {@value Luks2Metadata#ENVELOPE_TOKEN_TYPE} token.
 *
 * <p>A temporary disk ({@link #createTemporary}) has none of that: ciphertext from offset 0
 * under a key that lives in this process only.
 */
public final class VolumeManager implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt.volume");
    public static final long HEADER_SIZE = Luks2BinaryHeader.DEFAULT_HDR_SIZE;
    /** Where data starts behind an attached header: 16 MiB, cryptsetup's default alignment. */
    public static final long DATA_OFFSET = 16L << 20;
    public static final long KEYSLOTS_SIZE = DATA_OFFSET - 2 * HEADER_SIZE;
    /** How often a stopped disk's I/O asks the vault again, by default. */
    public static final Duration DEFAULT_REATTACH_INTERVAL = Duration.ofSeconds(5);

    private final KeyManager keys;
    private final VolumeKeyStore store;
    private final CryptoPolicy policy;
    private final SectorQueue queue;
    private final boolean ownsQueue;
    private final Duration reattachInterval;
    private final Set<EncryptedVolume> open = ConcurrentHashMap.newKeySet();

    private VolumeManager(Builder b, VolumeKeyStore store, KeyManager keys) {
        this.store = store;
        this.keys = keys;
        this.policy = b.policy;
        this.reattachInterval = b.reattachInterval;
        if (b.queue != null) {
            this.queue = b.queue;
            this.ownsQueue = false;
        } else if (b.withQueue) {
            this.queue = SectorQueue.builder().name("sectorcrypt-volumes").build();
            this.ownsQueue = true;
        } else {
            this.queue = null;
            this.ownsQueue = false;
        }
    }

    /**
     * A builder around a key manager's configuration (vaults, clock, TTL, listeners); the
     * volume manager supplies its disk key store.
     */
    public static Builder builder(KeyManager.Builder keys) {
        return new Builder(keys);
    }

    /** Configuration; everything but the key manager has a default. */
    public static final class Builder {
        private final KeyManager.Builder keys;
        private CryptoPolicy policy = CryptoPolicy.configured();
        private SectorQueue queue;
        private boolean withQueue = true;
        private Duration reattachInterval = DEFAULT_REATTACH_INTERVAL;

        private Builder(KeyManager.Builder keys) {
            this.keys = Objects.requireNonNull(keys, "keys");
        }

        /** The policy for salts and digests (the key manager's DEKs follow its own policy). */
        public Builder policy(CryptoPolicy p) {
            this.policy = Objects.requireNonNull(p, "policy");
            return this;
        }

        /** Large I/O goes through this queue (the caller closes it); default: a queue of our own. */
        public Builder queue(SectorQueue q) {
            this.queue = Objects.requireNonNull(q, "queue");
            return this;
        }

        /** All I/O on the calling thread, no queue. */
        public Builder withoutQueue() {
            this.queue = null;
            this.withQueue = false;
            return this;
        }

        /** How often I/O on a stopped disk asks the vault again (default 5 s; zero: every I/O). */
        public Builder reattachInterval(Duration interval) {
            if (interval == null || interval.isNegative()) {
                throw new IllegalArgumentException("the re-attach interval must be zero or positive, not " + interval);
            }
            this.reattachInterval = interval;
            return this;
        }

        public VolumeManager build() {
            VolumeKeyStore store = new VolumeKeyStore();
            return new VolumeManager(this, store, keys.store(store).build());
        }
    }

    /** The key manager: register encryption sets here, rotate, maintain. */
    public KeyManager keys() {
        return keys;
    }

    // -- create ------------------------------------------------------------------------

    /**
     * Creates a volume: a new sparse file at {@code path} (or an existing block device that
     * holds no LUKS header), with its header at its start or in {@code spec}'s detached header
     * file. Nothing appears at {@code path} until the volume is complete.
     *
     * <p>A DOUBLE set's volume gets a second, outer layer: its data is HCTR2-AES-256 over the
     * XTS ciphertext (see {@link OuterLayerToken}), and its header carries both wrapped DEKs,
     * the layers' token and the {@value Luks2Metadata#OUTER_LAYER_REQUIREMENT} requirement.
     *
     * @throws IllegalArgumentException if the path exists (and is not a block device), the
     *         set is not registered, or the device is too small
     * @throws io.sectorcrypt.keys.KeyUnavailableException if the set's key cannot wrap
     * @throws UncheckedIOException on an I/O error (nothing is left behind)
     */
    public EncryptedVolume create(Path path, VolumeSpec spec) {
        return create(path, spec, null, null);
    }

    /**
     * Creates a volume as {@link #create(Path, VolumeSpec)}, with a recovery passphrase in
     * LUKS2 keyslot 0 (a standard {@code luks2} keyslot: argon2id, or pbkdf2 under the FIPS
     * policy; AF split into 4000 stripes; aes-xts-plain64) so that stock cryptsetup can open
     * the disk without SectorCrypt or its vault. The caller zeroes the passphrase. On a
     * DOUBLE disk the keyslot holds the inner (XTS) key only: cryptsetup can check that layer,
     * but reading the data also needs the outer key, which only the platform key unwraps.
     *
     * @param recoveryKdf the keyslot's KDF costs, or null for {@link KdfParameters#production}
     * @throws IllegalArgumentException also if the passphrase is empty, or too short for FIPS
     */
    public EncryptedVolume create(Path path, VolumeSpec spec, char[] recoveryPassphrase, KdfParameters recoveryKdf) {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(spec, "spec");
        String name = path.toString();
        if (keys.set(spec.setId()).isEmpty()) {
            throw new IllegalArgumentException("encryption set '" + spec.setId() + "' is not registered; create it"
                    + " first");
        }
        boolean device = Files.exists(path) && !Files.isRegularFile(path) && !Files.isDirectory(path);
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS) && !device) {
            throw exists(path);
        }
        VolumeFiles.checkDirectory(path, "the volume");
        VolumeFiles.checkNotSidecar(path, "the volume");
        Path headerPath = spec.detachedHeader();
        if (headerPath != null) {
            if (headerPath.toAbsolutePath().normalize().equals(path.toAbsolutePath().normalize())) {
                throw new IllegalArgumentException("the detached header must be a file of its own, not the volume "
                        + path);
            }
            VolumeFiles.checkDirectory(headerPath, "the detached header");
            VolumeFiles.checkNotSidecar(headerPath, "the detached header");
            if (Files.exists(headerPath, LinkOption.NOFOLLOW_LINKS)) {
                throw new IllegalArgumentException("the header file " + headerPath + " exists; refusing to overwrite"
                        + " it");
            }
        }
        long dataOffset = headerPath == null ? DATA_OFFSET : 0;
        String uuid = UUID.randomUUID().toString();
        List<Path> temporary = new ArrayList<>();
        boolean done = false;
        store.registerPending(uuid);
        try {
            keys.createDisk(uuid, spec.setId());
            AttachedDisk disk = keys.attach(uuid);
            Luks2Digest digest = disk.key().withKeyBytes(k -> Luks2Digest.create(k, policy));
            DiskKeys wrapped = store.read(uuid).orElseThrow();
            Luks2Metadata metadata = Luks2Metadata.create(HEADER_SIZE, KEYSLOTS_SIZE,
                    new Luks2Metadata.CryptSegment(dataOffset, spec.size(), 0, spec.sectorSize()), digest)
                    .withEnvelope(wrapped);
            if (disk.hasOuterLayer()) {
                metadata = OuterLayerToken.apply(metadata, disk.outerKey(), policy);
            }
            PassphraseKeyslot recovery = null;
            if (recoveryPassphrase != null) {
                long areaOffset = metadata.freeKeyslotArea(PassphraseKeyslot.areaSize(XtsKey.AES_256_XTS_KEY_BYTES));
                KdfParameters kdf = recoveryKdf != null ? recoveryKdf : KdfParameters.production(policy);
                recovery = disk.key().withKeyBytes(k -> PassphraseKeyslot.create(k, recoveryPassphrase, kdf,
                        areaOffset, policy));
                metadata = metadata.withKeyslot(metadata.freeKeyslot(), recovery.json());
            }
            if (device) {
                formatDevice(path, headerPath, spec, uuid, metadata, recovery, temporary);
            } else {
                Path dataTmp = VolumeFiles.hiddenBeside(path, "creating-" + uuid.substring(0, 8));
                temporary.add(dataTmp);
                try (FileChannel ch = FileChannel.open(dataTmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                        StandardOpenOption.WRITE)) {
                    if (headerPath == null) {
                        writeHeader(ch, name, uuid, spec, metadata, recovery);
                    }
                    VolumeFiles.extend(ch, dataOffset + spec.size());
                }
                if (headerPath != null) {
                    // The header first: a header without its data file is harmless, data without
                    // its header would be a volume nobody can open.
                    writeDetachedHeader(headerPath, uuid, spec, metadata, recovery, temporary);
                    Path headerTmp = temporary.remove(temporary.size() - 1);
                    VolumeFiles.publish(headerTmp, headerPath);
                }
                try {
                    VolumeFiles.publish(dataTmp, path);
                } catch (IOException | RuntimeException e) {
                    if (headerPath != null) {
                        Files.deleteIfExists(headerPath); // ours, published a moment ago: no half volume stays
                    }
                    throw e;
                }
                temporary.remove(dataTmp);
            }
            store.unregister(uuid); // open() registers the header-backed entry; the keys stay attached
            LOG.log(Level.DEBUG, "created volume {0} ({1} bytes, {2}-byte sectors, encryption set {3})", name,
                    spec.size(), spec.sectorSize(), spec.setId());
            EncryptedVolume v = open(path, headerPath, false);
            done = true;
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + name, e);
        } finally {
            for (Path p : temporary) {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "could not remove {0}: {1}", p, e.getMessage());
                }
            }
            if (!done) {
                detach(uuid);
            }
        }
    }

    /** The refusal of an existing path: a volume never replaces a file. */
    private static IllegalArgumentException exists(Path path) {
        return new IllegalArgumentException(path + " exists; refusing to overwrite it");
    }

    /**
     * Creates a temporary disk with 4096-byte sectors; see {@link #createTemporary(Path, long, int)}.
     */
    public EncryptedVolume createTemporary(Path path, long sizeBytes) {
        return createTemporary(path, sizeBytes, VolumeSpec.DEFAULT_SECTOR_SIZE);
    }

    /**
     * Creates a temporary disk (a VM's temporary disk, "encryption at host"): a new sparse file
     * at {@code path} holding {@code sizeBytes} bytes of data from offset 0, encrypted with a
     * fresh XTS-AES-256 key that the key manager's DRBG makes in memory and that is kept
     * nowhere else. The file is what dm-crypt's plain mode with a random key (crypttab's swap
     * on {@code /dev/urandom}) stores: {@code aes-xts-plain64}, a 512-bit key, the IV the
     * sector's number in 512-byte units; no header, keyslot, digest or envelope token. The
     * key manager does not know the disk: there is nothing to revoke or rotate, and its I/O
     * never fails for want of a key.
     *
     * <p>Closing the volume (or this manager) zeroes the key: from then on, or once the
     * process dies, nobody can read the data. The file is kept: deleting it is the caller's
     * job (after a crash, whoever restarts the service deletes what is left). It cannot be
     * opened again ({@link #open} refuses it as not a LUKS2 disk). While open it is locked as
     * every volume is: a second open, here or in another process, gets
     * {@link VolumeInUseException}.
     *
     * @param sizeBytes  data bytes: positive, whole sectors, at most 2^60
     * @param sectorSize 512, 1024, 2048 or 4096 bytes
     * @throws IllegalArgumentException if the path exists or its directory does not, or the
     *         size or sector size is not allowed
     * @throws UncheckedIOException on an I/O error (nothing is left behind)
     */
    public EncryptedVolume createTemporary(Path path, long sizeBytes, int sectorSize) {
        Objects.requireNonNull(path, "path");
        VolumeSpec.checkSectorSize(sectorSize);
        VolumeSpec.checkSize(sizeBytes, sectorSize);
        String name = path.toString();
        if (Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            throw exists(path);
        }
        VolumeFiles.checkDirectory(path, "the volume");
        VolumeFiles.checkNotSidecar(path, "the volume");
        String diskId = UUID.randomUUID().toString();
        Path tmp = VolumeFiles.hiddenBeside(path, "creating-" + diskId.substring(0, 8));
        XtsKey key = keys.newEphemeralKey();
        FileChannel data = null;
        FileLock lock = null;
        try {
            data = PosixFileChannel.openFile(tmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
            lock = lock(data, name, false); // held from the start: the file is never unlocked while in use
            VolumeFiles.extend(data, sizeBytes);
            EncryptedVolume v = new EncryptedVolume(this, name, diskId, data, data, List.of(lock), null,
                    new Luks2Metadata.CryptSegment(0, sizeBytes, 0, sectorSize), false, true, sizeBytes,
                    new VolumeKey.Ephemeral(key), queue, null, null);
            VolumeFiles.publish(tmp, path);
            open.add(v);
            LOG.log(Level.DEBUG, "created temporary disk {0} ({1} bytes, {2}-byte sectors)", name, sizeBytes,
                    sectorSize);
            return v;
        } catch (IOException | RuntimeException e) {
            key.close();
            if (lock != null) {
                try {
                    lock.release();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            closeQuietly(data, e);
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot create " + name, io);
            }
            throw (RuntimeException) e;
        }
    }

    /** The keyslot's area first, synced, then the header that names it. */
    private void writeHeader(FileChannel ch, String name, String uuid, VolumeSpec spec, Luks2Metadata metadata,
            PassphraseKeyslot recovery) throws IOException {
        if (recovery != null) {
            long offset = metadata.keyslotArea(metadata.keyslots().get(0)).offset();
            ByteBuffer area = ByteBuffer.wrap(recovery.area());
            while (area.hasRemaining()) {
                ch.write(area, offset + area.position());
            }
            ch.force(true);
        }
        Luks2Header.format(ch, name, uuid, spec.label(), metadata, policy);
    }

    private void writeDetachedHeader(Path headerPath, String uuid, VolumeSpec spec, Luks2Metadata metadata,
            PassphraseKeyslot recovery, List<Path> temporary) throws IOException {
        Path headerTmp = VolumeFiles.hiddenBeside(headerPath, "creating-" + uuid.substring(0, 8));
        temporary.add(headerTmp);
        try (FileChannel ch = FileChannel.open(headerTmp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            writeHeader(ch, headerPath.toString(), uuid, spec, metadata, recovery);
            VolumeFiles.extend(ch, DATA_OFFSET); // the keyslots area, as cryptsetup's detached headers have it
        }
    }

    private void formatDevice(Path path, Path headerPath, VolumeSpec spec, String uuid, Luks2Metadata metadata,
            PassphraseKeyslot recovery, List<Path> temporary) throws IOException {
        try (FileChannel ch = openChannel(path, false)) {
            // A device in use holds no LUKS magic when its header is detached: only its lock tells.
            lock(ch, path.toString(), false);
            long need = (headerPath == null ? DATA_OFFSET : 0) + spec.size();
            if (ch.size() < need) {
                throw new IllegalArgumentException(path + " is a device of " + ch.size() + " bytes: too small for "
                        + need + " bytes");
            }
            ByteBuffer first = ByteBuffer.allocate(6);
            ch.read(first, 0);
            if (Luks2BinaryHeader.hasMagic(first.array())) {
                throw new IllegalArgumentException(path + " already holds a LUKS header; wipe it first");
            }
            if (headerPath == null) {
                writeHeader(ch, path.toString(), uuid, spec, metadata, recovery);
            }
        }
        if (headerPath != null) {
            writeDetachedHeader(headerPath, uuid, spec, metadata, recovery, temporary);
            Path headerTmp = temporary.remove(temporary.size() - 1);
            VolumeFiles.publish(headerTmp, headerPath);
        }
    }

    // -- adopt -------------------------------------------------------------------------

    /**
     * Adopts a LUKS2 disk made by {@code cryptsetup luksFormat} (or {@code cryptsetup reencrypt
     * --encrypt}): opens a keyslot with the passphrase, has the key manager wrap that volume
     * key under encryption set {@code setId} ({@link KeyManager#importDisk}) and adds the
     * {@value Luks2Metadata#ENVELOPE_TOKEN_TYPE} token to the header, with the header's UUID
     * as the disk id; from then on {@link #open} opens the disk through the key manager. The
     * data is not touched and the keyslots stay as they are, so cryptsetup still opens the
     * disk with the passphrase.
     *
     * <p>Every {@code luks2} keyslot is tried, in order, and the key it yields is checked
     * against the header's digest (LUKS2 4.3). The one write is one {@link Luks2Header#update}
     * (primary copy with seqid + 1, synced, then the secondary, synced): a crash at any moment
     * leaves either the old header, where the disk is not adopted and can be adopted again,
     * or the new one; cryptsetup reads either.
     *
     * @param header     its detached header file, or null when the header is at its start
     * @param setId      a registered PLATFORM or CUSTOMER set (DOUBLE would need the data
     *                   re-encrypted under a second key)
     * @param passphrase a keyslot's passphrase; read, not kept or cleared (the caller clears it)
     * @return the adopted volume, open for reading and writing
     * @throws WrongPassphraseException if the passphrase opens no keyslot
     * @throws IllegalArgumentException if a file does not exist, or the set is not registered
     *         or is DOUBLE (refused before any KDF runs)
     * @throws Luks2FormatException naming the disk: not LUKS2 (LUKS1 is named as such), already
     *         adopted, a key other than AES-256-XTS (512 bits), a segment layout or a keyslot
     *         this reader does not support, an unfinished cryptsetup reencryption, a corrupt
     *         header
     * @throws VolumeInUseException if the disk or its header is open elsewhere
     * @throws IllegalStateException if the keyslots that could open it use Argon2 and the
     *         policy is FIPS, or Argon2 needs more heap than there is
     * @throws io.sectorcrypt.keys.KeyUnavailableException if the set's key cannot wrap
     * @throws UncheckedIOException on an I/O error (the header is then the old or the new one)
     */
    public EncryptedVolume adopt(Path path, Path header, String setId, char[] passphrase)
            throws WrongPassphraseException {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(setId, "setId");
        Objects.requireNonNull(passphrase, "passphrase");
        String name = path.toString();
        try {
            keys.checkImport(setId);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot adopt " + name + ": " + e.getMessage(), e);
        }
        // The channels close (and their locks go) before open() locks the disk again, as in create.
        try (FileChannel data = openChannel(path, false);
             FileChannel detached = header == null ? null : openChannel(header, false)) {
            lock(data, name, false);
            FileChannel hc = data;
            String headerName = name;
            if (detached != null) {
                lock(detached, header.toString(), false);
                hc = detached;
                headerName = header.toString();
            }
            Luks2Header h = Luks2Header.read(hc, headerName, policy);
            Luks2Metadata m = h.metadata();
            if (m.envelope().isPresent()) {
                throw new Luks2FormatException(name + " already has a SectorCrypt envelope token (encryption set '"
                        + m.envelope().get().setId() + "'): it is adopted; open it");
            }
            if (m.requiresOuterLayer() || m.token(OuterLayerToken.TYPE).isPresent()) {
                // Its data has an outer HCTR2 layer whose key no keyslot holds: importing the
                // keyslot's (inner) key would write a one-layer envelope that open then refuses.
                throw new Luks2FormatException(name + " is a DOUBLE disk's (its header has the "
                        + Luks2Metadata.OUTER_LAYER_REQUIREMENT + " requirement or token): its data has an outer"
                        + " layer whose key no keyslot holds, so it cannot be adopted");
            }
            dataSize(name, m, data.size(), header != null);
            List<Integer> slots = passphraseKeyslots(name, m);
            String uuid = h.uuid();
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment volumeKey = unlock(hc, name, m, slots, passphrase, arena);
                try {
                    store.registerPending(uuid);
                    try {
                        keys.importDisk(uuid, setId, volumeKey);
                        h.update(m.withEnvelope(store.read(uuid).orElseThrow()));
                    } finally {
                        store.unregister(uuid);
                    }
                } finally {
                    volumeKey.fill((byte) 0);
                }
            }
            LOG.log(Level.INFO, "adopted {0} (LUKS2 {1}) into encryption set {2}: its volume key is now wrapped in"
                    + " its envelope token; no data was re-encrypted, its keyslots are unchanged", name, uuid, setId);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot adopt " + name, e);
        }
        return open(path, header, false);
    }

    /**
     * The keyslots a passphrase can open: type {@code luks2}, of a 64-byte key. Refuses a
     * disk that has none, naming a smaller key (XTS-AES-128) when that is why.
     */
    private static List<Integer> passphraseKeyslots(String name, Luks2Metadata m) {
        List<Integer> slots = new ArrayList<>();
        int otherKeyBits = 0;
        for (int slot : m.keyslots()) {
            ObjectNode json = m.keyslot(slot);
            if (!json.path("type").asText().equals("luks2")) {
                continue;
            }
            int keyBytes = json.path("key_size").asInt();
            if (keyBytes == XtsKey.AES_256_XTS_KEY_BYTES) {
                slots.add(slot);
            } else {
                otherKeyBits = keyBytes * 8;
            }
        }
        if (slots.isEmpty()) {
            throw new Luks2FormatException(otherKeyBits != 0
                    ? name + " is encrypted with " + Luks2Metadata.CIPHER + " under a " + otherKeyBits + "-bit key;"
                            + " SectorCrypt does XTS-AES-256 only (a 512-bit key)"
                    : name + " has no passphrase keyslot (type luks2) to open it by");
        }
        return slots;
    }

    /** The volume key, from the first keyslot the passphrase opens (checked against the digest). */
    private MemorySegment unlock(FileChannel header, String name, Luks2Metadata m, List<Integer> slots,
            char[] passphrase, Arena arena) throws WrongPassphraseException, IOException {
        RuntimeException cannotTry = null;
        for (int slot : slots) {
            ObjectNode json = m.keyslot(slot);
            PassphraseKeyslot.Area area;
            try {
                area = PassphraseKeyslot.validate(json);
            } catch (Luks2FormatException e) {
                throw new Luks2FormatException(name + ": keyslot " + slot + ": " + e.getMessage());
            }
            // The split key of a 64-byte volume key, not the whole area: its size is the header's to say.
            ByteBuffer bytes = ByteBuffer.allocate((int) PassphraseKeyslot.areaSize(XtsKey.AES_256_XTS_KEY_BYTES));
            while (bytes.hasRemaining()) {
                if (header.read(bytes, area.offset() + bytes.position()) < 0) {
                    throw new Luks2FormatException(name + ": the area of keyslot " + slot + " lies beyond the end of"
                            + " its header device");
                }
            }
            try {
                MemorySegment key = PassphraseKeyslot.unlock(json, MemorySegment.ofArray(bytes.array()), passphrase,
                        m.digest(), policy, arena);
                LOG.log(Level.DEBUG, "{0}: keyslot {1} opened", name, slot);
                return key;
            } catch (WrongPassphraseException e) {
                // the next keyslot may hold another passphrase
            } catch (IllegalStateException | IllegalArgumentException e) {
                // FIPS refusing Argon2 or a short passphrase, or too little heap: another keyslot may do
                if (cannotTry == null) {
                    cannotTry = e instanceof IllegalStateException ? new IllegalStateException(name + ": keyslot "
                            + slot + ": " + e.getMessage(), e) : new IllegalArgumentException(name + ": keyslot " + slot
                                    + ": " + e.getMessage(), e);
                }
            }
        }
        if (cannotTry != null) {
            throw cannotTry;
        }
        throw new WrongPassphraseException("the passphrase opens no keyslot of " + name + " (tried keyslots " + slots
                + ")");
    }

    // -- open --------------------------------------------------------------------------

    /**
     * Opens a volume whose header is at its start, for reading and writing.
     *
     * @throws IllegalArgumentException if there is no such file
     * @throws Luks2FormatException if it is not a LUKS2 volume of ours, or its header is
     *         corrupt (the message names the disk and what is wrong)
     * @throws VolumeInUseException if it is open elsewhere
     * @throws io.sectorcrypt.keys.KeyUnavailableException if its key cannot be used
     */
    public EncryptedVolume open(Path path) {
        return open(path, null, false);
    }

    /**
     * Opens a volume; {@code header} is its detached header file, or null when the header is
     * at the start of {@code path}; {@code readOnly} opens it for reading only (a shared
     * lock, no header repair, no re-wrap).
     */
    public EncryptedVolume open(Path path, Path header, boolean readOnly) {
        Objects.requireNonNull(path, "path");
        String name = path.toString();
        List<FileLock> locks = new ArrayList<>();
        FileChannel data = null;
        FileChannel headerChannel = null;
        String uuid = null;
        try {
            data = openChannel(path, readOnly);
            locks.add(lock(data, name, readOnly));
            headerChannel = header == null ? data : openChannel(header, readOnly);
            if (header != null) {
                locks.add(lock(headerChannel, header.toString(), readOnly));
            }
            Luks2Header h = Luks2Header.read(headerChannel, header == null ? name : header.toString(), policy);
            Luks2Metadata m = h.metadata();
            DiskKeys envelope = m.envelope().orElseThrow(() -> new Luks2FormatException(name + " is a LUKS2 disk"
                    + " without a SectorCrypt envelope token: its key is not managed by SectorCrypt"));
            if (!envelope.diskId().equals(h.uuid())) {
                throw new Luks2FormatException(name + ": its envelope token belongs to disk " + envelope.diskId()
                        + ", not to this header's UUID " + h.uuid());
            }
            long size = dataSize(name, m, data.size(), header != null);
            Optional<SnapshotToken> snapshot = SnapshotToken.read(m, name);
            if (snapshot.isPresent() && snapshot.get().info().kind() == SnapshotKind.INCREMENTAL) {
                throw new IllegalArgumentException(name + " is an incremental snapshot: it holds only the chunks"
                        + " written since its parent; restore its chain into a new disk to read it");
            }
            if (snapshot.isPresent() && !readOnly) {
                throw new IllegalArgumentException(name + " is a snapshot, which never changes: open it read-only, or"
                        + " restore it into a new disk");
            }
            if (!readOnly && h.needsRepair()) {
                LOG.log(Level.INFO, "{0}: one copy of its LUKS2 header was damaged or stale; rewrote both", name);
                h.repair();
            }
            uuid = h.uuid();
            store.register(uuid, h, readOnly);
            AttachedDisk disk = attachVerified(uuid, name, m);
            Path headerPath = header != null ? header : path;
            ChangedBlockMap changes = readOnly ? null : ChangedBlockMap.load(ChangedBlockMap.beside(headerPath), name,
                    uuid, ChangedBlockMap.chunksOf(size));
            EncryptedVolume v = new EncryptedVolume(this, name, uuid, data, headerChannel, locks, h, m.segment(),
                    readOnly, Files.isRegularFile(path), size, new VolumeKey.Managed(this, name, h, disk,
                            reattachInterval), queue, headerPath, changes);
            open.add(v);
            return v;
        } catch (RuntimeException | IOException e) {
            if (uuid != null) {
                detach(uuid);
            }
            for (FileLock l : locks) {
                try {
                    l.release();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            closeQuietly(data, e);
            if (headerChannel != data) {
                closeQuietly(headerChannel, e);
            }
            if (e instanceof IOException io) {
                throw new UncheckedIOException("cannot open " + name, io);
            }
            throw (RuntimeException) e;
        }
    }

    /**
     * What a volume's header says, without opening it for I/O or touching its keys.
     *
     * @throws Luks2FormatException if it is not a LUKS2 disk or its header is corrupt
     */
    public static VolumeInfo inspect(Path path, Path header) {
        String name = path.toString();
        try (FileChannel data = openChannel(path, true);
             FileChannel h = header == null ? null : openChannel(header, true)) {
            Luks2Header luks = Luks2Header.read(h == null ? data : h, header == null ? name : header.toString(),
                    CryptoPolicy.DEFAULT);
            return VolumeInfo.of(name, header != null, luks, dataSize(name, luks.metadata(), data.size(), header != null));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + name, e);
        }
    }

    // -- snapshots ---------------------------------------------------------------------

    /**
     * The snapshots a volume's catalogue lists, oldest first (each with the path it was taken
     * to; the file may have been moved or deleted since). None before the first snapshot.
     *
     * @param header the volume's detached header file, or null
     * @throws Luks2FormatException if {@code path} is not a LUKS2 disk
     * @throws IllegalArgumentException if the catalogue is damaged or another volume's
     */
    public static List<SnapshotInfo> snapshots(Path path, Path header) {
        VolumeInfo v = inspect(path, header);
        return SnapshotCatalog.read(SnapshotCatalog.beside(header != null ? header : path), v.uuid());
    }

    /**
     * What a snapshot file's token says, checked (an incremental one's chunk map too); no key
     * is needed.
     *
     * @throws IllegalArgumentException if there is no such file, or it is a LUKS2 disk but not
     *         a snapshot
     * @throws Luks2FormatException if it is not a LUKS2 image, or its header or token is damaged
     */
    public static SnapshotInfo inspectSnapshot(Path path) {
        try (SnapshotFile f = SnapshotFile.open(path, CryptoPolicy.DEFAULT)) {
            return f.info();
        }
    }

    /**
     * Makes a new disk at {@code target} from a chain of snapshots: a full one, then any
     * incremental ones, each following the one before (as {@link #snapshots} lists them). The
     * disk is exactly the volume at the last snapshot's point in time. It keeps the volume's
     * key, wrapped as it was in the last snapshot, under a new LUKS2 UUID; its recovery
     * passphrase, if the volume had one, still opens it. The key must be usable: a revoked
     * key fails the restore before any data is copied. Nothing appears at {@code target}
     * until the disk is complete and synced.
     *
     * @param progress told the bytes copied so far, of the disk's size
     * @return the new disk, open for reading and writing
     * @throws IllegalArgumentException if the chain is empty, does not start with a full
     *         snapshot, skips or reorders a link, mixes volumes, or {@code target} exists
     * @throws Luks2FormatException if a snapshot file is damaged (its chunk map included)
     * @throws io.sectorcrypt.keys.KeyUnavailableException if the key cannot be used
     * @throws UncheckedIOException on an I/O error (nothing is left behind)
     */
    public EncryptedVolume restore(List<Path> chain, Path target, Progress progress) {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(progress, "progress");
        if (chain == null || chain.isEmpty()) {
            throw new IllegalArgumentException("a restore needs at least one snapshot, a full one");
        }
        String name = target.toString();
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException(name + " exists; refusing to overwrite it");
        }
        VolumeFiles.checkDirectory(target, "the restored disk");
        VolumeFiles.checkNotSidecar(target, "the restored disk");
        List<SnapshotFile> files = new ArrayList<>();
        String uuid = UUID.randomUUID().toString();
        Path temp = VolumeFiles.hiddenBeside(target, "restoring-" + uuid.substring(0, 8));
        boolean registered = false;
        boolean done = false;
        try {
            for (Path p : chain) {
                files.add(SnapshotFile.open(p, policy));
            }
            SnapshotFile.checkChain(files);
            SnapshotFile last = files.get(files.size() - 1);
            Luks2Metadata lastMeta = last.metadata();
            DiskKeys wrapped = lastMeta.envelope().orElseThrow();
            if (keys.set(wrapped.setId()).isEmpty()) {
                throw new IllegalArgumentException("the snapshots' encryption set '" + wrapped.setId() + "' is not"
                        + " registered");
            }
            DiskKeys restored = new DiskKeys(uuid, wrapped.setId(), wrapped.layers());
            store.registerPending(uuid);
            registered = true;
            store.write(restored);
            try {
                attachVerified(uuid, name, lastMeta); // the key must be usable before anything is copied
            } catch (KeyUnavailableException e) {
                throw e.whileDoing("cannot restore " + name + " from " + chain.get(chain.size() - 1)
                        + ", whose key is wrapped under " + wrapped.layers().get(0).current().keyReference());
            }
            long size = last.info().volumeSize();
            long dataOffset = lastMeta.segment().offset();
            Luks2Metadata meta = lastMeta.withoutToken(SnapshotToken.TYPE).withEnvelope(restored)
                    .withSegment(dataOffset, size);
            try (FileChannel out = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE)) {
                last.copyKeyslotsArea(out);
                Luks2Header.formatNewFile(out, name, uuid, last.label(), meta, policy);
                SnapshotFile.copyChain(files, out, dataOffset, progress);
                VolumeFiles.extend(out, dataOffset + size);
            }
            VolumeFiles.publish(temp, target);
            store.unregister(uuid); // open() registers the header-backed entry; the keys stay attached
            registered = false;
            LOG.log(Level.DEBUG, "restored {0} from {1} snapshot(s) ({2} bytes)", name, chain.size(), size);
            EncryptedVolume v = open(target, null, false);
            done = true;
            return v;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot restore " + name, e);
        } finally {
            for (SnapshotFile f : files) {
                f.close();
            }
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                LOG.log(Level.WARNING, "could not remove {0}: {1}", temp, e.getMessage());
            }
            if (!done) {
                keys.detach(uuid);
                if (registered) {
                    store.unregister(uuid);
                }
            }
        }
    }

    /**
     * The data size in bytes, and the layout rules both {@link #open} and {@link #inspect}
     * apply: data behind an attached header starts after its keyslots area; the IV offset is
     * whole sectors; a "dynamic" segment runs to the end of the device, whole sectors.
     */
    private static long dataSize(String name, Luks2Metadata m, long deviceSize, boolean detached) {
        Luks2Metadata.CryptSegment seg = m.segment();
        if (!detached && seg.offset() < m.keyslotsEnd()) {
            throw new Luks2FormatException(name + ": its data would start at " + seg.offset()
                    + ", inside its own header (which ends at " + m.keyslotsEnd() + ")");
        }
        if (Long.remainderUnsigned(seg.ivTweak(), IvConvention.PLAIN64.ivStep(seg.sectorSize())) != 0) {
            throw new Luks2FormatException(name + ": an iv_tweak of " + Long.toUnsignedString(seg.ivTweak())
                    + " that is not a whole " + seg.sectorSize() + "-byte sector is not supported");
        }
        long size = seg.dynamic() ? (deviceSize - seg.offset()) / seg.sectorSize() * seg.sectorSize() : seg.size();
        if (size <= 0) {
            throw new Luks2FormatException(name + " has no room for data after offset " + seg.offset() + " (the device"
                    + " holds " + deviceSize + " bytes)");
        }
        return size;
    }

    /**
     * Attaches a disk's keys and checks them against the header: the XTS key against the
     * LUKS2 digest of segment 0, and on a DOUBLE disk the outer key against the digest in
     * its {@link OuterLayerToken}.
     */
    AttachedDisk attachVerified(String diskId, String name, Luks2Metadata metadata) {
        Optional<OuterLayerToken> outer = OuterLayerToken.read(metadata, name);
        AttachedDisk disk = keys.attach(diskId);
        String wrong = null;
        if (!disk.key().withKeyBytes(k -> metadata.digest().matches(k, policy))) {
            wrong = "the key its envelope token unwraps does not match the header's LUKS2 digest";
        } else if (disk.hasOuterLayer() != outer.isPresent()) {
            wrong = "its keys have " + disk.roles().size() + " layer(s) but its header describes "
                    + (outer.isPresent() ? 2 : 1);
        } else if (outer.isPresent() && !outer.get().matches(disk.outerKey(), policy)) {
            wrong = "the outer key its envelope token unwraps does not match the digest of its "
                    + OuterLayerToken.TYPE + " token";
        }
        if (wrong != null) {
            keys.detach(diskId);
            throw new Luks2FormatException(name + ": " + wrong + " (the token belongs to another disk, or the header"
                    + " was altered)");
        }
        return disk;
    }

    CryptoPolicy policy() {
        return policy;
    }

    /** Called by a closing volume, which then releases its key (see {@link VolumeKey#release}). */
    void release(EncryptedVolume v) {
        open.remove(v);
    }

    /** Forgets a disk's keys (the key manager zeroes them) and its header. */
    void detach(String diskId) {
        keys.detach(diskId);
        store.unregister(diskId);
    }

    private static FileChannel openChannel(Path path, boolean readOnly) throws IOException {
        try {
            return readOnly ? PosixFileChannel.openFile(path, StandardOpenOption.READ)
                    : PosixFileChannel.openFile(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException(path + " does not exist");
        }
    }

    private static FileLock lock(FileChannel channel, String name, boolean shared) throws IOException {
        FileLock l;
        try {
            l = channel.tryLock(0, Long.MAX_VALUE, shared);
        } catch (OverlappingFileLockException e) {
            throw new VolumeInUseException(name + " is already open in this process");
        }
        if (l == null) {
            throw new VolumeInUseException(name + " is in use by another process");
        }
        return l;
    }

    private static void closeQuietly(FileChannel ch, Exception primary) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException e) {
                primary.addSuppressed(e);
            }
        }
    }

    /** Closes every open volume, zeroes every cached key and stops the queue if it is ours. */
    @Override
    public void close() {
        RuntimeException first = null;
        for (EncryptedVolume v : List.copyOf(open)) {
            try {
                v.close();
            } catch (RuntimeException e) {
                if (first == null) {
                    first = e;
                } else {
                    first.addSuppressed(e);
                }
            }
        }
        keys.close();
        if (ownsQueue) {
            queue.close();
        }
        if (first != null) {
            throw first;
        }
    }
}
