package io.sectorcrypt.xts;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Reads the published vectors copied into src/test/resources/vectors (provenance in its
 * README.md): NIST CAVP XTSGenAES .rsp files and the IEEE 1619 / OpenSSL plain64 files.
 */
final class Vectors {
    private static final HexFormat HEX = HexFormat.of();

    /** One XTS data unit: key = key1 || key2, tweak = the 16-byte value i. */
    record Vector(String name, boolean encrypt, byte[] key, byte[] tweak, byte[] plain, byte[] cipher) {
        @Override
        public String toString() {
            return name;
        }
    }

    private Vectors() {
    }

    static String read(String resource) {
        try (InputStream in = Vectors.class.getResourceAsStream("/vectors/" + resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /vectors/" + resource);
            }
            return new String(in.readAllBytes(), StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * NIST CAVP XTSGenAES: [ENCRYPT]/[DECRYPT] sections of COUNT blocks. The tweak is either
     * "i = 32 hex" or "DataUnitSeqNumber = decimal" (a little-endian 128-bit number). Data
     * units whose bit length is not a multiple of 8 are skipped: byte-oriented storage never
     * has them, and the API (like OpenSSL's) takes bytes.
     */
    static List<Vector> nist(String resource) {
        List<Vector> out = new ArrayList<>();
        boolean encrypt = true;
        Map<String, String> fields = new HashMap<>();
        String file = resource.substring(resource.lastIndexOf('/') + 1);
        // The AES-256 seqno file mixes CRLF with a stray bare CR: split on any line break.
        for (String raw : read(resource).split("\r\n|\r|\n")) {
            String line = raw.strip();
            if (line.equals("[ENCRYPT]")) {
                encrypt = true;
            } else if (line.equals("[DECRYPT]")) {
                encrypt = false;
            } else if (line.contains(" = ")) {
                String[] kv = line.split(" = ", 2);
                fields.put(kv[0], kv[1]);
                boolean complete = fields.containsKey("PT") && fields.containsKey("CT");
                if (complete) {
                    int bits = Integer.parseInt(fields.get("DataUnitLen"));
                    if (bits % 8 == 0) {
                        byte[] tweak = fields.containsKey("i") ? HEX.parseHex(fields.get("i"))
                                : leTweak(Long.parseLong(fields.get("DataUnitSeqNumber")));
                        out.add(new Vector(file + (encrypt ? " ENCRYPT " : " DECRYPT ") + fields.get("COUNT"),
                                encrypt, HEX.parseHex(fields.get("Key")), tweak, HEX.parseHex(fields.get("PT")),
                                HEX.parseHex(fields.get("CT"))));
                    }
                    fields.clear();
                }
            }
        }
        return out;
    }

    /** "Name/Key1/Key2/Tweak/PT/CT" blocks (IEEE 1619 Annex B, OpenSSL plain64). */
    static List<Vector> lineFormat(String resource) {
        List<Vector> out = new ArrayList<>();
        Map<String, String> f = new HashMap<>();
        for (String line : read(resource).split("\n")) {
            if (line.contains(" = ")) {
                String[] kv = line.strip().split(" = ", 2);
                f.put(kv[0], kv[1]);
                if (kv[0].equals("CT")) {
                    byte[] key = HEX.parseHex(f.get("Key1") + f.get("Key2"));
                    out.add(new Vector(f.get("Name"), true, key, HEX.parseHex(f.get("Tweak")),
                            HEX.parseHex(f.get("PT")), HEX.parseHex(f.get("CT"))));
                    f.clear();
                }
            }
        }
        return out;
    }

    static byte[] leTweak(long unit) {
        byte[] t = new byte[16];
        for (int i = 0; i < 8; i++) {
            t[i] = (byte) (unit >>> (8 * i));
        }
        return t;
    }

    /** The unit number of a tweak whose upper 8 bytes are zero, or -1 (not usable as a sector). */
    static boolean isPlain64(byte[] tweak) {
        for (int i = 8; i < 16; i++) {
            if (tweak[i] != 0) {
                return false;
            }
        }
        return true;
    }

    static long unitNumber(byte[] tweak) {
        long n = 0;
        for (int i = 7; i >= 0; i--) {
            n = (n << 8) | (tweak[i] & 0xff);
        }
        return n;
    }
}
