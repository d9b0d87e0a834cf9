package io.sectorcrypt.xts;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;

/**
 * Known-answer tests through the public API, for {@code sectorcrypt selftest} and for
 * operators who want proof on their own hardware: IEEE 1619-2007 Annex B vectors 1-19 and
 * seven OpenSSL-made dm-crypt plain64 sectors (shipped in the jar), each encrypted and
 * decrypted on every engine that can run here. The kernel's own self-test has already
 * run per tier when the library loaded; a tier that failed it is not available.
 */
public final class SelfTest {
    private static final HexFormat HEX = HexFormat.of();
    private static final String[] KAT_FILES = {"kat-ieee1619.txt", "kat-plain64-512.txt"};

    /** One engine's outcome: vectors passed out of those run, and the first failure if any. */
    public record EngineResult(Engine engine, int passed, int total, String firstFailure) {
        public boolean ok() {
            return passed == total && total > 0;
        }
    }

    /** CPU features, each engine's availability, the selected engine and every KAT outcome. */
    public record Report(List<String> cpuFeatures, Map<Engine, String> unavailable, Engine selected,
                         List<EngineResult> results) {
        public boolean ok() {
            return results.stream().allMatch(EngineResult::ok);
        }
    }

    private record Kat(String name, byte[] key, byte[] tweak, byte[] plain, byte[] cipher) {
    }

    private SelfTest() {
    }

    public static Report run() {
        List<Kat> kats = load();
        List<EngineResult> results = new ArrayList<>();
        Map<Engine, String> unavailable = new HashMap<>();
        for (Engine e : Engine.values()) {
            if (e.isAvailable()) {
                results.add(run(e, kats));
            } else {
                unavailable.put(e, e.unavailableReason());
            }
        }
        return new Report(cpuFeatures(), unavailable, Engine.selected(), results);
    }

    private static EngineResult run(Engine engine, List<Kat> kats) {
        int passed = 0;
        String firstFailure = null;
        for (Kat k : kats) {
            boolean equalHalves = Arrays.equals(k.key, 0, k.key.length / 2, k.key, k.key.length / 2, k.key.length);
            try (XtsKey key = equalHalves ? XtsKey.ofKnownAnswerVector(k.key) : XtsKey.of(k.key)) {
                SectorCipher xts = SectorCipher.of(key, engine);
                byte[] out = new byte[k.plain.length];
                xts.encryptUnit(k.tweak, k.plain, 0, out, 0, out.length);
                boolean ok = Arrays.equals(out, k.cipher);
                xts.decryptUnit(k.tweak, out, 0, out, 0, out.length);
                ok &= Arrays.equals(out, k.plain);
                if (ok) {
                    passed++;
                } else if (firstFailure == null) {
                    firstFailure = k.name;
                }
            } catch (RuntimeException e) {
                if (firstFailure == null) {
                    firstFailure = k.name + ": " + e.getMessage();
                }
            }
        }
        return new EngineResult(engine, passed, kats.size(), firstFailure);
    }

    private static List<Kat> load() {
        List<Kat> kats = new ArrayList<>();
        for (String file : KAT_FILES) {
            String text;
            try (InputStream in = SelfTest.class.getResourceAsStream(file)) {
                if (in == null) {
                    throw new IllegalStateException("the jar lacks its known-answer vectors (" + file + ")");
                }
                text = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            Map<String, String> f = new HashMap<>();
            for (String line : text.split("\n")) {
                String[] kv = line.strip().split(" = ", 2);
                if (kv.length == 2) {
                    f.put(kv[0], kv[1]);
                    if (kv[0].equals("CT")) {
                        kats.add(new Kat(f.get("Name"), HEX.parseHex(f.get("Key1") + f.get("Key2")),
                                HEX.parseHex(f.get("Tweak")), HEX.parseHex(f.get("PT")), HEX.parseHex(f.get("CT"))));
                        f.clear();
                    }
                }
            }
        }
        return kats;
    }

    /** The CPU and OS features the kernel reads, by name; empty without the kernel. */
    public static List<String> cpuFeatures() {
        int f = EngineSelection.cpuFeatures();
        String[] names = {"AES-NI", "PCLMULQDQ", "SSE4.1", "AVX", "AVX2", "VAES", "VPCLMULQDQ", "AVX-512F",
            "AVX-512BW", "AVX-512VL", "OS-saves-ymm", "OS-saves-zmm"};
        List<String> present = new ArrayList<>();
        for (int bit = 0; bit < names.length; bit++) {
            if ((f & (1 << bit)) != 0) {
                present.add(names[bit]);
            }
        }
        return present;
    }
}
