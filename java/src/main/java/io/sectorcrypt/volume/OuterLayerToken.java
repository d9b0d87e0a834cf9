package io.sectorcrypt.volume;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.volume.luks2.Luks2Digest;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.util.List;
import java.util.Optional;

/**
 * The {@value #TYPE} LUKS2 token (LUKS2 3.6: a token type of our own, which cryptsetup keeps
 * and ignores) of a DOUBLE disk: the order and parameters of its two layers, from the
 * plaintext outwards, and a digest of the outer key.
 * <pre>{@code
 * {"type": "sectorcrypt-outer-layer", "keyslots": [], "format": 1,
 *  "layers": [{"cipher": "aes-xts-plain64", "key_size": 64, "key": "segment"},
 *             {"cipher": "capi:hctr2(aes)-plain64", "key_size": 32, "key": "infrastructure",
 *              "digest": {"type": "pbkdf2", "hash": "sha256", "iterations": 1000,
 *                         "salt": "<base64>", "digest": "<base64>"}}]}
 * }</pre>
 * The inner layer is segment 0's: its cipher, its volume key (checked by the digest bound to
 * segment 0, held by the keyslots), its sector size and IV offset. The outer layer is
 * HCTR2-AES-256 with the same sectors and IVs (dm-crypt's {@code capi:hctr2(aes)-plain64}:
 * the 64-bit IV in 512-byte units as the first 8 bytes of a 32-byte tweak); its key is the
 * envelope token's {@code infrastructure} layer, which no keyslot holds. A stored sector is
 * HCTR2(outer, XTS(inner, plaintext)).
 *
 * <p>Three marks must agree, so that a DOUBLE disk never passes for a single-layer one: this
 * token, the envelope's outer layer, and the header's
 * {@value Luks2Metadata#OUTER_LAYER_REQUIREMENT} requirement (which keeps cryptsetup from
 * activating the disk as plain XTS).
 */
record OuterLayerToken(Luks2Digest outerDigest) {
    static final String TYPE = "sectorcrypt-outer-layer";
    /** dm-crypt's name of the outer layer's cipher. */
    static final String OUTER_CIPHER = "capi:hctr2(aes)-plain64";
    private static final int FORMAT = 1;

    /** {@code m} made a DOUBLE disk's header: this token and the requirement, beside its envelope. */
    static Luks2Metadata apply(Luks2Metadata m, Hctr2Key outerKey, CryptoPolicy policy) {
        Luks2Digest digest = outerKey.withKeyBytes(k -> Luks2Digest.create(k, policy));
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode token = f.objectNode();
        token.put("type", TYPE);
        token.putArray("keyslots");
        token.put("format", FORMAT);
        ArrayNode layers = token.putArray("layers");
        ObjectNode inner = layers.addObject();
        inner.put("cipher", Luks2Metadata.CIPHER);
        inner.put("key_size", DiskKeys.Role.PLATFORM.dekBytes());
        inner.put("key", "segment");
        ObjectNode outer = layers.addObject();
        outer.put("cipher", OUTER_CIPHER);
        outer.put("key_size", DiskKeys.Role.INFRASTRUCTURE.dekBytes());
        outer.put("key", DiskKeys.Role.INFRASTRUCTURE.label());
        ObjectNode d = digest.toJson(List.of(), List.of());
        d.remove("keyslots");
        d.remove("segments");
        outer.set("digest", d);
        return m.withToken(token).withOuterLayerRequirement(true);
    }

    /**
     * The outer layer of {@code m}, checked, if it is a DOUBLE disk's header.
     *
     * @throws Luks2FormatException if the token is malformed, or the token, the envelope's
     *         layers and the requirement disagree on whether the disk has an outer layer
     */
    static Optional<OuterLayerToken> read(Luks2Metadata m, String name) {
        Optional<ObjectNode> t = m.token(TYPE);
        boolean envelopeOuter = m.envelope().map(DiskKeys::hasOuterLayer).orElse(false);
        if (t.isEmpty() && !envelopeOuter && !m.requiresOuterLayer()) {
            return Optional.empty();
        }
        if (t.isEmpty() || !envelopeOuter || !m.requiresOuterLayer()) {
            throw new Luks2FormatException(name + ": its header is half a DOUBLE disk's (" + TYPE + " token: "
                    + mark(t.isPresent()) + ", outer key in the envelope: " + mark(envelopeOuter) + ", "
                    + Luks2Metadata.OUTER_LAYER_REQUIREMENT + " requirement: " + mark(m.requiresOuterLayer())
                    + "); refusing to guess whether its data has the outer layer");
        }
        try {
            return Optional.of(parse(t.get()));
        } catch (IllegalArgumentException e) {
            throw new Luks2FormatException(name + ": its " + TYPE + " token is invalid: " + e.getMessage());
        }
    }

    private static String mark(boolean present) {
        return present ? "present" : "missing";
    }

    private static OuterLayerToken parse(ObjectNode t) {
        check(t.path("format").isInt() && t.path("format").asInt() == FORMAT, "format " + t.path("format")
                + "; this version reads " + FORMAT);
        JsonNode layers = t.path("layers");
        check(layers.isArray() && layers.size() == 2, "it needs two layers, inner first");
        layer(layers.get(0), Luks2Metadata.CIPHER, DiskKeys.Role.PLATFORM.dekBytes(), "segment");
        JsonNode outer = layers.get(1);
        layer(outer, OUTER_CIPHER, DiskKeys.Role.INFRASTRUCTURE.dekBytes(), DiskKeys.Role.INFRASTRUCTURE.label());
        try {
            return new OuterLayerToken(Luks2Digest.fromJson(outer.get("digest")));
        } catch (Luks2FormatException e) {
            throw new IllegalArgumentException("the outer key's " + e.getMessage(), e);
        }
    }

    private static void layer(JsonNode l, String cipher, int keySize, String key) {
        check(l.isObject(), "a layer is not an object");
        check(cipher.equals(l.path("cipher").asText()) && l.path("key_size").isInt()
                && l.path("key_size").asInt() == keySize && key.equals(l.path("key").asText()), "a layer of "
                        + shorten(l.path("cipher").asText()) + " with a " + shorten(l.path("key_size").asText())
                        + "-byte key from '" + shorten(l.path("key").asText()) + "', where this version reads "
                        + cipher + " with a " + keySize + "-byte key from '" + key + "'");
    }

    /** Whether {@code key} is the outer key this header was made with. */
    boolean matches(Hctr2Key key, CryptoPolicy policy) {
        return key.withKeyBytes(k -> outerDigest.matches(k, policy));
    }

    private static String shorten(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }

    private static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalArgumentException(what);
        }
    }
}
