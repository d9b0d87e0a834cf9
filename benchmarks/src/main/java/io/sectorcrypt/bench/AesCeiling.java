package io.sectorcrypt.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.sectorcrypt.xts.Engine;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * The AES ceilings every engine is reported against: AES rounds alone (ECB, no tweak work)
 * at each vector width, from the benchmark-only native library {@code libsectorcrypt_bench.so}
 * (native/bench/ceiling.c, see native/bench/sc_bench.h), which ships in the benchmarks jar
 * and never in the library. An XTS tier of one width can approach the ceiling of that
 * width, not pass it. Never a way to encrypt data: ECB leaks patterns.
 *
 * <p>The caller passes the round keys. {@code aesenc} takes the same time whatever the key,
 * so arbitrary or random round keys give identical timing; with a real expanded schedule
 * the output is AES-ECB under that key.
 */
public final class AesCeiling {
    static final String RESOURCE = "/native/linux-x86_64/libsectorcrypt_bench.so";

    /** The vector widths, each with the engine of that width. */
    public enum Width {
        XMM("ceiling-xmm", 128, Engine.AESNI),
        YMM("ceiling-ymm", 256, Engine.VAES256),
        ZMM("ceiling-zmm", 512, Engine.VAES512);

        private final String id;
        private final int bits;
        private final Engine engine;

        Width(String id, int bits, Engine engine) {
            this.id = id;
            this.bits = bits;
            this.engine = engine;
        }

        /** The row name in bench's output: "ceiling-xmm", ... */
        public String id() {
            return id;
        }

        /** The name as CeilingBenchmark's {@code width} parameter takes it: xmm, ymm, zmm. */
        public String param() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** The native tier of this width. */
        public Engine engine() {
            return engine;
        }

        public static Width parse(String name) {
            return valueOf(name.toUpperCase(java.util.Locale.ROOT));
        }

        /** The width of a native engine's registers; null for the Java engine. */
        public static Width of(Engine engine) {
            return Arrays.stream(values()).filter(w -> w.engine == engine).findFirst().orElse(null);
        }
    }

    private static final int SCB_OK = 0;
    private static final int SCB_E_ARG = -1;
    private static final int SCB_E_WIDTH = -2;
    private static final int REASON_BYTES = 256;

    private static final String LOAD_PROBLEM;
    private static final MethodHandle UNAVAILABLE;
    private static final MethodHandle ECB;
    /** Per width (by ordinal): why it cannot run here, or null. Asked once: CPUID is slow in a VM. */
    private static final String[] REASONS;

    static {
        String problem = null;
        MethodHandle unavailable = null;
        MethodHandle ecb = null;
        try {
            SymbolLookup lib = load();
            Linker linker = Linker.nativeLinker();
            unavailable = linker.downcallHandle(lib.find("scb_ceiling_unavailable").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG));
            // Critical, like the engines' data calls: timed the same way.
            ecb = linker.downcallHandle(lib.find("scb_ceiling_ecb").orElseThrow(),
                    FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG),
                    Linker.Option.critical(true));
        } catch (IOException | RuntimeException | LinkageError e) {
            problem = "the ceiling library " + RESOURCE.substring(RESOURCE.lastIndexOf('/') + 1)
                    + " could not be loaded (" + e.getMessage() + "); build the benchmarks module with Maven";
        }
        LOAD_PROBLEM = problem;
        UNAVAILABLE = unavailable;
        ECB = ecb;
        REASONS = Arrays.stream(Width.values()).map(AesCeiling::askReason).toArray(String[]::new);
    }

    private AesCeiling() {
    }

    /** Why the ceiling of this width cannot be measured here, or null if it can. */
    public static String unavailableReason(Width width) {
        return REASONS[width.ordinal()];
    }

    private static String askReason(Width width) {
        if (LOAD_PROBLEM != null) {
            return LOAD_PROBLEM;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment reason = arena.allocate(REASON_BYTES);
            int rc = (int) UNAVAILABLE.invokeExact(width.bits, reason, (long) REASON_BYTES);
            if (rc != SCB_OK) {
                return reason.getString(0);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        // Under -Dsectorcrypt.cpu.mask the run stands for a CPU without the masked features:
        // a width whose tier the mask hides is left out too, so the ratios are that CPU's.
        String hidden = width.engine.unavailableReason();
        return System.getProperty("sectorcrypt.cpu.mask") != null && hidden != null && hidden.contains("cpu.mask")
                ? hidden : null;
    }


    /** The widths that can be measured here, narrowest first. */
    public static List<Width> available() {
        return Arrays.stream(Width.values()).filter(w -> unavailableReason(w) == null).toList();
    }

    /**
     * AES-encrypts {@code in} into {@code out} (same length, a multiple of 64; the same
     * memory is fine) in ECB mode on registers of {@code width}: {@code rounds} (10 or 14)
     * rounds with {@code roundKeys}, 15 round keys of 16 bytes.
     */
    public static void encrypt(Width width, MemorySegment roundKeys, int rounds, MemorySegment in,
                               MemorySegment out) {
        Objects.requireNonNull(width, "width");
        if (roundKeys.byteSize() != 15 * 16) {
            throw new IllegalArgumentException("roundKeys must be 15 x 16 bytes, not " + roundKeys.byteSize());
        }
        if (rounds != 10 && rounds != 14) {
            throw new IllegalArgumentException("rounds must be 10 or 14, not " + rounds);
        }
        if (in.byteSize() != out.byteSize() || in.byteSize() % 64 != 0) {
            throw new IllegalArgumentException("in and out must be the same length, a multiple of 64 bytes");
        }
        String reason = unavailableReason(width);
        if (reason != null) {
            throw new IllegalStateException(width.id() + " cannot run here: " + reason);
        }
        int rc;
        try {
            rc = (int) ECB.invokeExact(width.bits, roundKeys, rounds, in, out, in.byteSize());
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        if (rc != SCB_OK) {
            throw new IllegalStateException("scb_ceiling_ecb refused the call: " + switch (rc) {
                case SCB_E_ARG -> "bad argument";
                case SCB_E_WIDTH -> "width not runnable here";
                default -> "error " + rc;
            });
        }
    }

    /** As the kernel's loader: in place from a directory, else a private copy deleted once mapped. */
    private static SymbolLookup load() throws IOException {
        URL url = AesCeiling.class.getResource(RESOURCE);
        if (url == null) {
            throw new IOException(RESOURCE + " is not on the class path");
        }
        if (url.getProtocol().equals("file")) {
            try {
                return SymbolLookup.libraryLookup(Path.of(url.toURI()), Arena.global());
            } catch (URISyntaxException e) {
                throw new IOException("bad resource URL " + url, e);
            }
        }
        Path dir = Files.createTempDirectory("sectorcrypt-bench-");
        Path copy = dir.resolve("libsectorcrypt_bench.so");
        try (InputStream in = url.openStream()) {
            Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
            return SymbolLookup.libraryLookup(copy, Arena.global());
        } finally {
            Files.deleteIfExists(copy);
            Files.deleteIfExists(dir);
        }
    }
}
