package io.sectorcrypt.volume.luks2;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * The 4096-byte LUKS2 binary header (LUKS2 On-Disk Format Specification 1.1.1, section 2.1):
 * big-endian integers, NUL-terminated strings, a SHA-256 checksum over the binary header
 * and the JSON area that follows it, computed with the checksum field zeroed.
 *
 * @param primary   true for the header at offset 0 (magic "LUKS\xba\xbe"), false for the
 *                  secondary copy (magic "SKUL\xba\xbe") at offset {@code hdrSize}
 * @param hdrSize   the binary header plus its JSON area, bytes: one of {@link #HDR_SIZES}
 * @param seqid     raised on every update; the valid copy with the higher one wins
 * @param hdrOffset where this copy sits on the device, bytes (0 or {@code hdrSize})
 */
public record Luks2BinaryHeader(boolean primary, long hdrSize, long seqid, String label, String uuid,
        String subsystem, long hdrOffset) {
    public static final int BINARY_HEADER_BYTES = 4096;
    /** Section 2.1, table 1: the only header sizes (and so secondary-header offsets) allowed. */
    public static final long[] HDR_SIZES = {16384, 32768, 65536, 131072, 262144, 524288, 1048576, 2097152, 4194304};
    /** The header size cryptsetup 2.x formats with: 12 KiB of JSON. */
    public static final long DEFAULT_HDR_SIZE = 16384;

    private static final byte[] MAGIC_1ST = {'L', 'U', 'K', 'S', (byte) 0xba, (byte) 0xbe};
    private static final byte[] MAGIC_2ND = {'S', 'K', 'U', 'L', (byte) 0xba, (byte) 0xbe};
    private static final int VERSION = 2;
    private static final int LABEL_OFF = 24, LABEL_LEN = 48;
    private static final int CSUM_ALG_OFF = 72, CSUM_ALG_LEN = 32;
    private static final int SALT_OFF = 104, SALT_LEN = 64;
    private static final int UUID_OFF = 168, UUID_LEN = 40;
    private static final int SUBSYSTEM_OFF = 208, SUBSYSTEM_LEN = 48;
    private static final int HDR_OFFSET_OFF = 256;
    private static final int PADDING_OFF = 264;
    private static final int CSUM_OFF = 448, CSUM_LEN = 64;
    private static final int USED_BYTES = 512;
    private static final String CSUM_ALG = "sha256";

    public Luks2BinaryHeader {
        checkHdrSize(hdrSize);
        checkText("label", label, LABEL_LEN);
        checkText("uuid", uuid, UUID_LEN);
        checkText("subsystem", subsystem, LABEL_LEN);
        if (hdrOffset != (primary ? 0 : hdrSize)) {
            throw new IllegalArgumentException("a " + (primary ? "primary" : "secondary") + " LUKS2 header sits at "
                    + (primary ? 0 : hdrSize) + ", not " + hdrOffset);
        }
    }

    /** Whether {@code bytes} starts with either copy's magic: a LUKS device (any version) or not. */
    public static boolean hasMagic(byte[] bytes) {
        return bytes.length >= 6 && (Arrays.equals(bytes, 0, 6, MAGIC_1ST, 0, 6)
                || Arrays.equals(bytes, 0, 6, MAGIC_2ND, 0, 6));
    }

    /** The LUKS version field of a header that {@link #hasMagic has the magic} (LUKS1 and LUKS2 share offset 6). */
    public static int version(byte[] first) {
        return first.length < 8 ? -1 : Short.toUnsignedInt(ByteBuffer.wrap(first).getShort(6));
    }

    /**
     * This header followed by {@code json} (NUL-padded to fill the JSON area), with a fresh
     * {@code salt} (64 bytes) and the checksum filled in: the {@code hdrSize} bytes to write
     * at {@code hdrOffset}.
     *
     * @throws Luks2FormatException if the JSON does not fit the area with its terminating NUL
     */
    public byte[] seal(byte[] json, byte[] salt) {
        if (salt.length != SALT_LEN) {
            throw new IllegalArgumentException("a LUKS2 header salt is " + SALT_LEN + " bytes");
        }
        if (json.length >= hdrSize - BINARY_HEADER_BYTES) {
            throw new Luks2FormatException("the LUKS2 metadata is " + json.length + " bytes; the JSON area holds at"
                    + " most " + (hdrSize - BINARY_HEADER_BYTES - 1));
        }
        byte[] out = new byte[(int) hdrSize];
        ByteBuffer b = ByteBuffer.wrap(out);
        b.put(primary ? MAGIC_1ST : MAGIC_2ND).putShort((short) VERSION).putLong(hdrSize).putLong(seqid);
        putText(out, LABEL_OFF, label);
        putText(out, CSUM_ALG_OFF, CSUM_ALG);
        System.arraycopy(salt, 0, out, SALT_OFF, SALT_LEN);
        putText(out, UUID_OFF, uuid);
        putText(out, SUBSYSTEM_OFF, subsystem);
        b.putLong(HDR_OFFSET_OFF, hdrOffset);
        System.arraycopy(json, 0, out, BINARY_HEADER_BYTES, json.length);
        System.arraycopy(sha256(out), 0, out, CSUM_OFF, 32);
        return out;
    }

    /**
     * Parses the first {@value #BINARY_HEADER_BYTES} bytes of a copy found at {@code offset};
     * refuses a wrong magic, version, size or offset, a checksum algorithm other than
     * sha256, an unterminated string or non-zero padding.
     */
    public static Luks2BinaryHeader parse(byte[] first, long offset) {
        if (first.length < BINARY_HEADER_BYTES) {
            throw new Luks2FormatException("the device is shorter than a LUKS2 binary header");
        }
        boolean primary;
        if (Arrays.equals(first, 0, 6, MAGIC_1ST, 0, 6)) {
            primary = true;
        } else if (Arrays.equals(first, 0, 6, MAGIC_2ND, 0, 6)) {
            primary = false;
        } else {
            throw new Luks2FormatException("no LUKS2 header magic at offset " + offset);
        }
        ByteBuffer b = ByteBuffer.wrap(first);
        int version = Short.toUnsignedInt(b.getShort(6));
        if (version != VERSION) {
            throw new Luks2FormatException("the header at offset " + offset + " is LUKS version " + version
                    + "; only LUKS2 is supported");
        }
        long hdrSize = b.getLong(8);
        long seqid = b.getLong(16);
        long hdrOffset = b.getLong(HDR_OFFSET_OFF);
        try {
            checkHdrSize(hdrSize);
        } catch (IllegalArgumentException e) {
            throw new Luks2FormatException("the header at offset " + offset + " declares " + e.getMessage());
        }
        if (hdrOffset != offset || hdrOffset != (primary ? 0 : hdrSize)) {
            throw new Luks2FormatException("the " + (primary ? "primary" : "secondary") + " header at offset " + offset
                    + " says it belongs at offset " + Long.toUnsignedString(hdrOffset) + " (header size " + hdrSize
                    + "): it is misplaced");
        }
        String csumAlg = getText(first, CSUM_ALG_OFF, CSUM_ALG_LEN, "checksum algorithm", offset);
        if (!CSUM_ALG.equals(csumAlg)) {
            throw new Luks2FormatException("the header at offset " + offset + " uses checksum algorithm '"
                    + printable(csumAlg) + "'; only sha256 is supported");
        }
        for (int i = PADDING_OFF; i < CSUM_OFF; i++) {
            if (first[i] != 0) {
                throw new Luks2FormatException("the header at offset " + offset + " has non-zero padding");
            }
        }
        for (int i = CSUM_OFF + 32; i < BINARY_HEADER_BYTES; i++) {
            if (first[i] != 0) {
                throw new Luks2FormatException("the header at offset " + offset + " has non-zero padding");
            }
        }
        return new Luks2BinaryHeader(primary, hdrSize, seqid, getText(first, LABEL_OFF, LABEL_LEN, "label", offset),
                getText(first, UUID_OFF, UUID_LEN, "uuid", offset),
                getText(first, SUBSYSTEM_OFF, SUBSYSTEM_LEN, "subsystem", offset), hdrOffset);
    }

    /**
     * Checks the checksum of a whole copy ({@code hdrSize} bytes) and returns its JSON text
     * (up to the NUL), refusing garbage after the NUL.
     */
    public byte[] verifiedJson(byte[] whole) {
        if (whole.length != hdrSize) {
            throw new IllegalArgumentException("need the whole " + hdrSize + "-byte header");
        }
        byte[] stored = Arrays.copyOfRange(whole, CSUM_OFF, CSUM_OFF + CSUM_LEN);
        byte[] zeroed = whole.clone();
        Arrays.fill(zeroed, CSUM_OFF, CSUM_OFF + CSUM_LEN, (byte) 0);
        byte[] actual = sha256(zeroed);
        if (!MessageDigest.isEqual(Arrays.copyOf(actual, 32), Arrays.copyOf(stored, 32))
                || !isZero(stored, 32, CSUM_LEN)) {
            throw new Luks2FormatException("the " + (primary ? "primary" : "secondary") + " header's checksum does not"
                    + " match its contents (seqid " + seqid + ")");
        }
        int end = BINARY_HEADER_BYTES;
        while (end < whole.length && whole[end] != 0) {
            end++;
        }
        if (end == whole.length) {
            throw new Luks2FormatException("the " + (primary ? "primary" : "secondary") + " header's JSON area is not"
                    + " NUL-terminated");
        }
        if (!isZero(whole, end, whole.length)) {
            throw new Luks2FormatException("the " + (primary ? "primary" : "secondary") + " header's JSON area has"
                    + " data after its terminating NUL");
        }
        return Arrays.copyOfRange(whole, BINARY_HEADER_BYTES, end);
    }

    /** The same header as the other copy: swapped magic and offset. */
    public Luks2BinaryHeader otherCopy() {
        return new Luks2BinaryHeader(!primary, hdrSize, seqid, label, uuid, subsystem, primary ? hdrSize : 0);
    }

    public Luks2BinaryHeader withSeqid(long newSeqid) {
        return new Luks2BinaryHeader(primary, hdrSize, newSeqid, label, uuid, subsystem, hdrOffset);
    }

    static void checkHdrSize(long hdrSize) {
        for (long allowed : HDR_SIZES) {
            if (allowed == hdrSize) {
                return;
            }
        }
        throw new IllegalArgumentException("header size " + Long.toUnsignedString(hdrSize)
                + " (LUKS2 allows 16 KiB .. 4 MiB, powers of two)");
    }

    /** The one rule for a label: what fits the 48-byte field, printable ASCII. */
    public static void checkLabel(String label) {
        checkText("label", label, LABEL_LEN);
    }

    private static void checkText(String what, String value, int fieldBytes) {
        if (value == null || value.length() >= fieldBytes || !value.chars().allMatch(c -> c >= 0x20 && c <= 0x7e)) {
            throw new IllegalArgumentException("a LUKS2 " + what + " is at most " + (fieldBytes - 1)
                    + " printable ASCII characters");
        }
    }

    private static void putText(byte[] out, int offset, String value) {
        byte[] b = value.getBytes(StandardCharsets.US_ASCII);
        System.arraycopy(b, 0, out, offset, b.length);
    }

    private static String getText(byte[] in, int offset, int length, String what, long headerOffset) {
        int end = offset;
        while (end < offset + length && in[end] != 0) {
            end++;
        }
        if (end == offset + length) {
            throw new Luks2FormatException("the header at offset " + headerOffset + " has an unterminated " + what);
        }
        if (!isZero(in, end, offset + length)) {
            throw new Luks2FormatException("the header at offset " + headerOffset + " has garbage after its " + what);
        }
        for (int i = offset; i < end; i++) {
            if (in[i] < 0x20 || in[i] > 0x7e) {
                throw new Luks2FormatException("the header at offset " + headerOffset + " has a non-ASCII " + what);
            }
        }
        return new String(in, offset, end - offset, StandardCharsets.US_ASCII);
    }

    private static boolean isZero(byte[] b, int from, int to) {
        int acc = 0;
        for (int i = from; i < to; i++) {
            acc |= b[i];
        }
        return acc == 0;
    }

    private static String printable(String s) {
        return s.length() > 32 ? s.substring(0, 32) + "..." : s;
    }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    @Override
    public String toString() {
        return "Luks2BinaryHeader[" + (primary ? "primary" : "secondary") + ", size " + hdrSize + ", seqid " + seqid
                + ", uuid " + uuid + "]";
    }

}
