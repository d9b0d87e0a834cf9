package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.BigIntegerNode;
import com.fasterxml.jackson.databind.node.BooleanNode;
import com.fasterxml.jackson.databind.node.DecimalNode;
import com.fasterxml.jackson.databind.node.DoubleNode;
import com.fasterxml.jackson.databind.node.IntNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.LongNode;
import com.fasterxml.jackson.databind.node.NullNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.databind.node.TextNode;
import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.volume.luks2.Luks2BinaryHeader;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Seeded mutation fuzzing of the LUKS2 header reader ({@link Luks2Header#read}): real
 * headers (ours, with an envelope token, and cryptsetup's) are mutated at the byte level of
 * the whole two-copy header region, with and without re-computing the SHA-256 checksums (a
 * mutation that leaves the checksum wrong never reaches the JSON validator), and at the
 * JSON level (fields deleted, duplicated, retyped; hostile numbers, nesting, arrays, base64,
 * types, requirements, keyslot areas, tokens), then re-sealed. Each image must be either
 * refused with one clean {@link Luks2FormatException} (names the disk, one bounded line,
 * printable, no key material) or parsed to a state that is valid and serialises faithfully.
 * Any other throwable, or a read taking more than {@value #MAX_PARSE_MILLIS} ms of CPU time
 * (CPU, not wall time: a busy CI machine must not fail it), fails the test.
 *
 * <p>Deterministic: iteration {@code i} of run seed {@code S} mutates with
 * {@code new Random(mix(S, i))} (the seeds in use, with or without cryptsetup's, are part of
 * the input). The base headers carry fresh random salts and keys, so a failing image is also
 * written to {@code target/luks2-fuzz/}; replay it with {@code -Dsectorcrypt.fuzz.replay=<file>},
 * or rerun the mutations with {@code -Dsectorcrypt.fuzz.seed=S -Dsectorcrypt.fuzz.only=i};
 * {@code -Dsectorcrypt.fuzz.iterations=N} runs longer.
 */
class Luks2HeaderFuzzTest {
    static final long SEED = Long.decode(System.getProperty("sectorcrypt.fuzz.seed", "0x5ec7c0de"));
    static final int ITERATIONS = Integer.getInteger("sectorcrypt.fuzz.iterations", 100_000);
    static final int ONLY = Integer.getInteger("sectorcrypt.fuzz.only", -1);
    static final String REPLAY = System.getProperty("sectorcrypt.fuzz.replay");
    static final long MAX_PARSE_MILLIS = 1000;
    /** A message longer than this is not "one line an operator reads". */
    static final int MAX_MESSAGE = 1024;
    static final String DISK = "/dev/fuzzed-disk";
    static final int HDR = (int) Luks2BinaryHeader.DEFAULT_HDR_SIZE;
    static final int CSUM_OFF = 448;
    static final ObjectMapper JSON = new ObjectMapper();
    static final java.lang.management.ThreadMXBean CPU = java.lang.management.ManagementFactory.getThreadMXBean();
    static final JsonNodeFactory F = JsonNodeFactory.instance;

    /** A real header region (both 16 KiB copies) and the secrets no message may show. */
    record Seed(String name, byte[] image, ObjectNode json, String secrets) {
    }

    @TempDir
    static Path dir;
    static final List<Seed> SEEDS = new ArrayList<>();

    @BeforeAll
    static void makeSeeds() throws Exception {
        StringBuilder secrets = new StringBuilder();
        try (VolumeFixture f = new VolumeFixture(dir)) {
            for (String set : new String[] {"cust", "plat"}) {
                Path disk = dir.resolve(set + ".img");
                f.volumes.create(disk, VolumeSpec.of(1 << 20, set)).close();
                byte[] dek = f.dek(disk, null);
                secrets.append(HexFormat.of().formatHex(dek)).append(' ').append(HexFormat.of().withUpperCase()
                        .formatHex(dek)).append(' ').append(Base64.getEncoder().encodeToString(dek)).append(' ');
                SEEDS.add(seed("sectorcrypt-" + set, disk, secrets));
                if (set.equals("cust") && cryptsetupPresent()) {
                    // The same volume with a cryptsetup passphrase keyslot beside our token.
                    Path keyFile = dir.resolve("dek.bin");
                    Files.write(keyFile, dek);
                    Path pass = dir.resolve("pass.txt");
                    Files.writeString(pass, "fuzz");
                    VolumeFixture.Result add = VolumeFixture.cryptsetup(dir, "luksAddKey", "--batch-mode",
                            "--key-size", "512", "--volume-key-file", keyFile.toString(), "--pbkdf", "pbkdf2",
                            "--pbkdf-force-iterations", "1000", disk.toString(), pass.toString());
                    assertEquals(0, add.exit(), add.err());
                    SEEDS.add(seed("sectorcrypt-cust+keyslot", disk, secrets));
                }
            }
        }
        if (cryptsetupPresent() || "true".equals(System.getenv("CI"))) {
            Path disk = dir.resolve("cryptsetup.img");
            Path vk = dir.resolve("vk.bin");
            byte[] volumeKey = new byte[64];
            new Random(SEED).nextBytes(volumeKey);
            Files.write(vk, volumeKey);
            secrets.append(HexFormat.of().formatHex(volumeKey)).append(' ')
                    .append(Base64.getEncoder().encodeToString(volumeKey)).append(' ');
            Path pass = dir.resolve("pass.txt");
            Files.writeString(pass, "fuzz");
            try (var ch = java.nio.channels.FileChannel.open(disk, java.nio.file.StandardOpenOption.CREATE_NEW,
                    java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(0).write(ByteBuffer.allocate(1), (2 << 20) - 1);
            }
            VolumeFixture.Result format = VolumeFixture.cryptsetup(dir, "luksFormat", "--type", "luks2",
                    "--batch-mode", "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000", "--luks2-metadata-size",
                    "16k", "--luks2-keyslots-size", "256k", "--key-size", "512", "--volume-key-file", vk.toString(),
                    "--key-file", pass.toString(), disk.toString());
            assertEquals(0, format.exit(), format.err());
            VolumeFixture.Result token = VolumeFixture.cryptsetup(dir, "token", "add", "--key-description",
                    "sectorcrypt-fuzz", "--key-slot", "0", disk.toString());
            assertEquals(0, token.exit(), token.err());
            SEEDS.add(seed("cryptsetup", disk, secrets));
        }
    }

    static boolean cryptsetupPresent() {
        return Files.isExecutable(Path.of("/usr/sbin/cryptsetup")) || Files.isExecutable(Path.of("/sbin/cryptsetup"))
                || Files.isExecutable(Path.of("/usr/bin/cryptsetup"));
    }

    private static Seed seed(String name, Path disk, StringBuilder secrets) throws IOException {
        byte[] image = Arrays.copyOf(Files.readAllBytes(disk), 2 * HDR);
        ObjectNode json = (ObjectNode) JSON.readTree(jsonText(image, 0));
        // Everything base64 in the header (wrapped DEKs, digests, salts) counts as key material.
        for (JsonNode n : json.findValues("data")) {
            secrets.append(n.asText()).append(' ');
        }
        for (String field : new String[] {"digest", "salt"}) {
            for (JsonNode n : json.findValues(field)) {
                if (n.isTextual()) {
                    secrets.append(n.asText()).append(' ');
                }
            }
        }
        return new Seed(name, image, json, secrets.toString());
    }

    private static String jsonText(byte[] image, int copy) {
        int end = copy + 4096;
        while (image[end] != 0) {
            end++;
        }
        return new String(image, copy + 4096, end - copy - 4096, StandardCharsets.UTF_8);
    }

    // -- the test ---------------------------------------------------------------------------

    /** What one iteration did and how the reader answered. */
    record Outcome(String mutation, boolean parsed, String reason) {
    }

    /**
     * Default execution only: the reader's one cryptographic step is the JDK's SHA-256, the
     * same under either policy, so the FIPS execution would only run the same work twice.
     */
    @Test
    @Tag("default-only")
    void everyMutatedHeaderIsRefusedCleanlyOrParsesToAValidState() throws Exception {
        if (REPLAY != null) {
            byte[] image = Files.readAllBytes(Path.of(REPLAY));
            System.out.println("replayed " + REPLAY + ": " + check(image, SEEDS.getFirst(), true));
            return;
        }
        Map<String, LongAdder[]> byMutation = new ConcurrentHashMap<>();
        Map<String, LongAdder> byReason = new ConcurrentHashMap<>();
        ConcurrentSkipListMap<Integer, String> failures = new ConcurrentSkipListMap<>();
        AtomicLong slowestNanos = new AtomicLong();
        LongAdder cpuNanos = new LongAdder();
        long start = System.nanoTime();
        IntStream range = ONLY >= 0 ? IntStream.of(ONLY) : IntStream.range(0, ITERATIONS);
        range.parallel().forEach(i -> {
            if (failures.size() >= 10) {
                return;
            }
            Random r = new Random(mix(SEED, i));
            Seed seed = SEEDS.get(r.nextInt(SEEDS.size()));
            String[] mutation = {"?"};
            byte[] image = null;
            long cpu0 = CPU.getCurrentThreadCpuTime();
            try {
                Mutated m = mutate(seed, r);
                mutation[0] = m.name();
                image = m.image();
                long t0 = CPU.getCurrentThreadCpuTime();
                Outcome o = check(image, seed, i % 4 == 0);
                long t1 = CPU.getCurrentThreadCpuTime();
                slowestNanos.accumulateAndGet(t1 - t0, Math::max);
                cpuNanos.add(t1 - cpu0);
                byMutation.computeIfAbsent(m.name(), k -> new LongAdder[] {new LongAdder(), new LongAdder()})[
                        o.parsed() ? 0 : 1].increment();
                byReason.computeIfAbsent(o.parsed() ? "(parsed)" : category(o.reason()), k -> new LongAdder())
                        .increment();
            } catch (Throwable t) {
                String where = "iteration " + i + " (" + seed.name() + ", " + mutation[0] + ")";
                failures.put(i, where + ": " + t + (t.getCause() != null ? " caused by " + t.getCause() : "") + "\n"
                        + stack(t) + "    image: " + saveFailure(i, image));
            }
        });
        long elapsedMs = (System.nanoTime() - start) / 1_000_000;
        long total = byMutation.values().stream().mapToLong(a -> a[0].sum() + a[1].sum()).sum();
        StringBuilder report = new StringBuilder();
        report.append(String.format("LUKS2 header fuzz, seed 0x%x, seeds %s: %d mutated headers in %d ms"
                + " (%d ms of CPU), slowest check %.1f ms of CPU%n", SEED, SEEDS.stream().map(Seed::name).toList(),
                total, elapsedMs, cpuNanos.sum() / 1_000_000, slowestNanos.get() / 1e6));
        new TreeMap<>(byMutation).forEach((k, v) -> report.append(String.format("  %-22s parsed %7d  refused %7d%n",
                k, v[0].sum(), v[1].sum())));
        report.append("  most frequent outcomes:\n");
        byReason.entrySet().stream().sorted((a, b) -> Long.compare(b.getValue().sum(), a.getValue().sum())).limit(25)
                .forEach(e -> report.append(String.format("  %8d  %s%n", e.getValue().sum(), e.getKey())));
        System.out.print(report);
        if (!failures.isEmpty()) {
            fail(failures.size() + " failing iterations (seed 0x" + Long.toHexString(SEED) + "; rerun one with"
                    + " -Dsectorcrypt.fuzz.seed=0x" + Long.toHexString(SEED) + " -Dsectorcrypt.fuzz.only=N):\n"
                    + String.join("\n", failures.values()));
        }
        if (ONLY < 0) {
            assertEquals(ITERATIONS, total);
        }
        if (slowestNanos.get() > MAX_PARSE_MILLIS * 1_000_000) {
            fail("a header took " + slowestNanos.get() / 1_000_000 + " ms of CPU to check; the bound is "
                    + MAX_PARSE_MILLIS);
        }
    }

    /** What the fuzzer found, pinned: each was a message with raw or unbounded content, or a silent change. */
    @Test
    void whatTheFuzzerFoundStaysFixed() throws Exception {
        Seed seed = SEEDS.getFirst();
        ObjectNode token = (ObjectNode) seed.json().get("tokens").get("0");
        ObjectNode copy = (ObjectNode) token.get("layers").get(0).get("wrapped").get(0);
        // A name with a line break was echoed as it is by the key classes' checks.
        assertRefused(seed, edit(seed, t -> t.get("tokens").get("0"), "disk", TextNode.valueOf("x\ny")),
                "token 0.disk 'x?y' is not a valid name");
        assertRefused(seed, edit(seed, t -> t.get("tokens").get("0").get("layers").get(0).get("wrapped").get(0),
                "key", TextNode.valueOf("\u0000")), "token 0.key '?' is not a valid name");
        // A number beyond double range read as Infinity and would have been written back as "Infinity".
        assertRefused(seed, splice(seed, "\"format\":1", "\"format\":1,\"x\":1e999"),
                "a number beyond the range of a double");
        // Whole arrays were printed into the message: thousands of characters.
        assertRefused(seed, splice(seed, "\"format\":1", "\"format\":[" + "0,".repeat(3000) + "0]"),
                "has format [0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0...");
        assertRefused(seed, splice(seed, "\"config\":{", "\"config\":{\"requirements\":[" + "0,".repeat(3000)
                + "0],"), "the device requires [0, 0, 0, 0, ...]");
        // Jackson's message quoted the broken token: here a piece of the wrapped DEK.
        String data = copy.get("data").asText();
        assertRefused(seed, splice(seed, "\"" + data + "\"", data),
                "the metadata is not valid JSON: a syntax error at byte");
    }

    private static byte[] edit(Seed seed, java.util.function.Function<JsonNode, JsonNode> where, String field,
            JsonNode value) throws IOException {
        ObjectNode json = seed.json().deepCopy();
        ((ObjectNode) where.apply(json)).set(field, value);
        return buildImage(seed, json, HDR, 1, 1);
    }

    private static byte[] splice(Seed seed, String from, String to) throws IOException {
        String text = JSON.writeValueAsString(seed.json());
        assertTrue(text.contains(from), from);
        return buildImage(seed, text.replace(from, to).getBytes(StandardCharsets.UTF_8), HDR, 1, 1);
    }

    private static void assertRefused(Seed seed, byte[] image, String part) throws IOException {
        Outcome o = check(image, seed, true);
        assertTrue(!o.parsed() && o.reason().contains(part), () -> "expected a refusal saying '" + part + "', got "
                + o.reason());
    }

    static long mix(long seed, int i) {
        long z = seed + 0x9e3779b97f4a7c15L * (i + 1);
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    private static String stack(Throwable t) {
        StringBuilder b = new StringBuilder();
        StackTraceElement[] trace = t.getStackTrace();
        for (int i = 0; i < Math.min(12, trace.length); i++) {
            b.append("        at ").append(trace[i]).append('\n');
        }
        return b.toString();
    }

    private static String saveFailure(int i, byte[] image) {
        if (image == null) {
            return "(not made)";
        }
        try {
            Path out = Path.of("target", "luks2-fuzz");
            Files.createDirectories(out);
            Path file = out.resolve(String.format("seed-%x-iteration-%d.img", SEED, i));
            Files.write(file, image);
            return file.toAbsolutePath() + " (replay: -Dsectorcrypt.fuzz.replay=<file>)";
        } catch (IOException e) {
            return "(could not save: " + e + ")";
        }
    }

    private static final Pattern NUMBERS = Pattern.compile("\\d+");
    private static final Pattern QUOTED = Pattern.compile("'[^']*'");

    private static String category(String reason) {
        String s = QUOTED.matcher(NUMBERS.matcher(reason.replace(DISK, "<disk>")).replaceAll("N")).replaceAll("'..'");
        return s.length() > 150 ? s.substring(0, 150) + "..." : s;
    }

    // -- the oracle ----------------------------------------------------------------------------

    /**
     * Reads {@code image} as a disk and judges the answer: a clean refusal or a valid state;
     * with {@code tryRepair}, a parsed header that needs repair is repaired and read again.
     * Throws {@link AssertionError} (or whatever the reader threw) otherwise.
     */
    static Outcome check(byte[] image, Seed seed, boolean tryRepair) throws IOException {
        Luks2Header h;
        long t0 = CPU.getCurrentThreadCpuTime();
        try (MemoryFileChannel ch = new MemoryFileChannel(image)) {
            try {
                h = Luks2Header.read(ch, DISK, CryptoPolicy.DEFAULT);
            } catch (Luks2FormatException e) {
                checkTime(t0);
                checkMessage(e, seed);
                return new Outcome(null, false, e.getMessage());
            }
            checkTime(t0);
            checkState(h, image);
            if (tryRepair && h.needsRepair()) {
                // What a writable open does next: both copies rewritten from the chosen one.
                Luks2BinaryHeader before = h.binary();
                byte[] json = h.metadata().toJson();
                h.repair();
                Luks2Header again = Luks2Header.read(ch, DISK, CryptoPolicy.DEFAULT);
                need(!again.needsRepair(), "a repaired header still needs repair");
                need(again.binary().seqid() == before.seqid() + 1, "repair did not raise the seqid by one");
                need(Arrays.equals(json, again.metadata().toJson()), "repair changed the metadata");
            }
            return new Outcome(null, true, null);
        }
    }

    /** CPU time, not wall time: the bound is on the reader's work, not on a busy machine's scheduling. */
    private static void checkTime(long t0) {
        long ms = (CPU.getCurrentThreadCpuTime() - t0) / 1_000_000;
        need(ms <= MAX_PARSE_MILLIS, "reading the header took " + ms + " ms");
    }

    private static final Pattern BASE64_RUN = Pattern.compile("[A-Za-z0-9+/=]{16,}");

    static void checkMessage(Luks2FormatException e, Seed seed) {
        String m = e.getMessage();
        need(m != null, "a refusal without a message");
        need(m.contains(DISK), () -> "the message does not name the disk: " + m);
        need(m.length() <= MAX_MESSAGE, () -> "a " + m.length() + "-character message: " + m.substring(0, 200));
        for (int i = 0; i < m.length(); i++) {
            char c = m.charAt(i);
            need(c >= 0x20 && c <= 0x7e, () -> "the message holds raw character 0x" + Integer.toHexString(c) + ": "
                    + m.replaceAll("[^\\x20-\\x7e]", "?"));
        }
        Matcher run = BASE64_RUN.matcher(m);
        while (run.find()) {
            String s = run.group();
            for (int i = 0; i + 16 <= s.length(); i++) {
                need(!seed.secrets().contains(s.substring(i, i + 16)), () -> "the message shows key material: " + m);
            }
        }
    }

    /** The invariants a parsed header promises its users (VolumeManager, VolumeInfo, the CLI). */
    static void checkState(Luks2Header h, byte[] image) throws IOException {
        Luks2BinaryHeader b = h.binary();
        Luks2Metadata m = h.metadata();
        need(b != null && m != null, "a parsed header without binary header or metadata");
        need(b.primary() && b.hdrOffset() == 0, "the chosen binary header is not described as the primary");
        need(m.hdrSize() == b.hdrSize(), "metadata and binary header disagree on the header size");
        // Serialisation is faithful: what we would write back is what we read, and it round-trips.
        byte[] json = m.toJson();
        need(json.length < b.hdrSize() - 4096, "the metadata no longer fits its JSON area");
        Luks2Metadata again = Luks2Metadata.parse(json, b.hdrSize());
        need(Arrays.equals(json, again.toJson()), "toJson() does not round-trip");
        JsonNode written = JSON.readTree(json);
        boolean matchesACopy = false;
        for (long copy : new long[] {0, b.hdrSize()}) {
            if (!matchesACopy && copy + b.hdrSize() <= image.length) {
                try {
                    byte[] area = Arrays.copyOfRange(image, (int) copy + 4096, (int) (copy + b.hdrSize()));
                    int end = 0;
                    while (end < area.length && area[end] != 0) {
                        end++;
                    }
                    matchesACopy |= JSON.readTree(Arrays.copyOf(area, end)).equals(written);
                } catch (IOException ignored) {
                    // that copy is not the one chosen
                }
            }
        }
        for (long other : Luks2BinaryHeader.HDR_SIZES) {
            if (!matchesACopy && other + b.hdrSize() <= image.length) {
                try {
                    byte[] area = Arrays.copyOfRange(image, (int) other + 4096, (int) (other + b.hdrSize()));
                    int end = 0;
                    while (end < area.length && area[end] != 0) {
                        end++;
                    }
                    matchesACopy = JSON.readTree(Arrays.copyOf(area, end)).equals(written);
                } catch (IOException ignored) {
                    // not there either
                }
            }
        }
        need(matchesACopy, () -> "toJson() is not the JSON read from either copy: " + new String(json,
                StandardCharsets.UTF_8));
        Luks2Metadata.CryptSegment seg = m.segment();
        need(seg.offset() % 4096 == 0 && seg.offset() >= 0, "segment offset " + seg.offset());
        need(seg.offset() == 0 || seg.offset() >= m.keyslotsEnd(), "segment inside the keyslots area");
        need(seg.dynamic() || (seg.size() > 0 && seg.size() % seg.sectorSize() == 0), "segment size " + seg.size());
        need(m.keyslotsSize() % 4096 == 0 && m.keyslotsSize() >= 0, "keyslots size " + m.keyslotsSize());
        need(m.digest() != null, "no digest for segment 0");
        List<Luks2Metadata.KeyslotArea> areas = new ArrayList<>();
        for (int slot : m.keyslots()) {
            Luks2Metadata.KeyslotArea a = m.keyslotArea(slot);
            need(a.offset() >= 2 * b.hdrSize() && a.size() > 0 && a.offset() + a.size() <= m.keyslotsEnd(),
                    "keyslot " + slot + " area outside the keyslots area");
            need(m.keyslot(slot).path("type").isTextual(), "keyslot " + slot + " without type");
            areas.add(a);
        }
        areas.sort((x, y) -> Long.compare(x.offset(), y.offset()));
        for (int i = 1; i < areas.size(); i++) {
            need(areas.get(i - 1).offset() + areas.get(i - 1).size() <= areas.get(i).offset(), "keyslot areas overlap");
        }
        m.envelope().ifPresent(k -> {
            need(!k.layers().isEmpty() && k.layers().size() <= 2, "envelope layers " + k.layers().size());
            k.layers().forEach(l -> need(!l.copies().isEmpty() && l.copies().size() <= 2, "layer copies"));
        });
        m.tokenTypes().forEach((id, type) -> need(id >= 0 && type != null, "token " + id));
        need(VolumeInfo.of(DISK, false, h, 1 << 20) != null, "no volume info");
        need(h.toString() != null && m.toString() != null, "toString");
    }

    private static void need(boolean condition, String what) {
        if (!condition) {
            throw new AssertionError(what);
        }
    }

    private static void need(boolean condition, java.util.function.Supplier<String> what) {
        if (!condition) {
            throw new AssertionError(what.get());
        }
    }

    // -- mutations ----------------------------------------------------------------------------

    record Mutated(String name, byte[] image) {
    }

    static Mutated mutate(Seed seed, Random r) throws IOException {
        int kind = r.nextInt(100);
        if (kind < 45) {
            return jsonMutation(seed, r);
        }
        byte[] img = seed.image().clone();
        String name;
        switch (r.nextInt(10)) {
            case 0, 1 -> {
                name = "bit-flips";
                int n = 1 + r.nextInt(r.nextBoolean() ? 2 : 16);
                for (int i = 0; i < n; i++) {
                    int at = somewhere(img, r);
                    img[at] ^= (byte) (1 << r.nextInt(8));
                }
            }
            case 2, 3 -> {
                name = "byte-sets";
                int n = 1 + r.nextInt(r.nextBoolean() ? 2 : 8);
                byte[] interesting = {0, (byte) 0xff, 0x7f, (byte) 0x80, '"', '{', '}', '[', ']', ',', ':', '0', '9',
                        '-', '\\', 'e', ' ', '\n', 1, (byte) 0xc3};
                for (int i = 0; i < n; i++) {
                    img[somewhere(img, r)] = interesting[r.nextInt(interesting.length)];
                }
            }
            case 4 -> {
                name = "range-overwrite";
                int at = somewhere(img, r);
                int len = Math.min(img.length - at, 1 + r.nextInt(r.nextBoolean() ? 64 : 4096));
                switch (r.nextInt(3)) {
                    case 0 -> Arrays.fill(img, at, at + len, (byte) 0);
                    case 1 -> Arrays.fill(img, at, at + len, (byte) 0xff);
                    default -> {
                        byte[] junk = new byte[len];
                        r.nextBytes(junk);
                        System.arraycopy(junk, 0, img, at, len);
                    }
                }
            }
            case 5 -> {
                name = "truncate";
                int[] edges = {0, 6, 511, 4095, 4096, 4097, HDR - 1, HDR, HDR + 4095, HDR + 4096, 2 * HDR - 1};
                int len = r.nextBoolean() ? edges[r.nextInt(edges.length)] : r.nextInt(img.length);
                img = Arrays.copyOf(img, len);
            }
            case 6 -> {
                name = "copy-over";
                boolean toSecondary = r.nextBoolean();
                System.arraycopy(img, toSecondary ? 0 : HDR, img, toSecondary ? HDR : 0, HDR);
                if (r.nextBoolean()) { // the copied header says where it is, as a sloppy tool would make it
                    byte[] magic = toSecondary ? new byte[] {'S', 'K', 'U', 'L'} : new byte[] {'L', 'U', 'K', 'S'};
                    System.arraycopy(magic, 0, img, toSecondary ? HDR : 0, 4);
                    ByteBuffer.wrap(img).putLong((toSecondary ? HDR : 0) + 256, toSecondary ? HDR : 0);
                }
            }
            case 7 -> {
                name = "seqid";
                long[] values = {0, 1, 2, -1, Long.MAX_VALUE, Long.MIN_VALUE, r.nextLong()};
                ByteBuffer b = ByteBuffer.wrap(img);
                long other = b.getLong(HDR + 16);
                b.putLong((r.nextBoolean() ? 0 : HDR) + 16, r.nextBoolean() ? values[r.nextInt(values.length)]
                        : other + r.nextInt(3) - 1);
            }
            case 8 -> {
                name = "binary-fields";
                ByteBuffer b = ByteBuffer.wrap(img);
                int copy = r.nextBoolean() ? 0 : HDR;
                long[] sizes = {0, -1, 4096, 16383, 16385, 32768, 65536, 4194304, 8388608, 1L << 62, Long.MIN_VALUE};
                switch (r.nextInt(6)) {
                    case 0 -> b.putLong(copy + 8, sizes[r.nextInt(sizes.length)]);
                    case 1 -> b.putLong(copy + 256, sizes[r.nextInt(sizes.length)]);
                    case 2 -> b.putShort(copy + 6, (short) r.nextInt(4));
                    case 3 -> { // an unterminated or non-ASCII text field: label, checksum algorithm, uuid, subsystem
                        int[] fields = {24, 72, 168, 208};
                        int[] lengths = {48, 32, 40, 48};
                        int f = r.nextInt(4);
                        byte fill = r.nextBoolean() ? (byte) 'A' : (byte) (0x80 + r.nextInt(128));
                        Arrays.fill(img, copy + fields[f], copy + fields[f] + lengths[f] - (r.nextBoolean() ? 0 : 1),
                                fill);
                    }
                    case 4 -> img[copy + 264 + r.nextInt(CSUM_OFF - 264)] = (byte) (1 + r.nextInt(255));
                    default -> img[copy + CSUM_OFF + 32 + r.nextInt(4096 - CSUM_OFF - 32)] = 1;
                }
            }
            default -> {
                name = "damaged-copy";
                int copy = r.nextBoolean() ? 0 : HDR;
                switch (r.nextInt(3)) {
                    case 0 -> Arrays.fill(img, copy, copy + HDR, (byte) 0);
                    case 1 -> {
                        byte[] junk = new byte[HDR];
                        r.nextBytes(junk);
                        System.arraycopy(junk, 0, img, copy, HDR);
                    }
                    default -> { // torn: a newer version of this copy, written only in part
                        byte[] newer = buildImage(seed, newerVersion(seed.json()), HDR, 1, 1);
                        int len = 1 + r.nextInt(HDR - 1);
                        System.arraycopy(newer, copy, img, copy, len);
                    }
                }
            }
        }
        boolean reseal = r.nextBoolean();
        if (reseal) {
            reseal(img, 0, r.nextInt(8) == 0);
            reseal(img, secondaryOffset(img), false);
        }
        return new Mutated(name + (reseal ? "+csum" : ""), img);
    }

    /** Where to hit: the binary headers, the JSON text (where the validator looks), or anywhere. */
    private static int somewhere(byte[] img, Random r) {
        int copy = r.nextBoolean() || img.length < 2 * HDR ? 0 : HDR;
        int pick = r.nextInt(10);
        if (pick < 2) {
            return copy + r.nextInt(512);
        }
        if (pick < 8) {
            int end = copy + 4096;
            while (end < img.length - 1 && img[end] != 0) {
                end++;
            }
            return copy + 4096 + r.nextInt(Math.max(1, end - copy - 4096 + 1));
        }
        return r.nextInt(img.length);
    }

    private static int secondaryOffset(byte[] img) {
        if (img.length < 16) {
            return HDR;
        }
        long declared = ByteBuffer.wrap(img).getLong(8);
        return declared > 0 && declared <= img.length / 2 && Long.bitCount(declared) == 1 ? (int) declared : HDR;
    }

    /** Recomputes one copy's SHA-256 over its declared size, so the JSON validator is reached. */
    static void reseal(byte[] img, int at, boolean wholeImage) {
        if (at + 4096 > img.length) {
            return;
        }
        long declared = ByteBuffer.wrap(img).getLong(at + 8);
        long size = wholeImage || declared <= 0 || declared > img.length - at ? HDR : declared;
        if (at + size > img.length) {
            return;
        }
        Arrays.fill(img, at + CSUM_OFF, at + CSUM_OFF + 64, (byte) 0);
        byte[] digest = sha256(img, at, (int) size);
        System.arraycopy(digest, 0, img, at + CSUM_OFF, 32);
    }

    static byte[] sha256(byte[] b, int off, int len) {
        try {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            md.update(b, off, len);
            return md.digest();
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static ObjectNode newerVersion(ObjectNode json) {
        ObjectNode copy = json.deepCopy();
        if (copy.get("config") instanceof ObjectNode config) {
            config.put("keyslots_size", Long.toString(config.path("keyslots_size").asLong() - 4096));
        }
        return copy;
    }

    /**
     * Both copies of a header whose JSON area holds {@code json} (cut at the area's end if
     * longer), sealed with correct checksums, seqids from the seed plus the given steps.
     */
    static byte[] buildImage(Seed seed, Object json, int hdrSize, int primaryStep, int secondaryStep)
            throws IOException {
        byte[] text = json instanceof byte[] raw ? raw : JSON.writeValueAsBytes(json);
        byte[] img = new byte[2 * hdrSize];
        long seqid = ByteBuffer.wrap(seed.image()).getLong(16);
        for (int copy = 0; copy < 2; copy++) {
            int at = copy * hdrSize;
            System.arraycopy(seed.image(), copy * HDR, img, at, 4096);
            ByteBuffer b = ByteBuffer.wrap(img);
            b.putLong(at + 8, hdrSize).putLong(at + 16, seqid + (copy == 0 ? primaryStep : secondaryStep))
                    .putLong(at + 256, at);
            System.arraycopy(text, 0, img, at + 4096, Math.min(text.length, hdrSize - 4096));
            reseal(img, at, false);
        }
        return img;
    }

    // -- JSON-level mutations -------------------------------------------------------------------

    /** A place in the tree: a field of an object or an element of an array. */
    record Slot(JsonNode parent, String field, int index, String path) {
        JsonNode get() {
            return field != null ? parent.get(field) : parent.get(index);
        }

        void set(JsonNode v) {
            if (field != null) {
                ((ObjectNode) parent).set(field, v);
            } else {
                ((ArrayNode) parent).set(index, v);
            }
        }

        void remove() {
            if (field != null) {
                ((ObjectNode) parent).remove(field);
            } else {
                ((ArrayNode) parent).remove(index);
            }
        }
    }

    static List<Slot> slots(JsonNode root) {
        List<Slot> out = new ArrayList<>();
        collect(root, "", out);
        return out;
    }

    private static void collect(JsonNode node, String path, List<Slot> out) {
        if (node.isObject()) {
            for (Iterator<String> it = node.fieldNames(); it.hasNext();) {
                String f = it.next();
                out.add(new Slot(node, f, -1, path + "." + f));
                collect(node.get(f), path + "." + f, out);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                out.add(new Slot(node, null, i, path + "[" + i + "]"));
                collect(node.get(i), path + "[" + i + "]", out);
            }
        }
    }

    private static <T> T pick(Random r, List<T> list) {
        return list.get(r.nextInt(list.size()));
    }

    @SafeVarargs
    private static <T> T pick(Random r, T... choices) {
        return choices[r.nextInt(choices.length)];
    }

    /** Raw JSON text standing in for a value; spliced in after serialisation. */
    private static final class Raw {
        final List<String> texts = new ArrayList<>();

        JsonNode node(String text) {
            texts.add(text);
            return TextNode.valueOf("\u0001RAW" + (texts.size() - 1) + "\u0001");
        }

        String splice(String json) {
            for (int i = 0; i < texts.size(); i++) {
                json = json.replace("\"\\u0001RAW" + i + "\\u0001\"", texts.get(i));
            }
            return json;
        }
    }

    static final String[] UINT64 = {"", "0", "-1", "+1", " 1", "1 ", "007", "0x10", "1e3", "4096.0",
        "9223372036854775807", "9223372036854775808", "18446744073709551615", "18446744073709551616",
        "99999999999999999999999999999999", "4095", "4097", "12288", "16384", "32768", "1048576", "16777216",
        "dynamic", "\u0663", "1\u0000"};
    static final String[] BASE64 = {"", "!!!!", "AAA", "A===", "AAAA====", "AAAAAAAAAAAAAAAAAAAAAA==", "AA AA",
        "AAAA\nAAAA", "-_-_", "AAECAwQFBgcICQoLDA0O", "=AAA"};
    static final String[] TYPES = {"crypt", "linear", "reencrypt", "luks2", "reencrypt", "pbkdf2", "argon2i",
        "argon2id", Luks2Metadata.ENVELOPE_TOKEN_TYPE, "luks2-keyring", "systemd-tpm2", "raw", "", "CRYPT",
        "crypt\u0000", "\u00e9"};
    static final String[] NAMES = {"0", "1", "01", "-1", "31", "32", "999", "1000", "a", "", " 0", "0 ", "\u0663",
        "+1", "00", "2147483648", "99999999999"};

    static JsonNode weird(Random r, Raw raw) {
        return switch (r.nextInt(24)) {
            case 0 -> NullNode.instance;
            case 1 -> BooleanNode.valueOf(r.nextBoolean());
            case 2 -> IntNode.valueOf(pick(r, 0, -1, 1, 511, 4096, 8192, Integer.MAX_VALUE, Integer.MIN_VALUE));
            case 3 -> LongNode.valueOf(pick(r, Long.MAX_VALUE, Long.MIN_VALUE, 1L << 32, -(1L << 40)));
            case 4 -> BigIntegerNode.valueOf(BigInteger.TWO.pow(pick(r, 63, 64, 100, 128)));
            case 5 -> DoubleNode.valueOf(pick(r, 1.5, -0.0, 1e308, 4096.0, 0.1));
            case 6 -> DecimalNode.valueOf(new BigDecimal(pick(r, "1e999", "1e-999", "-1e400", "1e39")));
            case 7 -> raw.node(pick(r, "1e999999999", "-0", "123456789012345678901234567890123456789",
                    "12345678901234567890123456789012345678901", "1E400", "0.000000000000000000001", "4096e0"));
            case 8, 9 -> TextNode.valueOf(pick(r, UINT64));
            case 10 -> TextNode.valueOf(pick(r, BASE64));
            case 11 -> TextNode.valueOf(pick(r, TYPES));
            case 12 -> TextNode.valueOf(pick(r, "\n", "a\nb", "\u0000", "\u00e9\u00e8", "\ud83d\ude00", "\t", "'",
                    "%s%n", "\\", "\"", "\u202e"));
            case 13 -> TextNode.valueOf("A".repeat(pick(r, 40, 41, 127, 128, 255, 256, 4000)));
            case 14 -> F.arrayNode();
            case 15 -> F.arrayNode().add("0");
            case 16 -> F.arrayNode().add("0").add("0");
            case 17 -> F.arrayNode().add(0);
            case 18 -> F.arrayNode().add(F.objectNode());
            case 19 -> F.objectNode();
            case 20 -> F.objectNode().put("type", pick(r, TYPES));
            case 21 -> raw.node(nest(r, pick(r, 31, 32, 33, 100, 1000, 3000)));
            case 22 -> raw.node(hugeArray(r));
            default -> TextNode.valueOf(pick(r, UINT64));
        };
    }

    private static String nest(Random r, int depth) {
        boolean objects = r.nextBoolean();
        return (objects ? "{\"a\":" : "[").repeat(depth) + "0" + (objects ? "}" : "]").repeat(depth);
    }

    private static String hugeArray(Random r) {
        String element = pick(r, "0", "\"0\"", "{}", "[]", "\"1\"", "null");
        int n = pick(r, 100, 1000, 2000, 5000);
        return "[" + (element + ",").repeat(n - 1) + element + "]";
    }

    static Mutated jsonMutation(Seed seed, Random r) throws IOException {
        ObjectNode root = seed.json().deepCopy();
        Raw raw = new Raw();
        int hdrSize = r.nextInt(20) == 0 ? pick(r, 32768, 65536) : HDR;
        if (hdrSize != HDR && r.nextInt(5) != 0 && root.path("config").isObject()) {
            ((ObjectNode) root.get("config")).put("json_size", Long.toString(hdrSize - 4096));
        }
        List<String> names = new ArrayList<>();
        int n = 1 + (r.nextInt(3) == 0 ? r.nextInt(3) : 0);
        String[] dup = null;
        for (int i = 0; i < n; i++) {
            String what = jsonStep(root, r, raw);
            if (what.equals("duplicate-key")) {
                dup = duplicateTarget(root, r);
                if (dup == null) {
                    what = "duplicate-key(none)";
                }
            }
            names.add(what);
        }
        String text = JSON.writeValueAsString(root);
        if (dup != null) {
            int at = text.indexOf(dup[0]);
            if (at >= 0) {
                text = text.substring(0, at) + dup[1] + text.substring(at + dup[0].length());
            }
        }
        text = raw.splice(text);
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        if (r.nextInt(8) == 0) {
            names.add("text");
            bytes = textStep(bytes, r);
        }
        String name = names.size() == 1 ? names.getFirst() : "multi(" + names.size() + ")";
        int placement = r.nextInt(10);
        byte[] img;
        if (placement < 6) {
            img = buildImage(seed, bytes, hdrSize, 1, 1);
        } else {
            // One copy new, the other the seed's: a torn update, or a stale copy.
            boolean newPrimary = placement < 8;
            byte[] fresh = buildImage(seed, bytes, hdrSize, newPrimary ? 1 : 0, newPrimary ? 0 : 1);
            img = fresh;
            if (hdrSize == HDR) {
                System.arraycopy(seed.image(), newPrimary ? HDR : 0, img, newPrimary ? HDR : 0, HDR);
            }
            name += newPrimary ? "@primary" : "@secondary";
        }
        return new Mutated("json:" + name.replaceAll("\\(.*", ""), img);
    }

    /** Finds an object to give a duplicate key: returns {its text, the text with a duplicate}. */
    private static String[] duplicateTarget(ObjectNode root, Random r) throws IOException {
        List<Slot> objects = slots(root).stream().filter(s -> s.get().isObject() && !s.get().isEmpty()).toList();
        if (objects.isEmpty()) {
            return null;
        }
        JsonNode o = pick(r, objects).get();
        String text = JSON.writeValueAsString(o);
        List<String> fields = new ArrayList<>();
        o.fieldNames().forEachRemaining(fields::add);
        String f = pick(r, fields);
        String extra = JSON.writeValueAsString(f) + ":" + JSON.writeValueAsString(r.nextBoolean() ? o.get(f)
                : TextNode.valueOf("0")) + ",";
        return new String[] {text, "{" + extra + text.substring(1)};
    }

    private static String jsonStep(ObjectNode root, Random r, Raw raw) {
        List<Slot> all = slots(root);
        switch (r.nextInt(16)) {
            case 0 -> {
                if (!all.isEmpty()) {
                    pick(r, all).remove();
                }
                return "delete";
            }
            case 1, 2 -> {
                if (!all.isEmpty()) {
                    pick(r, all).set(weird(r, raw));
                }
                return "retype";
            }
            case 3 -> {
                return "duplicate-key";
            }
            case 4 -> {
                List<Slot> numbers = all.stream().filter(s -> s.get().isTextual() && s.get().asText().matches("\\d+")
                        || s.get().isNumber()).toList();
                if (!numbers.isEmpty()) {
                    Slot s = pick(r, numbers);
                    s.set(r.nextBoolean() ? TextNode.valueOf(pick(r, UINT64)) : weird(r, raw));
                }
                return "numbers";
            }
            case 5 -> {
                List<Slot> b64 = all.stream().filter(s -> "salt".equals(s.field()) || "digest".equals(s.field())
                        || "data".equals(s.field())).toList();
                if (!b64.isEmpty()) {
                    pick(r, b64).set(TextNode.valueOf(r.nextInt(4) == 0 ? Base64.getEncoder().encodeToString(
                            new byte[pick(r, 0, 1, 15, 16, 63, 64, 65, 256, 257, 1024, 1025)]) : pick(r, BASE64)));
                }
                return "base64";
            }
            case 6 -> {
                List<Slot> types = all.stream().filter(s -> "type".equals(s.field())).toList();
                if (!types.isEmpty()) {
                    pick(r, types).set(TextNode.valueOf(pick(r, TYPES)));
                }
                return "types";
            }
            case 7 -> {
                JsonNode req = switch (r.nextInt(8)) {
                    case 0 -> F.objectNode().set("mandatory", F.arrayNode().add("online-reencrypt-v2"));
                    case 1 -> F.objectNode().set("mandatory", F.arrayNode());
                    case 2 -> F.objectNode();
                    case 3 -> F.arrayNode();
                    case 4 -> F.objectNode().put("mandatory", "x\ny");
                    case 5 -> F.objectNode().set("mandatory", F.arrayNode().add(1).add(F.objectNode()).add("\u0000"));
                    case 6 -> F.objectNode().set("optional", F.arrayNode().add("x"));
                    default -> weird(r, raw);
                };
                if (root.path("config").isObject()) {
                    ((ObjectNode) root.get("config")).set("requirements", req);
                }
                return "requirements";
            }
            case 8 -> {
                keyslotAreas(root, r);
                return "keyslot-areas";
            }
            case 9 -> {
                tokens(root, r);
                return "tokens";
            }
            case 10 -> {
                envelope(root, r, raw);
                return "envelope";
            }
            case 11 -> {
                segmentsAndDigests(root, r, raw);
                return "segments-digests";
            }
            case 12 -> {
                rename(root, r);
                return "object-names";
            }
            case 13 -> {
                String top = pick(r, "keyslots", "tokens", "segments", "digests", "config");
                switch (r.nextInt(3)) {
                    case 0 -> root.remove(top);
                    case 1 -> root.set(top, weird(r, raw));
                    default -> root.set(pick(r, "x", "keyslots\u0000", "Keyslots"), F.objectNode());
                }
                return "top-level";
            }
            case 14 -> {
                List<Slot> objects = all.stream().filter(s -> s.get().isObject()).toList();
                ObjectNode target = objects.isEmpty() ? root : (ObjectNode) pick(r, objects).get();
                target.set(pick(r, "type", "x", "keyslots", "area", "priority", "\u0000", ""), weird(r, raw));
                return "add-field";
            }
            default -> {
                List<Slot> values = all.stream().filter(s -> s.get().isValueNode()).toList();
                if (!values.isEmpty()) {
                    pick(r, values).set(raw.node(r.nextBoolean() ? nest(r, pick(r, 30, 33, 2000)) : hugeArray(r)));
                }
                return "nesting-arrays";
            }
        }
    }

    private static ObjectNode child(ObjectNode root, String name) {
        return root.get(name) instanceof ObjectNode o ? o : null;
    }

    private static void keyslotAreas(ObjectNode root, Random r) {
        ObjectNode keyslots = child(root, "keyslots");
        ObjectNode config = child(root, "config");
        if (keyslots == null) {
            return;
        }
        long ksEnd = 2L * HDR + (config != null ? config.path("keyslots_size").asLong(262144) : 262144);
        List<Long> existing = new ArrayList<>();
        keyslots.forEach(k -> existing.add(k.path("area").path("offset").asLong(2L * HDR)));
        long base = existing.isEmpty() ? 2L * HDR : pick(r, existing);
        long offset = pick(r, 2L * HDR, 2L * HDR + 4096, ksEnd - 4096, ksEnd, ksEnd + 4096, 0L, (long) HDR, base,
                base + 2048, base + 258048 - 512, 1L << 62, Long.MAX_VALUE, Long.MAX_VALUE - 4095);
        long size = pick(r, 4096L, 258048L, 0L, ksEnd, ksEnd - 2L * HDR, ksEnd - 2L * HDR + 4096, Long.MAX_VALUE,
                1L << 62);
        String id = r.nextBoolean() ? Integer.toString(r.nextInt(34)) : pick(r, NAMES);
        if (r.nextBoolean() && keyslots.size() > 0) {
            if (keyslots.elements().next().path("area") instanceof ObjectNode area) {
                if (r.nextBoolean()) {
                    area.put("offset", Long.toString(offset));
                } else {
                    area.put("size", Long.toString(size));
                }
            }
            return;
        }
        ObjectNode slot = keyslots.putObject(id);
        slot.put("type", pick(r, "luks2", "reencrypt", "x"));
        slot.put("key_size", 64);
        ObjectNode area = slot.putObject("area");
        area.put("type", "raw");
        area.put("offset", Long.toString(offset));
        area.put("size", Long.toString(size));
        area.put("encryption", "aes-xts-plain64");
        area.put("key_size", 64);
        if (r.nextBoolean() && root.path("digests").path("0").path("keyslots") instanceof ArrayNode bound) {
            bound.add(id);
        }
    }

    private static void tokens(ObjectNode root, Random r) {
        ObjectNode tokens = child(root, "tokens");
        if (tokens == null) {
            return;
        }
        JsonNode envelope = null;
        for (JsonNode t : tokens) {
            if (Luks2Metadata.ENVELOPE_TOKEN_TYPE.equals(t.path("type").asText())) {
                envelope = t;
            }
        }
        String id = r.nextBoolean() ? Integer.toString(r.nextInt(34)) : pick(r, NAMES);
        switch (r.nextInt(5)) {
            case 0 -> {
                if (envelope != null) { // a second envelope token
                    tokens.set(id, envelope.deepCopy());
                }
            }
            case 1 -> tokens.putObject(id).put("type", "luks2-keyring").put("key_description", "k").putArray(
                    "keyslots").add(Integer.toString(r.nextInt(40)));
            case 2 -> tokens.putObject(id).put("type", pick(r, TYPES)).set("keyslots", pick(r, F.arrayNode().add(0),
                    F.arrayNode().add("0").add("0"), F.objectNode(), TextNode.valueOf("0"), F.arrayNode().add("01")));
            case 3 -> tokens.putObject(id).putArray("keyslots");
            default -> {
                if (tokens.size() > 0 && tokens.elements().next() instanceof ObjectNode t) {
                    t.set("keyslots", F.arrayNode().add(Integer.toString(r.nextInt(33))));
                }
            }
        }
    }

    private static void envelope(ObjectNode root, Random r, Raw raw) {
        ObjectNode token = null;
        if (root.get("tokens") instanceof ObjectNode tokens) {
            for (JsonNode t : tokens) {
                if (Luks2Metadata.ENVELOPE_TOKEN_TYPE.equals(t.path("type").asText()) && t instanceof ObjectNode o) {
                    token = o;
                }
            }
        }
        if (token == null) {
            return;
        }
        ArrayNode layers = token.get("layers") instanceof ArrayNode a ? a : null;
        ObjectNode layer = layers != null && !layers.isEmpty() && layers.get(0) instanceof ObjectNode l ? l : null;
        ArrayNode wrapped = layer != null && layer.get("wrapped") instanceof ArrayNode w ? w : null;
        ObjectNode copy = wrapped != null && !wrapped.isEmpty() && wrapped.get(0) instanceof ObjectNode c ? c : null;
        switch (r.nextInt(10)) {
            case 0 -> token.set("format", pick(r, IntNode.valueOf(2), TextNode.valueOf("1"), DoubleNode.valueOf(1.0),
                    NullNode.instance, IntNode.valueOf(0), weird(r, raw)));
            case 1 -> token.set(pick(r, "disk", "encryption_set"), TextNode.valueOf(pick(r, "", "a b", "x\ny",
                    "A".repeat(200), "\u00e9", "-a", "00000000-0000-0000-0000-000000000000", "ok")));
            case 2 -> {
                if (layers != null && !layers.isEmpty()) {
                    switch (r.nextInt(3)) {
                        case 0 -> layers.removeAll();
                        case 1 -> {
                            layers.add(layers.get(0).deepCopy());
                            layers.add(layers.get(0).deepCopy());
                        }
                        default -> layers.add(layers.get(0).deepCopy()); // two layers of one role
                    }
                }
            }
            case 3 -> {
                if (layer != null) {
                    layer.set("role", pick(r, TextNode.valueOf("admin"), TextNode.valueOf("PLATFORM"),
                            IntNode.valueOf(1), TextNode.valueOf("platform"), TextNode.valueOf("customer")));
                }
            }
            case 4 -> {
                if (wrapped != null && copy != null) {
                    int more = pick(r, 1, 2);
                    for (int i = 0; i < more; i++) {
                        wrapped.add(copy.deepCopy());
                    }
                } else if (wrapped != null) {
                    wrapped.removeAll();
                }
            }
            case 5 -> {
                if (copy != null) {
                    copy.set("algorithm", pick(r, TextNode.valueOf("AES-GCM"), TextNode.valueOf(""),
                            IntNode.valueOf(1), TextNode.valueOf("aes-kwp"), TextNode.valueOf("RSA-OAEP")));
                }
            }
            case 6 -> {
                if (copy != null) {
                    copy.set("version", pick(r, IntNode.valueOf(0), IntNode.valueOf(-1), TextNode.valueOf("1"),
                            LongNode.valueOf(1L << 31), DoubleNode.valueOf(1.0), IntNode.valueOf(Integer.MAX_VALUE)));
                }
            }
            case 7 -> {
                if (copy != null) {
                    copy.put(pick(r, "vault", "key"), pick(r, "", "a\nb", "A".repeat(65), "A".repeat(128), "\u0000",
                            ".x", "ok", "\u00e9"));
                }
            }
            case 8 -> {
                if (copy != null) {
                    copy.put("data", r.nextBoolean() ? pick(r, BASE64) : Base64.getEncoder().encodeToString(
                            new byte[pick(r, 15, 16, 1024, 1025)]));
                }
            }
            default -> {
                if (layer != null) {
                    layer.set("wrapped", weird(r, raw));
                }
            }
        }
    }

    private static void segmentsAndDigests(ObjectNode root, Random r, Raw raw) {
        ObjectNode segments = child(root, "segments");
        ObjectNode digests = child(root, "digests");
        ObjectNode seg = segments != null && segments.get("0") instanceof ObjectNode s ? s : null;
        ObjectNode digest = digests != null && digests.get("0") instanceof ObjectNode d ? d : null;
        switch (r.nextInt(12)) {
            case 0 -> {
                if (seg != null) {
                    seg.put("offset", pick(r, "4095", "0", "4096", "32768", "294912", "16773120",
                            "9223372036854771712"));
                }
            }
            case 1 -> {
                if (seg != null) {
                    seg.put("size", pick(r, "0", "511", "512", "4096", "dynamic", "DYNAMIC", "9223372036854775807",
                            "9223372036854771712"));
                }
            }
            case 2 -> {
                if (seg != null) {
                    seg.put("iv_tweak", pick(r, "18446744073709551615", "9223372036854775807", "1", "8", "0"));
                }
            }
            case 3 -> {
                if (seg != null) {
                    seg.set("sector_size", pick(r, IntNode.valueOf(0), IntNode.valueOf(511), IntNode.valueOf(8192),
                            TextNode.valueOf("4096"), DoubleNode.valueOf(4096.0), LongNode.valueOf(1L << 32),
                            IntNode.valueOf(512), IntNode.valueOf(-4096)));
                }
            }
            case 4 -> {
                if (seg != null) {
                    seg.set(pick(r, "flags", "integrity"), pick(r, F.arrayNode().add("in-reencryption"),
                            F.arrayNode(), TextNode.valueOf("x"), F.objectNode(), NullNode.instance));
                }
            }
            case 5 -> {
                if (seg != null) {
                    seg.put("encryption", pick(r, "aes-cbc-essiv:sha256", "aes-xts-plain", "AES-XTS-PLAIN64", ""));
                }
            }
            case 6 -> {
                if (segments != null && seg != null) {
                    segments.set(pick(r, "1", "2", "0"), seg.deepCopy().put("offset", "33554432"));
                }
            }
            case 7 -> {
                if (digest != null) {
                    digest.set("iterations", pick(r, IntNode.valueOf(0), IntNode.valueOf(-1),
                            IntNode.valueOf(100_000_001), TextNode.valueOf("1000"), LongNode.valueOf(1L << 31),
                            DoubleNode.valueOf(1000.0), IntNode.valueOf(1)));
                }
            }
            case 8 -> {
                if (digest != null) {
                    digest.put("hash", pick(r, "md5", "SHA256", "sha512", "sha1", "whirlpool", ""));
                }
            }
            case 9 -> {
                if (digest != null) {
                    digest.set(pick(r, "segments", "keyslots"), pick(r, F.arrayNode().add("1"),
                            F.arrayNode().add("0").add("0"), F.arrayNode().add(0), F.arrayNode().add("5"),
                            F.arrayNode(), TextNode.valueOf("0"), F.arrayNode().add("01")));
                }
            }
            case 10 -> {
                if (digests != null && digest != null) {
                    digests.set(pick(r, "1", "31", "32"), digest.deepCopy());
                }
            }
            default -> {
                if (root.get("config") instanceof ObjectNode config) {
                    config.set(pick(r, "json_size", "keyslots_size"), r.nextBoolean() ? TextNode.valueOf(pick(r,
                            UINT64)) : weird(r, raw));
                }
            }
        }
    }

    private static void rename(ObjectNode root, Random r) {
        ObjectNode o = child(root, pick(r, "keyslots", "tokens", "digests", "segments"));
        if (o == null || o.isEmpty()) {
            return;
        }
        List<String> fields = new ArrayList<>();
        o.fieldNames().forEachRemaining(fields::add);
        String from = pick(r, fields);
        JsonNode v = o.remove(from);
        o.set(pick(r, NAMES), v);
    }

    private static byte[] textStep(byte[] json, Random r) {
        byte[] out;
        switch (r.nextInt(7)) {
            case 0 -> out = concat(json, pick(r, " ", "x", "{}", "\n", "\u0000x", "]")
                    .getBytes(StandardCharsets.UTF_8));
            case 1 -> out = concat(pick(r, "\ufeff", "  ", "\n", "[").getBytes(StandardCharsets.UTF_8), json);
            case 2 -> {
                out = json.clone();
                out[r.nextInt(out.length)] = pick(r, (byte) 0xc3, (byte) 0xff, (byte) 0x80, (byte) 0x01, (byte) 0x7f);
            }
            case 3 -> out = Arrays.copyOf(json, r.nextInt(json.length));
            case 4 -> {
                out = json.clone();
                out[r.nextInt(out.length)] = (byte) (char) pick(r, '"', '{', '}', ',', ':', '\\', '0', 'x');
            }
            case 5 -> out = new byte[] {'[', ']'};
            default -> out = pick(r, "null", "\"x\"", "0", "{}", "{\"keyslots\":{}}").getBytes(StandardCharsets.UTF_8);
        }
        return out;
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
