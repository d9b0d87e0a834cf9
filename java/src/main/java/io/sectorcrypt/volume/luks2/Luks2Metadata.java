package io.sectorcrypt.volume.luks2;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamReadConstraints;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.keys.Names;
import io.sectorcrypt.keys.WrapAlgorithm;
import io.sectorcrypt.keys.WrappedKey;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;

/**
 * The LUKS2 JSON metadata of a SectorCrypt volume (LUKS2 On-Disk Format Specification 1.1.1,
 * section 3), immutable: every change makes a new instance, validated as strictly as a read.
 *
 * <p>What is checked on read, so that a corrupt or hostile header is one clear
 * {@link Luks2FormatException} and never garbage: the five top-level objects (3); object
 * names are decimal (3); {@code config.json_size} matches the binary header and
 * {@code keyslots_size} is 4096-aligned (3.5); no {@code requirements} this implementation
 * does not know (3.5: such a device must not be activated; the one it knows is
 * {@value #OUTER_LAYER_REQUIREMENT}, which it sets itself on DOUBLE disks), and no unfinished cryptsetup
 * reencryption (its requirement, or a keyslot of type {@code reencrypt}, is refused with a
 * message that says so); exactly one {@code crypt}
 * segment "0" with {@code aes-xts-plain64}, a sector size of 512..4096 and no integrity
 * (3.3.2); every digest is {@code pbkdf2} with bounded parameters and names existing keyslots
 * and segments, one of them segment "0" (3.4); every keyslot area lies inside the keyslots
 * area and no two overlap (2.3); every token has a type and names existing keyslots (3.6);
 * at most one {@value #ENVELOPE_TOKEN_TYPE} token, whose wrapped keys parse. Objects this
 * implementation does not interpret (other tokens, keyslots' KDF details) are kept as they
 * are (3: "metadata are still maintained").
 *
 * <p>The envelope token holds the disk's {@link DiskKeys}:
 * <pre>{@code
 * {"type": "sectorcrypt-envelope", "keyslots": [], "format": 1,
 *  "disk": "<the header's UUID>", "encryption_set": "<set id>",
 *  "layers": [{"role": "platform" | "customer" | "infrastructure",
 *              "wrapped": [{"algorithm": "AES-KWP" | "RSA-OAEP-256" | "RSA-OAEP",
 *                           "vault": "...", "key": "...", "version": 1, "data": "<base64>"}]}]}
 * }</pre>
 * with the newest wrapped copy first (two only while a rotation is under way).
 */
public final class Luks2Metadata {
    public static final String ENVELOPE_TOKEN_TYPE = "sectorcrypt-envelope";
    /** The only data cipher: XTS-AES with dm-crypt's plain64 IV (512-byte units). */
    public static final String CIPHER = "aes-xts-plain64";
    /** cryptsetup's limits on keyslots and tokens (LUKS2_KEYSLOTS_MAX, LUKS2_TOKENS_MAX). */
    static final int MAX_KEYSLOTS = 32;
    static final int MAX_TOKENS = 32;
    static final int MAX_DIGESTS = 32;
    static final int ENVELOPE_FORMAT = 1;
    /**
     * The mandatory requirement (LUKS2 3.5) of a DOUBLE disk, whose data area holds a second,
     * outer layer over segment 0's cipher: cryptsetup parses and dumps such a header and
     * tests its passphrases, but refuses to activate it, so no tool that knows only the
     * inner layer reads the disk as if it had no other.
     */
    public static final String OUTER_LAYER_REQUIREMENT = "sectorcrypt-outer-layer";
    private static final String[] TOP_LEVEL = {"keyslots", "tokens", "segments", "digests", "config"};
    /** The requirement cryptsetup sets while a reencryption runs: online-reencrypt, -v2, -v3. */
    private static final String REENCRYPT_REQUIREMENT = "online-reencrypt";
    /** The keyslot type that holds a reencryption's progress. */
    private static final String REENCRYPT_KEYSLOT = "reencrypt";
    private static final String REENCRYPTION_UNFINISHED = "a cryptsetup reencryption of this disk is unfinished;"
            + " finish it first with 'cryptsetup reencrypt DEVICE', which resumes where it stopped";

