package io.sectorcrypt.hctr2;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;

/**
 * Reads the HCTR2, XCTR and POLYVAL vectors copied into src/test/resources/vectors/hctr2
 * (provenance in vectors/README.md).
 */
final class Hctr2Vectors {
    private static final HexFormat HEX = HexFormat.of();

    /** One vector: for HCTR2 (key, tweak, plain, cipher); XCTR (key, nonce, plain, cipher); POLYVAL (key, message, hash). */
    record Vector(String name, byte[] key, byte[] tweak, byte[] in, byte[] out) {
        @Override
        public String toString() {
            return name + " (" + in.length + " bytes, tweak " + tweak.length + ")";
        }
    }

    private Hctr2Vectors() {
    }

    static List<Vector> hctr2(String file) {
        return read(file, "tweak_hex", "plaintext_hex", "ciphertext_hex", false);
    }

    static List<Vector> xctr(String file) {
        return read(file, "nonce_hex", "plaintext_hex", "ciphertext_hex", false);
    }

    static List<Vector> polyval() {
        return read("Polyval.json", null, "message_hex", "hash_hex", true);
    }

    private static List<Vector> read(String file, String tweakField, String inField, String outField,
                                     boolean inUnderInput) {
        String resource = "/vectors/hctr2/" + file;
        try (InputStream in = Hctr2Vectors.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + resource);
            }
            List<Vector> out = new ArrayList<>();
            for (JsonNode v : new ObjectMapper().readTree(in)) {
                JsonNode input = v.get("input");
                out.add(new Vector(file + " " + v.get("description").asText(),
                        HEX.parseHex(input.get("key_hex").asText()),
                        tweakField == null ? new byte[0] : HEX.parseHex(input.get(tweakField).asText()),
                        HEX.parseHex((inUnderInput ? input : v).get(inField).asText()),
                        HEX.parseHex(v.get(outField).asText())));
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
