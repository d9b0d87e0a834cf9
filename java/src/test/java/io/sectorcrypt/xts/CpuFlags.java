package io.sectorcrypt.xts;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/**
 * The CPU's features as the Linux kernel reports them in /proc/cpuinfo, read independently
 * of the native kernel's own CPUID detection, so tests can check the engine selection
 * against a second opinion.
 */
final class CpuFlags {
    private CpuFlags() {
    }

    /** The flags of the first CPU, less those this JVM's {@code -Dsectorcrypt.cpu.mask} hides; empty off Linux/x86-64. */
    static Optional<List<String>> visible() {
        return cpuinfo().map(flags -> {
            List<String> visible = new ArrayList<>(flags);
            visible.removeAll(masked());
            return visible;
        });
    }

    /** The flags of the first CPU as the Linux kernel reports them; empty off Linux/x86-64. */
    static Optional<List<String>> cpuinfo() {
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (!Files.isReadable(cpuinfo) || !System.getProperty("os.arch").equals("amd64")) {
            return Optional.empty();
        }
        try {
            return Optional.of(Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("flags"))
                    .findFirst().map(l -> List.of(l.substring(l.indexOf(':') + 1).trim().split(" "))).orElseThrow());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The cpuinfo flag names a mask value hides ("avx512" stands for the three AVX-512 subsets we need). */
    static List<String> masked(String mask) {
        List<String> names = new ArrayList<>();
        if (mask == null || mask.isBlank()) {
            return names;
        }
        for (String part : mask.split(",")) {
            String name = part.trim().toLowerCase(Locale.ROOT).replace('.', '_');
            if (name.equals("avx512")) {
                names.addAll(List.of("avx512f", "avx512bw", "avx512vl"));
            } else {
                names.add(name);
            }
        }
        return names;
    }

    static List<String> masked() {
        return masked(System.getProperty("sectorcrypt.cpu.mask"));
    }

    /** The engine a CPU with these flags should select: the widest tier whose features are all present. */
    static Engine expectedBest(List<String> flags) {
        boolean aesni = flags.containsAll(List.of("aes", "pclmulqdq", "sse4_1"));
        boolean vaes256 = aesni && flags.containsAll(List.of("avx", "avx2", "vaes", "vpclmulqdq"));
        boolean vaes512 = vaes256 && flags.containsAll(List.of("avx512f", "avx512bw", "avx512vl"));
        return vaes512 ? Engine.VAES512 : vaes256 ? Engine.VAES256 : aesni ? Engine.AESNI : Engine.JAVA;
    }
}