    private static final ObjectMapper JSON = new ObjectMapper(JsonFactory.builder()
            .streamReadConstraints(StreamReadConstraints.builder().maxNestingDepth(32).maxNumberLength(40)
                    .maxStringLength(8 << 20).build())
            .enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build())
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS)
            .enable(DeserializationFeature.FAIL_ON_READING_DUP_TREE_KEY);

    /** The data segment: where the ciphertext is and how its IVs run. */
    public record CryptSegment(long offset, long size, long ivTweak, int sectorSize) {
        /** {@link #size} of a segment that runs to the end of the device ("dynamic"). */
        public static final long DYNAMIC = -1;

        public CryptSegment {
            checkSectorSize(sectorSize);
            if (offset < 0 || offset > MAX_DATA_BYTES || offset % 4096 != 0) {
                throw new IllegalArgumentException("the data offset must be a multiple of 4096 from 0 to 2^60, not "
                        + offset);
            }
            if (size != DYNAMIC) {
                checkSize(size, sectorSize);
            }
        }

        /** Offsets and sizes up to 2^60 bytes: beyond any device, and offset + size cannot overflow. */
        public static final long MAX_DATA_BYTES = 1L << 60;

        /** The one rule for sector sizes: 512, 1024, 2048 or 4096 bytes (LUKS2 3.3.2). */
        public static void checkSectorSize(int sectorSize) {
            if (sectorSize != 512 && sectorSize != 1024 && sectorSize != 2048 && sectorSize != 4096) {
                throw new IllegalArgumentException("the sector size is 512, 1024, 2048 or 4096 bytes, not "
                        + sectorSize);
            }
        }

        /** The one rule for data sizes: positive, whole sectors, at most {@link #MAX_DATA_BYTES}. */
        public static void checkSize(long size, int sectorSize) {
            if (size <= 0 || size > MAX_DATA_BYTES || size % sectorSize != 0) {
                throw new IllegalArgumentException("a volume size must be a positive whole number of " + sectorSize
                        + "-byte sectors (at most 2^60 bytes), not " + size + " bytes");
            }
        }

        public boolean dynamic() {
            return size == DYNAMIC;
        }
    }

    /** Where a keyslot's binary data lie on the device, bytes. */
    public record KeyslotArea(int keyslot, long offset, long size) {
    }

    private final ObjectNode root;
    private final long hdrSize;
    private final long keyslotsSize;
    private final CryptSegment segment;
    private final String digestId;
    private final Luks2Digest digest;
    private final Map<Integer, KeyslotArea> keyslotAreas;
    private final Optional<Integer> envelopeTokenId;
    private final boolean outerLayerRequired;
    private final Optional<DiskKeys> envelope;

    private Luks2Metadata(ObjectNode root, long hdrSize) {
        this.root = root;
        this.hdrSize = hdrSize;
        need(root.isObject(), "the metadata is not a JSON object");
        for (String name : TOP_LEVEL) {
            need(root.path(name).isObject(), "the metadata has no '" + name + "' object");
        }
        ObjectNode config = (ObjectNode) root.get("config");
        long jsonSize = Luks2Json.uint64(config, "json_size", "config");
        need(jsonSize == hdrSize - Luks2BinaryHeader.BINARY_HEADER_BYTES, "config.json_size is " + jsonSize
                + " but the binary header gives " + (hdrSize - Luks2BinaryHeader.BINARY_HEADER_BYTES));
        this.keyslotsSize = Luks2Json.uint64(config, "keyslots_size", "config");
        need(keyslotsSize % 4096 == 0 && keyslotsSize <= (1L << 40), "config.keyslots_size " + keyslotsSize
                + " is not a 4096-aligned size");
        this.outerLayerRequired = checkRequirements(config);
        checkNames("keyslots", MAX_KEYSLOTS);
        checkNames("tokens", MAX_TOKENS);
        checkNames("digests", MAX_DIGESTS);
        checkNames("segments", 1);
        this.segment = parseSegment();
        this.keyslotAreas = parseKeyslotAreas();
        String boundDigest = null;
        Luks2Digest bound = null;
        for (Map.Entry<String, JsonNode> d : fields(root.get("digests"))) {
            Luks2Digest parsed = parseDigest(d.getKey(), d.getValue());
            for (JsonNode s : d.getValue().get("segments")) {
                if (s.asText().equals("0")) {
                    need(bound == null, "two digests are bound to segment 0");
                    bound = parsed;
                    boundDigest = d.getKey();
                }
            }
        }
        need(bound != null, "no digest is bound to segment 0: a volume key could not be verified");
        this.digest = bound;
        this.digestId = boundDigest;
        for (int slot : keyslotAreas.keySet()) {
            need(digestOf(slot) != null, "keyslot " + slot + " has no digest");
        }
        Integer tokenId = null;
        DiskKeys keys = null;
        for (Map.Entry<String, JsonNode> t : fields(root.get("tokens"))) {
            JsonNode token = t.getValue();
            String ctx = "token " + t.getKey();
            text(token, "type", ctx);
            need(token.path("keyslots").isArray(), ctx + " has no keyslots array");
            for (JsonNode k : token.get("keyslots")) {
                need(k.isTextual() && keyslotAreas.containsKey(decimal(k.asText(), ctx)), ctx
                        + " names a keyslot that does not exist");
            }
            if (ENVELOPE_TOKEN_TYPE.equals(token.get("type").asText())) {
                need(tokenId == null, "two " + ENVELOPE_TOKEN_TYPE + " tokens");
                tokenId = Integer.parseInt(t.getKey());
                keys = parseEnvelope(token, ctx);
            }
        }
        this.envelopeTokenId = Optional.ofNullable(tokenId);
        this.envelope = Optional.ofNullable(keys);
    }

    /**
     * Parses and validates the JSON text of a header whose binary header gives
     * {@code hdrSize}.
     *
     * @throws Luks2FormatException on malformed JSON or any check of the class comment
     */
    public static Luks2Metadata parse(byte[] json, long hdrSize) {
        JsonNode tree;
        try (JsonParser p = JSON.createParser(json)) {
            tree = JSON.readTree(p);
            if (p.nextToken() != null) {
                throw new Luks2FormatException("the metadata has data after its JSON object");
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof Luks2FormatException f) {
                throw f;
            }
            throw new Luks2FormatException("the metadata is not valid JSON: " + jsonError(e));
        }
        if (!(tree instanceof ObjectNode obj)) {
            throw new Luks2FormatException("the metadata is not a JSON object");
        }
        checkFinite(obj);
        return wrap(obj, hdrSize);
    }

    /**
     * Refuses a number beyond the range of a double (1e999): it reads as Infinity, which
     * would be written back as the string "Infinity", silently changing metadata we keep.
     * Recursion is bounded by the parser's nesting limit.
     */
    private static void checkFinite(JsonNode node) {
        if (node.isFloatingPointNumber() && !Double.isFinite(node.doubleValue())) {
            throw new Luks2FormatException("the metadata holds a number beyond the range of a double");
        }
        for (JsonNode child : node) {
            checkFinite(child);
        }
    }

    private static Luks2Metadata wrap(ObjectNode root, long hdrSize) {
        try {
            return new Luks2Metadata(root, hdrSize);
        } catch (IllegalArgumentException | ArithmeticException e) {
            if (e instanceof Luks2FormatException f) {
                throw f;
            }
            throw new Luks2FormatException("the metadata is invalid: " + e.getMessage());
        }
    }

    /**
     * Metadata for a new volume: one crypt segment, the volume key's digest bound to it, no
     * keyslot, no token yet.
     */
    public static Luks2Metadata create(long hdrSize, long keyslotsSize, CryptSegment segment, Luks2Digest digest) {
        JsonNodeFactory f = JsonNodeFactory.instance;
        ObjectNode root = f.objectNode();
        root.putObject("keyslots");
        root.putObject("tokens");
        ObjectNode seg = root.putObject("segments").putObject("0");
        seg.put("type", "crypt");
        seg.put("offset", Long.toString(segment.offset()));
        seg.put("size", segment.dynamic() ? "dynamic" : Long.toString(segment.size()));
        seg.put("iv_tweak", Long.toUnsignedString(segment.ivTweak()));
        seg.put("encryption", CIPHER);
        seg.put("sector_size", segment.sectorSize());
        root.putObject("digests").set("0", digest.toJson(List.of(), List.of("0")));
        ObjectNode config = root.putObject("config");
        config.put("json_size", Long.toString(hdrSize - Luks2BinaryHeader.BINARY_HEADER_BYTES));
        config.put("keyslots_size", Long.toString(keyslotsSize));
        return wrap(root, hdrSize);
    }

    /** The compact JSON text, as cryptsetup writes it. */
    public byte[] toJson() {
        try {
            return JSON.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new IllegalStateException("cannot serialise LUKS2 metadata", e);
        }
    }

    public long hdrSize() {
        return hdrSize;
    }

    public long keyslotsSize() {
        return keyslotsSize;
    }

    /** Where the keyslots area ends: the first byte a data segment on the same device may use. */
    public long keyslotsEnd() {
        return 2 * hdrSize + keyslotsSize;
    }

    public CryptSegment segment() {
        return segment;
    }

    /** The digest that verifies the volume key of segment 0. */
    public Luks2Digest digest() {
        return digest;
    }

    /** Whether config.requirements.mandatory holds {@value #OUTER_LAYER_REQUIREMENT} (a DOUBLE disk). */
    public boolean requiresOuterLayer() {
        return outerLayerRequired;
    }

    /** The same metadata with the {@value #OUTER_LAYER_REQUIREMENT} requirement set or cleared. */
    public Luks2Metadata withOuterLayerRequirement(boolean required) {
        ObjectNode copy = root.deepCopy();
        ObjectNode config = (ObjectNode) copy.get("config");
        if (required) {
            config.putObject("requirements").putArray("mandatory").add(OUTER_LAYER_REQUIREMENT);
        } else {
            config.remove("requirements");
        }
        return wrap(copy, hdrSize);
    }

    /** The disk's wrapped keys, if this volume has an envelope token. */
    public Optional<DiskKeys> envelope() {
        return envelope;
    }

    /** Keyslot numbers, ascending. */
    public List<Integer> keyslots() {
        return List.copyOf(keyslotAreas.keySet());
    }

    /** A keyslot's JSON object (a copy), e.g. for opening it with a passphrase. */
    public ObjectNode keyslot(int id) {
        JsonNode k = root.get("keyslots").get(Integer.toString(id));
        if (k == null) {
            throw new IllegalArgumentException("there is no keyslot " + id);
        }
        return k.deepCopy();
    }

    public KeyslotArea keyslotArea(int id) {
        KeyslotArea a = keyslotAreas.get(id);
        if (a == null) {
            throw new IllegalArgumentException("there is no keyslot " + id);
        }
        return a;
    }

    /** Token types by id, for display. */
    public Map<Integer, String> tokenTypes() {
        Map<Integer, String> types = new TreeMap<>();
        for (Map.Entry<String, JsonNode> t : fields(root.get("tokens"))) {
            types.put(Integer.parseInt(t.getKey()), t.getValue().get("type").asText());
        }
        return types;
    }

    /** The same metadata with the envelope token holding {@code keys} (added or replaced). */
    public Luks2Metadata withEnvelope(DiskKeys keys) {
        ObjectNode copy = root.deepCopy();
        ObjectNode tokens = (ObjectNode) copy.get("tokens");
        int id = envelopeTokenId.orElseGet(() -> firstFree(tokens, MAX_TOKENS, "token"));
        ObjectNode token = JsonNodeFactory.instance.objectNode();
        token.put("type", ENVELOPE_TOKEN_TYPE);
        token.putArray("keyslots");
        token.put("format", ENVELOPE_FORMAT);
        token.put("disk", keys.diskId());
        token.put("encryption_set", keys.setId());
        ArrayNode layers = token.putArray("layers");
        for (DiskKeys.Layer layer : keys.layers()) {
            ObjectNode l = layers.addObject();
            l.put("role", layer.role().label());
            ArrayNode wrapped = l.putArray("wrapped");
            for (WrappedKey w : layer.copies()) {
                ObjectNode c = wrapped.addObject();
                c.put("algorithm", w.algorithm().label());
                c.put("vault", w.vaultId());
                c.put("key", w.keyName());
                c.put("version", w.keyVersion());
                c.put("data", Base64.getEncoder().encodeToString(w.wrapped()));
            }
        }
        tokens.set(Integer.toString(id), token);
        return wrap(copy, hdrSize);
    }

    /**
     * The first token of {@code type} (a copy), for tokens whose meaning lives above this
     * class (snapshots'); empty if there is none.
     */
    public Optional<ObjectNode> token(String type) {
        for (Map.Entry<String, JsonNode> t : fields(root.get("tokens"))) {
            if (type.equals(t.getValue().get("type").asText())) {
                return Optional.of(((ObjectNode) t.getValue()).deepCopy());
            }
        }
        return Optional.empty();
    }

    /**
     * The same metadata with {@code token} (whose {@code type} names it) in place of the first
     * token of that type, or added under the lowest free number. The envelope token has its own
     * method, which checks its contents.
     */
    public Luks2Metadata withToken(ObjectNode token) {
        String type = token.path("type").asText();
        need(!type.isEmpty() && !type.equals(ENVELOPE_TOKEN_TYPE), "a token of type '" + shortText(type)
                + "' cannot be set this way");
        ObjectNode copy = root.deepCopy();
        ObjectNode tokens = (ObjectNode) copy.get("tokens");
        String id = null;
        for (Map.Entry<String, JsonNode> t : fields(tokens)) {
            if (type.equals(t.getValue().get("type").asText())) {
                id = t.getKey();
                break;
            }
        }
        tokens.set(id != null ? id : Integer.toString(firstFree(tokens, MAX_TOKENS, "token")), token.deepCopy());
        return wrap(copy, hdrSize);
    }

    /** The same metadata without any token of {@code type}. */
    public Luks2Metadata withoutToken(String type) {
        ObjectNode copy = root.deepCopy();
        ObjectNode tokens = (ObjectNode) copy.get("tokens");
        for (Map.Entry<String, JsonNode> t : fields(tokens)) {
            if (type.equals(t.getValue().get("type").asText())) {
                tokens.remove(t.getKey());
            }
        }
        return wrap(copy, hdrSize);
    }

    /**
     * The same metadata with segment 0 at {@code offset} and of {@code size} bytes: for a copy
     * of the disk in another file (a snapshot, a restored disk), whose data may start elsewhere
     * than the original's (a detached header's disk starts at 0). The IV tweak is unchanged,
     * so the same ciphertext stays valid.
     */
    public Luks2Metadata withSegment(long offset, long size) {
        ObjectNode copy = root.deepCopy();
        ObjectNode seg = (ObjectNode) copy.get("segments").get("0");
        seg.put("offset", Long.toString(offset));
        seg.put("size", Long.toString(size));
        return wrap(copy, hdrSize);
    }

    /** The same metadata with a new data size (online grow), in bytes. */
    public Luks2Metadata withSegmentSize(long size) {
        ObjectNode copy = root.deepCopy();
        ((ObjectNode) copy.get("segments").get("0")).put("size", Long.toString(size));
        return wrap(copy, hdrSize);
    }

    /**
     * The same metadata with {@code keyslot} (a LUKS2 keyslot object whose area was
     * allocated with {@link #freeKeyslotArea}) added as number {@code id} and bound to the
     * volume key's digest.
     */
    public Luks2Metadata withKeyslot(int id, ObjectNode keyslot) {
        ObjectNode copy = root.deepCopy();
        ObjectNode slots = (ObjectNode) copy.get("keyslots");
        need(!slots.has(Integer.toString(id)), "keyslot " + id + " is in use");
        slots.set(Integer.toString(id), keyslot.deepCopy());
        ((ArrayNode) copy.get("digests").get(digestId).get("keyslots")).add(Integer.toString(id));
        return wrap(copy, hdrSize);
    }

    /** The lowest free keyslot number. */
    public int freeKeyslot() {
        return firstFree((ObjectNode) root.get("keyslots"), MAX_KEYSLOTS, "keyslot");
    }

    /** The first 4096-aligned gap of {@code bytes} in the keyslots area, as an absolute offset. */
    public long freeKeyslotArea(long bytes) {
        long need = (bytes + 4095) / 4096 * 4096;
        long candidate = 2 * hdrSize;
        List<KeyslotArea> areas = new ArrayList<>(keyslotAreas.values());
        areas.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        for (KeyslotArea a : areas) {
            if (candidate + need <= a.offset()) {
                break;
            }
            candidate = Math.max(candidate, (a.offset() + a.size() + 4095) / 4096 * 4096);
        }
        if (candidate + need > keyslotsEnd()) {
            throw new Luks2FormatException("the keyslots area has no room for " + need + " more bytes");
        }
        return candidate;
    }

    // -- parsing ---------------------------------------------------------------------------

    private CryptSegment parseSegment() {
        JsonNode seg = root.get("segments").get("0");
        need(seg != null, "there is no segment 0 (a volume without data)");
        String type = text(seg, "type", "segment 0");
        need(type.equals("crypt"), "segment 0 is of type '" + shortText(type) + "'; only 'crypt' is supported"
                + " (a disk in reencryption or of another kind)");
        String encryption = text(seg, "encryption", "segment 0");
        need(encryption.equals(CIPHER), "segment 0 is encrypted with '" + shortText(encryption) + "'; SectorCrypt"
                + " supports only " + CIPHER);
        need(!seg.has("integrity"), "segment 0 uses dm-integrity, which SectorCrypt does not support");
        JsonNode flags = seg.get("flags");
        need(flags == null || (flags.isArray() && flags.isEmpty()), "segment 0 has flags (a reencryption in"
                + " progress?), which SectorCrypt does not support");
        long offset = Luks2Json.uint64(seg, "offset", "segment 0");
        JsonNode sizeNode = seg.get("size");
        long size = sizeNode != null && sizeNode.isTextual() && sizeNode.asText().equals("dynamic")
                ? CryptSegment.DYNAMIC : Luks2Json.uint64(seg, "size", "segment 0");
        long ivTweak = Luks2Json.uint64(seg, "iv_tweak", "segment 0");
        JsonNode sectorSize = seg.get("sector_size");
        need(sectorSize != null && sectorSize.isInt(), "segment 0 has no integer sector_size");
        need(offset % 4096 == 0, "segment 0's offset " + offset + " is not 4096-aligned");
        need(offset == 0 || offset >= keyslotsEnd(), "segment 0 starts at " + offset
                + ", inside the header and keyslots area (which ends at " + keyslotsEnd() + ")");
        return new CryptSegment(offset, size, ivTweak, sectorSize.asInt());
    }

    private Map<Integer, KeyslotArea> parseKeyslotAreas() {
        Map<Integer, KeyslotArea> areas = new TreeMap<>();
        for (Map.Entry<String, JsonNode> k : fields(root.get("keyslots"))) {
            String ctx = "keyslot " + k.getKey();
            JsonNode slot = k.getValue();
            need(!text(slot, "type", ctx).equals(REENCRYPT_KEYSLOT), REENCRYPTION_UNFINISHED + " (" + ctx + " is of"
                    + " type " + REENCRYPT_KEYSLOT + ")");
            JsonNode area = slot.get("area");
            need(area != null && area.isObject(), ctx + " has no area object");
            long offset = Luks2Json.uint64(area, "offset", ctx + " area");
            long size = Luks2Json.uint64(area, "size", ctx + " area");
            need(offset >= 2 * hdrSize && size > 0 && size <= keyslotsSize && offset <= keyslotsEnd() - size,
                    ctx + " area [" + offset + ", +" + size + ") lies outside the keyslots area [" + 2 * hdrSize + ", "
                            + keyslotsEnd() + ")");
            areas.put(Integer.parseInt(k.getKey()), new KeyslotArea(Integer.parseInt(k.getKey()), offset, size));
        }
        List<KeyslotArea> sorted = new ArrayList<>(areas.values());
        sorted.sort((a, b) -> Long.compare(a.offset(), b.offset()));
        for (int i = 1; i < sorted.size(); i++) {
            KeyslotArea prev = sorted.get(i - 1);
            need(prev.offset() + prev.size() <= sorted.get(i).offset(), "the areas of keyslots " + prev.keyslot()
                    + " and " + sorted.get(i).keyslot() + " overlap");
        }
        return areas;
    }

    private Luks2Digest parseDigest(String id, JsonNode d) {
        String ctx = "digest " + id;
        Luks2Digest digest;
        try {
            digest = Luks2Digest.fromJson(d);
        } catch (Luks2FormatException e) {
            throw new Luks2FormatException(ctx + ": " + e.getMessage());
        }
        for (String list : new String[] {"keyslots", "segments"}) {
            JsonNode ids = d.get(list);
            need(ids != null && ids.isArray(), ctx + " has no " + list + " array");
            for (JsonNode ref : ids) {
                need(ref.isTextual(), ctx + " has a non-string entry in " + list);
                int n = decimal(ref.asText(), ctx);
                need(list.equals("keyslots") ? keyslotAreas.containsKey(n) : n == 0, ctx + " names " + list
                        + " entry " + n + ", which does not exist");
            }
        }
        return digest;
    }

    private String digestOf(int keyslot) {
        for (Map.Entry<String, JsonNode> d : fields(root.get("digests"))) {
            for (JsonNode k : d.getValue().get("keyslots")) {
                if (k.asText().equals(Integer.toString(keyslot))) {
                    return d.getKey();
                }
            }
        }
        return null;
    }

    private DiskKeys parseEnvelope(JsonNode token, String ctx) {
        JsonNode format = token.get("format");
        need(format != null && format.isInt() && format.asInt() == ENVELOPE_FORMAT, ctx + " (" + ENVELOPE_TOKEN_TYPE
                + ") has format " + shortText(String.valueOf(format)) + "; this version reads format "
                + ENVELOPE_FORMAT);
        String disk = name(token, "disk", false, ctx);
        String set = name(token, "encryption_set", false, ctx);
        JsonNode layers = token.get("layers");
        need(layers != null && layers.isArray() && !layers.isEmpty() && layers.size() <= 2, ctx
                + " needs one or two layers");
        List<DiskKeys.Layer> parsed = new ArrayList<>();
        for (JsonNode l : layers) {
            String role = text(l, "role", ctx);
            DiskKeys.Role r = DiskKeys.Role.ofLabel(role);
            need(r != null, ctx + " has a layer of unknown role '" + shortText(role) + "'");
            JsonNode wrapped = l.get("wrapped");
            need(wrapped != null && wrapped.isArray() && !wrapped.isEmpty() && wrapped.size() <= 2, ctx
                    + " needs one or two wrapped copies per layer");
            List<WrappedKey> copies = new ArrayList<>();
            for (JsonNode w : wrapped) {
                String alg = text(w, "algorithm", ctx);
                WrapAlgorithm algorithm = WrapAlgorithm.ofLabel(alg);
                need(algorithm != null, ctx + " uses unknown wrap algorithm '" + shortText(alg) + "'");
                JsonNode version = w.get("version");
                need(version != null && version.isInt() && version.asInt() >= 1, ctx + " has no valid key version");
                copies.add(new WrappedKey(algorithm, name(w, "vault", true, ctx), name(w, "key", false, ctx),
                        version.asInt(), Luks2Json.base64(w, "data", ctx, 16, 1024)));
            }
            parsed.add(new DiskKeys.Layer(r, copies));
        }
        try {
            return new DiskKeys(disk, set, parsed);
        } catch (IllegalArgumentException e) {
            throw new Luks2FormatException(ctx + ": " + e.getMessage());
        }
    }

    /** Checks the requirements; returns whether the one set is {@value #OUTER_LAYER_REQUIREMENT}. */
    private static boolean checkRequirements(ObjectNode config) {
        JsonNode req = config.get("requirements");
        if (req == null) {
            return false;
        }
        List<String> found = new ArrayList<>();
        JsonNode list = req.isObject() ? req.get("mandatory") : req;
        if (list != null && list.isArray()) {
            for (JsonNode n : list) {
                if (found.size() == 4) { // a hostile list can be thousands long: name the first few
                    found.add("...");
                    break;
                }
                found.add(shortText(n.asText()));
            }
        } else if (list != null || !req.isObject()) {
            found.add("(malformed requirements)");
        }
        for (String r : found) {
            // cryptsetup 2.2+ marks a disk under reencryption so that older tools keep away from it.
            need(!r.startsWith(REENCRYPT_REQUIREMENT), REENCRYPTION_UNFINISHED + " (requirement " + r + ")");
        }
        boolean outer = found.equals(List.of(OUTER_LAYER_REQUIREMENT));
        need(outer || found.isEmpty(), "the device requires " + found + ", which SectorCrypt does not support; it"
                + " must not be opened (LUKS2 3.5)");
        return outer;
    }

    private void checkNames(String object, int max) {
        JsonNode o = root.get(object);
        need(o.size() <= max, "there are " + o.size() + " " + object + "; at most " + max + " are allowed");
        for (Map.Entry<String, JsonNode> e : fields(o)) {
            int n = decimal(e.getKey(), object);
            need(n < max, object + " object '" + n + "' is out of range (0.." + (max - 1) + ")");
            need(e.getValue().isObject(), object + " object '" + n + "' is not an object");
            text(e.getValue(), "type", object + " " + n);
        }
    }

    private static int decimal(String name, String ctx) {
        need(name.length() >= 1 && name.length() <= 3 && name.chars().allMatch(c -> c >= '0' && c <= '9')
                && (name.length() == 1 || name.charAt(0) != '0'), ctx + ": '" + shortText(name)
                        + "' is not a small decimal object name");
        return Integer.parseInt(name);
    }

    private static String text(JsonNode node, String field, String ctx) {
        JsonNode v = node.get(field);
        need(v != null && v.isTextual(), ctx + " has no string '" + field + "'");
        return v.asText();
    }

    /**
     * A vault id, key, disk or set name: checked here, so the refusal shows the value made
     * printable (the key classes' own messages echo it as it is, control characters and all).
     */
    private static String name(JsonNode node, String field, boolean vaultId, String ctx) {
        String s = text(node, field, ctx);
        try {
            return vaultId ? Names.vaultId(s) : Names.keyName(s);
        } catch (IllegalArgumentException e) {
            throw new Luks2FormatException(ctx + "." + field + " '" + shortText(s) + "' is not a valid name (at most "
                    + (vaultId ? Names.MAX_VAULT_ID : Names.MAX_KEY_NAME) + " letters, digits and . _ @ : -, starting"
                    + " with a letter or digit)");
        }
    }

    private static int firstFree(ObjectNode o, int max, String what) {
        for (int i = 0; i < max; i++) {
            if (!o.has(Integer.toString(i))) {
                return i;
            }
        }
        throw new Luks2FormatException("all " + max + " " + what + " numbers are in use");
    }

    private static List<Map.Entry<String, JsonNode>> fields(JsonNode o) {
        List<Map.Entry<String, JsonNode>> list = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = o.fields(); it.hasNext();) {
            list.add(it.next());
        }
        return list;
    }

    private static void need(boolean condition, String message) {
        if (!condition) {
            throw new Luks2FormatException(message);
        }
    }

    /** A header value quoted in a refusal: {@link Luks2Json#printable}, up to 40 characters. */
    private static String shortText(String s) {
        return Luks2Json.printable(s, 40);
    }

    /**
     * What is wrong with unparsable JSON, and where. Not Jackson's own text: it quotes the
     * offending token, which may be a piece of a wrapped key, a digest or a salt.
     */
    private static String jsonError(Exception e) {
        if (e instanceof StreamConstraintsException limit) { // nesting, number or string length: no content
            return firstLine(limit.getOriginalMessage());
        }
        String what = e instanceof JsonParseException p && p.getOriginalMessage() != null
                && p.getOriginalMessage().startsWith("Duplicate field") ? "a duplicate field" : "a syntax error";
        if (e instanceof JsonProcessingException j && j.getLocation() != null) {
            return what + " at byte " + j.getLocation().getByteOffset();
        }
        return what;
    }

    private static String firstLine(String s) {
        if (s == null) {
            return "(no detail)";
        }
        int nl = s.indexOf('\n');
        return shortText(nl < 0 ? s : s.substring(0, nl));
    }

    @Override
    public String toString() {
        return "Luks2Metadata[segment " + segment + ", keyslots " + keyslotAreas.keySet() + ", envelope "
                + envelope.map(k -> k.setId()).orElse("none") + "]";
    }
}
