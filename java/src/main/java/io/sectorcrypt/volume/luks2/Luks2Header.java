package io.sectorcrypt.volume.luks2;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.io.EOFException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.Arrays;
import java.util.Objects;

/**
 * Both copies of a LUKS2 header on a device or header file, read and updated the crash-safe
 * way of the LUKS2 specification (sections 2.1, 4 and 4.5): every update writes the primary
 * copy with {@code seqid + 1} and syncs it, then the secondary, and syncs it; a read checks
 * both and takes the valid copy with the higher seqid, so a crash at any point leaves the
 * old or the new version readable. Both copies bad is a {@link Luks2FormatException}.
 *
 * <p>Thread-safe: updates are serialised on this object. The channel belongs to the caller.
 */
public final class Luks2Header {
    private static final int SALT_OFF = 104;
    private static final int SALT_LEN = 64;

    private final FileChannel channel;
    private final String name;
    private final CryptoPolicy policy;
    private volatile Luks2BinaryHeader binary;
    private volatile Luks2Metadata metadata;
    private byte[] primarySalt;
    private byte[] secondarySalt;
    private boolean needsRepair;

    private Luks2Header(FileChannel channel, String name, CryptoPolicy policy) {
        this.channel = channel;
        this.name = name;
        this.policy = policy;
    }

    /**
     * Writes a new header (both copies, seqid 1) at the start of {@code channel}.
     *
     * @param name the disk's name for messages (its path)
     * @param uuid the LUKS2 UUID (a canonical random UUID), also the disk id
     * @throws Luks2FormatException if the metadata does not fit its JSON area
     * @throws UncheckedIOException on an I/O error
     */
    public static Luks2Header format(FileChannel channel, String name, String uuid, String label,
            Luks2Metadata metadata, CryptoPolicy policy) {
        return format(channel, name, uuid, label, metadata, policy, true);
    }

    /**
     * Writes a new header as {@link #format} does, without syncing: for a new file under a
     * hidden name, which its caller syncs once, whole, before giving it its real name (a
     * snapshot, a restored disk). Later updates sync as usual.
     */
    public static Luks2Header formatNewFile(FileChannel channel, String name, String uuid, String label,
            Luks2Metadata metadata, CryptoPolicy policy) {
        return format(channel, name, uuid, label, metadata, policy, false);
    }

    private static Luks2Header format(FileChannel channel, String name, String uuid, String label,
            Luks2Metadata metadata, CryptoPolicy policy, boolean sync) {
        Luks2Header h = new Luks2Header(channel, name, policy);
        h.binary = new Luks2BinaryHeader(true, metadata.hdrSize(), 1, label, uuid, "", 0);
        h.primarySalt = h.newSalt();
        h.secondarySalt = h.newSalt();
        h.write(metadata, sync);
        return h;
    }

    /**
     * Reads and checks both copies; takes the valid one with the higher seqid.
     *
     * @throws Luks2FormatException naming the disk: not a LUKS2 device, or neither copy valid
     * @throws UncheckedIOException on an I/O error
     */
    public static Luks2Header read(FileChannel channel, String name, CryptoPolicy policy) {
        Luks2Header h = new Luks2Header(channel, name, policy);
        h.load();
        return h;
    }

    private void load() {
        Copy primary = readCopy(0, true);
        long secondaryAt = primary.binary != null ? primary.binary.hdrSize() : -1;
        Copy secondary = secondaryAt > 0 ? readCopy(secondaryAt, false) : scanForSecondary();
        if (primary.luks1 && secondary.metadata == null) {
            throw new Luks2FormatException(name + " is a LUKS1 disk; SectorCrypt reads LUKS2 only (convert it with"
                    + " 'cryptsetup convert --type luks2' first)");
        }
        if (primary.metadata == null && secondary.metadata == null) {
            if (primary.noMagic && secondary.noMagic) {
                throw new Luks2FormatException(name + " is not a LUKS2 disk: no LUKS header at its start");
            }
            if (primary.error != null && primary.error.equals(secondary.error)) {
                // Two copies refused for the same reason are one header this reader does not take
                // (say, an unfinished reencryption), not damage: say the reason once.
                throw new Luks2FormatException(name + ": " + primary.error);
            }
            throw new Luks2FormatException(name + ": neither copy of its LUKS2 header is valid (primary: "
                    + primary.error + "; secondary: " + secondary.error + ")");
        }
        boolean takeSecondary = primary.metadata == null
                || (secondary.metadata != null && Long.compareUnsigned(secondary.binary.seqid(),
                        primary.binary.seqid()) > 0);
        Copy chosen = takeSecondary ? secondary : primary;
        this.binary = takeSecondary ? chosen.binary.otherCopy() : chosen.binary;
        this.metadata = chosen.metadata;
        this.primarySalt = primary.salt != null ? primary.salt : newSalt();
        this.secondarySalt = secondary.salt != null ? secondary.salt : newSalt();
        this.needsRepair = primary.metadata == null || secondary.metadata == null
                || primary.binary.seqid() != secondary.binary.seqid() || primary.binary.hdrSize() != secondary.binary
                        .hdrSize() || !Arrays.equals(primary.json, secondary.json);
    }

