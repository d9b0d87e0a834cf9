package io.sectorcrypt.keys;

import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.xts.XtsKey;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A disk's wrapped data-encryption keys: one {@link Layer} per DEK, each holding its wrapped
 * copies newest first. A single-layer disk has one XTS layer (its role says which key wraps
 * it); a DOUBLE disk has that layer first (the inner one, applied to the plaintext) and an
 * {@link Role#INFRASTRUCTURE} layer second (the outer HCTR2 layer). A layer holds two copies only while a rotation is
 * under way: the new one is made durable beside the old before the old is dropped, so a
 * crash at any point leaves a copy that unwraps.
 *
 * <p>Binary form (version 1), big-endian: "SCDK", format byte 1, disk id and set id (each a
 * length byte and UTF-8), layer count (1..2), per layer its role byte (1 customer, 2
 * platform, 3 infrastructure), copy count (1..2), per copy a 2-byte length and a {@link WrappedKey}; then a
 * CRC-32C of all before it. Any defect is one {@link InvalidWrappedKeyException}.
 */
public record DiskKeys(String diskId, String setId, List<Layer> layers) {
    private static final byte[] MAGIC = {'S', 'C', 'D', 'K'};
    private static final int FORMAT = 1;

    /** Which key protects a layer's DEK, and so what the DEK is for. */
    public enum Role {
        /** The disk's XTS-AES-256 DEK (64 bytes), wrapped under the customer's RSA key. */
        CUSTOMER(1, "customer", XtsKey.AES_256_XTS_KEY_BYTES),
        /** The disk's XTS-AES-256 DEK (64 bytes), wrapped under a platform AES key. */
        PLATFORM(2, "platform", XtsKey.AES_256_XTS_KEY_BYTES),
        /**
         * The outer layer of a DOUBLE disk: an HCTR2-AES-256 key (32 bytes), always wrapped
         * under the key manager's platform key, whatever wraps the inner layer.
         */
        INFRASTRUCTURE(3, "infrastructure", Hctr2Key.AES_256_KEY_BYTES);

        final int code;
        private final String label;
        private final int dekBytes;

        Role(int code, String label, int dekBytes) {
            this.code = code;
            this.label = label;
            this.dekBytes = dekBytes;
        }

        /** The name in headers and logs: "customer", "platform", "infrastructure". */
        public String label() {
            return label;
        }

        /** The role of {@code label}, or null if there is none. */
        public static Role ofLabel(String label) {
            for (Role r : values()) {
                if (r.label.equals(label)) {
                    return r;
                }
            }
            return null;
        }

        /** The size of this layer's DEK, bytes: 64 (XTS-AES-256) or 32 (HCTR2-AES-256). */
        public int dekBytes() {
            return dekBytes;
        }

        /** Whether this layer's DEK is an XTS key (the disk's own data key), not the outer HCTR2 key. */
        public boolean isXts() {
            return this != INFRASTRUCTURE;
        }
    }

    /** One DEK's wrapped copies, newest first. */
    public record Layer(Role role, List<WrappedKey> copies) {
        public Layer {
            Objects.requireNonNull(role, "role");
            copies = List.copyOf(copies);
            if (copies.isEmpty() || copies.size() > 2) {
                throw new IllegalArgumentException("a layer holds one or two wrapped copies, not " + copies.size());
            }
        }

        /** The newest copy: the one the disk is meant to use. */
        public WrappedKey current() {
            return copies.get(0);
        }

        Layer withNewCopy(WrappedKey newest) {
            return new Layer(role, List.of(newest, current()));
        }

        Layer withOnly(WrappedKey copy) {
            return new Layer(role, List.of(copy));
        }
    }

    public DiskKeys {
        Names.check("disk id", diskId, Names.MAX_KEY_NAME);
        Names.check("encryption set id", setId, Names.MAX_KEY_NAME);
        layers = List.copyOf(layers);
        if (layers.isEmpty() || layers.size() > 2) {
            throw new IllegalArgumentException("a disk has one or two key layers, not " + layers.size());
        }
        if (!layers.get(0).role().isXts()) {
            throw new IllegalArgumentException("a disk's first key layer is its XTS key (customer or platform), not "
                    + layers.get(0).role().label());
        }
        if (layers.size() == 2 && layers.get(1).role() != Role.INFRASTRUCTURE) {
            throw new IllegalArgumentException("a disk's second key layer is the outer (infrastructure) layer, not "
                    + layers.get(1).role().label());
        }
    }

    /** The layer of the disk's XTS key: its only layer, or the inner one of a DOUBLE disk. */
    public Layer xtsLayer() {
        return layers.get(0);
    }

    /** Whether the disk has the outer HCTR2 layer of a DOUBLE set. */
    public boolean hasOuterLayer() {
        return layers.size() == 2;
    }

    public Layer layer(Role role) {
        for (Layer l : layers) {
            if (l.role() == role) {
                return l;
            }
        }
        throw new IllegalArgumentException("disk '" + diskId + "' has no " + role + " layer");
    }

    DiskKeys replace(Layer layer) {
        List<Layer> updated = new ArrayList<>();
        for (Layer l : layers) {
            updated.add(l.role() == layer.role() ? layer : l);
        }
        return new DiskKeys(diskId, setId, updated);
    }

    public byte[] encode() {
        ByteBuffer out = ByteBuffer.allocate(16 + 2 * 256 + 4 * (2 + WrappedKey.MAX_ENCODED_BYTES) + 8);
        out.put(MAGIC).put((byte) FORMAT);
        putString(out, diskId);
        putString(out, setId);
        out.put((byte) layers.size());
        for (Layer l : layers) {
            out.put((byte) l.role().code).put((byte) l.copies().size());
            for (WrappedKey w : l.copies()) {
                byte[] encoded = w.encode();
                out.putShort((short) encoded.length).put(encoded);
            }
        }
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        byte[] result = new byte[out.position()];
        out.flip().get(result);
        return result;
    }

    public static DiskKeys decode(byte[] encoded) {
        try {
            ByteBuffer in = ByteBuffer.wrap(encoded);
            byte[] magic = new byte[4];
            in.get(magic);
            if (!java.util.Arrays.equals(magic, MAGIC) || in.get() != FORMAT) {
                throw new InvalidWrappedKeyException();
            }
            String disk = getString(in);
            String set = getString(in);
            int layerCount = in.get();
            List<Layer> layers = new ArrayList<>();
            for (int i = 0; i < layerCount && i < 3; i++) {
                int roleCode = in.get();
                Role role = null;
                for (Role r : Role.values()) {
                    role = r.code == roleCode ? r : role;
                }
                int copyCount = in.get();
                List<WrappedKey> copies = new ArrayList<>();
                for (int j = 0; j < copyCount && j < 3; j++) {
                    byte[] w = new byte[Short.toUnsignedInt(in.getShort())];
                    in.get(w);
                    copies.add(WrappedKey.decode(w));
                }
                if (role == null) {
                    throw new InvalidWrappedKeyException();
                }
                layers.add(new Layer(role, copies));
            }
            int end = in.position();
            int checksum = in.getInt();
            CRC32C crc = new CRC32C();
            crc.update(encoded, 0, end);
            if (in.hasRemaining() || (int) crc.getValue() != checksum) {
                throw new InvalidWrappedKeyException();
            }
            return new DiskKeys(disk, set, layers);
        } catch (BufferUnderflowException | IllegalArgumentException | NegativeArraySizeException e) {
            throw e instanceof InvalidWrappedKeyException i ? i : new InvalidWrappedKeyException();
        }
    }

    private static void putString(ByteBuffer out, String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.put((byte) b.length).put(b);
    }

    private static String getString(ByteBuffer in) {
        byte[] b = new byte[Byte.toUnsignedInt(in.get())];
        in.get(b);
        return new String(b, StandardCharsets.UTF_8);
    }
}
