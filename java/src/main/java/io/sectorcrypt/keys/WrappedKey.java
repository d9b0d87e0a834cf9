package io.sectorcrypt.keys;

import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;
import java.util.zip.CRC32C;

/**
 * A data-encryption key wrapped by a vault key, with everything needed to find that key
 * again. Its binary form (version 1), all integers big-endian:
 *
 * <pre>
 *  size  field
 *  4     magic "SCWK"
 *  1     format version: 1
 *  1     algorithm: 1 AES-KWP (RFC 5649), 2 RSA-OAEP-256, 3 RSA-OAEP (SHA-1)
 *  1+V   vault id: length V (1..64), then V bytes of UTF-8
 *  1+N   key name: length N (1..127), then N bytes of UTF-8
 *  4     key version (1..2^31-1)
 *  2+W   wrapped key: length W (16..1024), then W bytes
 *  4     CRC-32C of every byte before it
 * </pre>
 *
 * At most {@value #MAX_ENCODED_BYTES} bytes. The checksum catches storage corruption; it is
 * not what makes the record trustworthy: the wrap itself is authenticated (the RFC 5649
 * integrity check, OAEP's padding check), so a record altered on purpose fails to unwrap.
 * Every parse error, whatever its cause, is one {@link InvalidWrappedKeyException}.
 */
public record WrappedKey(WrapAlgorithm algorithm, String vaultId, String keyName, int keyVersion, byte[] wrapped) {
    static final byte[] MAGIC = {'S', 'C', 'W', 'K'};
    static final int FORMAT_VERSION = 1;
    static final int MIN_WRAPPED = 16;
    static final int MAX_WRAPPED = 1024;
    public static final int MAX_ENCODED_BYTES = 4 + 1 + 1 + 1 + Names.MAX_VAULT_ID * 4 + 1 + Names.MAX_KEY_NAME * 4
            + 4 + 2 + MAX_WRAPPED + 4;

    public WrappedKey {
        Objects.requireNonNull(algorithm, "algorithm");
        Names.vaultId(vaultId);
        Names.keyName(keyName);
        if (keyVersion < 1) {
            throw new IllegalArgumentException("key version must be at least 1, not " + keyVersion);
        }
        if (wrapped.length < MIN_WRAPPED || wrapped.length > MAX_WRAPPED) {
            throw new IllegalArgumentException("a wrapped key is " + MIN_WRAPPED + ".." + MAX_WRAPPED + " bytes, not "
                    + wrapped.length);
        }
        wrapped = wrapped.clone();
    }

    @Override
    public byte[] wrapped() {
        return wrapped.clone();
    }

    /** The binary form described in the class comment. */
    public byte[] encode() {
        byte[] vault = vaultId.getBytes(StandardCharsets.UTF_8);
        byte[] name = keyName.getBytes(StandardCharsets.UTF_8);
        ByteBuffer out = ByteBuffer.allocate(4 + 1 + 1 + 1 + vault.length + 1 + name.length + 4 + 2 + wrapped.length + 4);
        out.put(MAGIC).put((byte) FORMAT_VERSION).put((byte) algorithm.code());
        out.put((byte) vault.length).put(vault);
        out.put((byte) name.length).put(name);
        out.putInt(keyVersion);
        out.putShort((short) wrapped.length).put(wrapped);
        CRC32C crc = new CRC32C();
        crc.update(out.array(), 0, out.position());
        out.putInt((int) crc.getValue());
        return out.array();
    }

    /** Parses the binary form; throws {@link InvalidWrappedKeyException} on any defect. */
    public static WrappedKey decode(byte[] encoded) {
        if (encoded == null || encoded.length < 4 + 1 + 1 + 2 + 2 + 4 + 2 + MIN_WRAPPED + 4
                || encoded.length > MAX_ENCODED_BYTES) {
            throw new InvalidWrappedKeyException();
        }
        try {
            ByteBuffer in = ByteBuffer.wrap(encoded);
            byte[] magic = new byte[4];
            in.get(magic);
            if (!Arrays.equals(magic, MAGIC) || in.get() != FORMAT_VERSION) {
                throw new InvalidWrappedKeyException();
            }
            WrapAlgorithm algorithm = WrapAlgorithm.ofCode(in.get());
            String vault = utf8(in, Byte.toUnsignedInt(in.get()));
            String name = utf8(in, Byte.toUnsignedInt(in.get()));
            int version = in.getInt();
            byte[] wrapped = new byte[Short.toUnsignedInt(in.getShort())];
            in.get(wrapped);
            int end = in.position();
            int checksum = in.getInt();
            CRC32C crc = new CRC32C();
            crc.update(encoded, 0, end);
            if (in.hasRemaining() || (int) crc.getValue() != checksum || algorithm == null) {
                throw new InvalidWrappedKeyException();
            }
            return new WrappedKey(algorithm, vault, name, version, wrapped);
        } catch (BufferUnderflowException | IllegalArgumentException | CharacterCodingException e) {
            throw new InvalidWrappedKeyException();
        }
    }

    private static String utf8(ByteBuffer in, int length) throws CharacterCodingException {
        ByteBuffer slice = in.slice(in.position(), length);
        in.position(in.position() + length);
        return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(slice).toString();
    }

    /** The key version this record needs, as "vault/name/version". */
    public String keyReference() {
        return vaultId + "/" + keyName + "/" + keyVersion;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof WrappedKey w && w.algorithm == algorithm && w.vaultId.equals(vaultId)
                && w.keyName.equals(keyName) && w.keyVersion == keyVersion && Arrays.equals(w.wrapped, wrapped);
    }

    @Override
    public int hashCode() {
        return Objects.hash(algorithm, vaultId, keyName, keyVersion, Arrays.hashCode(wrapped));
    }

    /** Names the algorithm and key; of the wrapped bytes only their length. */
    @Override
    public String toString() {
        return "WrappedKey[" + algorithm.label() + ", " + keyReference() + ", " + wrapped.length + " bytes]";
    }
}