    private record Copy(Luks2BinaryHeader binary, Luks2Metadata metadata, byte[] json, byte[] salt, String error,
            boolean noMagic, boolean luks1) {
        Copy(Luks2BinaryHeader binary, Luks2Metadata metadata, byte[] json, byte[] salt, String error,
                boolean noMagic) {
            this(binary, metadata, json, salt, error, noMagic, false);
        }
    }

    private Copy readCopy(long offset, boolean primary) {
        byte[] first;
        try {
            first = readFully(offset, Luks2BinaryHeader.BINARY_HEADER_BYTES);
        } catch (EOFException e) {
            return new Copy(null, null, null, null, "the device ends before offset " + (offset + 4096), true);
        }
        if (!Luks2BinaryHeader.hasMagic(first)) {
            return new Copy(null, null, null, null, "no LUKS2 magic at offset " + offset, true);
        }
        if (primary && Luks2BinaryHeader.version(first) == 1) {
            return new Copy(null, null, null, null, "a LUKS1 header", false, true);
        }
        Luks2BinaryHeader b;
        try {
            b = Luks2BinaryHeader.parse(first, offset);
            if (b.primary() != primary) {
                throw new Luks2FormatException("the " + (primary ? "secondary" : "primary") + " magic at offset "
                        + offset);
            }
        } catch (Luks2FormatException e) {
            return new Copy(null, null, null, null, e.getMessage(), false);
        }
        byte[] salt = Arrays.copyOfRange(first, SALT_OFF, SALT_OFF + SALT_LEN);
        try {
            byte[] whole = readFully(offset, (int) b.hdrSize());
            byte[] json = b.verifiedJson(whole);
            return new Copy(b, Luks2Metadata.parse(json, b.hdrSize()), json, salt, null, false);
        } catch (EOFException e) {
            return new Copy(b, null, null, salt, "the device ends inside this header", false);
        } catch (Luks2FormatException e) {
            return new Copy(b, null, null, salt, e.getMessage(), false);
        }
    }

    /** The primary is unreadable: look for the secondary at every offset LUKS2 allows (4.5). */
    private Copy scanForSecondary() {
        Copy last = new Copy(null, null, null, null, "no secondary header found", true);
        for (long offset : Luks2BinaryHeader.HDR_SIZES) {
            Copy c = readCopy(offset, false);
            if (c.metadata != null) {
                return c;
            }
            if (!c.noMagic) {
                last = c;
            }
        }
        return last;
    }

    public Luks2BinaryHeader binary() {
        return binary;
    }

    public Luks2Metadata metadata() {
        return metadata;
    }

    public String uuid() {
        return binary.uuid();
    }

    /** Whether one copy is damaged or older than the other (see {@link #repair()}). */
    public synchronized boolean needsRepair() {
        return needsRepair;
    }

    /** Rewrites both copies from the valid one, with fresh salts (section 4.5). */
    public synchronized void repair() {
        if (needsRepair) {
            primarySalt = newSalt();
            secondarySalt = newSalt();
            update(metadata);
        }
    }

    /**
     * Replaces the metadata: both copies, seqid + 1, each synced before the next is written.
     *
     * @throws Luks2FormatException if the new metadata does not fit the JSON area
     * @throws UncheckedIOException on an I/O error (the header is then the old or the new one)
     */
    public synchronized void update(Luks2Metadata next) {
        Objects.requireNonNull(next, "metadata");
        if (next.hdrSize() != binary.hdrSize()) {
            throw new IllegalArgumentException("the header size cannot change in an update");
        }
        binary = binary.withSeqid(binary.seqid() + 1);
        write(next, true);
    }

    private void write(Luks2Metadata next, boolean sync) {
        byte[] json = next.toJson();
        byte[] first = binary.seal(json, primarySalt);
        byte[] second = binary.otherCopy().seal(json, secondarySalt);
        try {
            writeFully(0, first);
            if (sync) {
                channel.force(true);
            }
            writeFully(binary.hdrSize(), second);
            if (sync) {
                channel.force(true);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the LUKS2 header of " + name, e);
        }
        metadata = next;
        needsRepair = false;
    }

    private byte[] newSalt() {
        byte[] salt = new byte[SALT_LEN];
        policy.randomBytes(salt);
        return salt;
    }

    private byte[] readFully(long offset, int length) throws EOFException {
        ByteBuffer b = ByteBuffer.allocate(length);
        try {
            while (b.hasRemaining()) {
                if (channel.read(b, offset + b.position()) < 0) {
                    throw new EOFException();
                }
            }
        } catch (EOFException e) {
            throw e;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the LUKS2 header of " + name, e);
        }
        return b.array();
    }

    private void writeFully(long offset, byte[] data) throws IOException {
        ByteBuffer b = ByteBuffer.wrap(data);
        while (b.hasRemaining()) {
            channel.write(b, offset + b.position());
        }
    }

    @Override
    public String toString() {
        return "Luks2Header[" + name + ", " + binary + "]";
    }
}
