package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.jar.JarFile;
import java.util.zip.ZipEntry;
import org.junit.jupiter.api.Test;

/**
 * The shipped CLI jar holds product code only: no JMH and none of its dependencies (bench
 * runs the benchmarks jar in a JVM of its own). Runs in the verify phase, after the jar is
 * shaded (see cli/pom.xml); the jar is given by -Dcli.jar.
 */
class ShippedJarTest {

    @Test
    void carriesNoBenchmarkHarness() throws Exception {
        Path jar = Path.of(System.getProperty("cli.jar", "target/sectorcrypt-cli.jar"));
        assertTrue(Files.isRegularFile(jar), jar + " is missing: this test runs after package");
        try (JarFile file = new JarFile(jar.toFile())) {
            List<String> harness = file.stream().map(ZipEntry::getName)
                    .filter(n -> n.startsWith("org/openjdk/jmh/") || n.startsWith("org/apache/commons/math3/")
                            || n.startsWith("io/sectorcrypt/bench/") || n.equals("META-INF/BenchmarkList")
                            || n.endsWith("libsectorcrypt_bench.so"))
                    .limit(5).toList();
            assertEquals(List.of(), harness, "benchmark code in " + jar);
            assertTrue(file.getEntry("io/sectorcrypt/cli/Main.class") != null, "not the CLI jar: " + jar);
            assertTrue(file.getEntry("io/sectorcrypt/server/NbdServer.class") != null,
                    "the NBD server (sectorcrypt serve) is missing from " + jar);
        }
    }

    /**
     * Bouncy Castle FIPS stays a jar of its own beside ours (it checks its own integrity), and the
     * bcprov classes behind Argon2 are inside only relocated: no org.bouncycastle class in our jar
     * can shadow or be shadowed by bc-fips.
     */
    @Test
    void carriesBouncyCastleOnlyRelocated() throws Exception {
        Path jar = Path.of(System.getProperty("cli.jar", "target/sectorcrypt-cli.jar"));
        try (JarFile file = new JarFile(jar.toFile())) {
            List<String> unrelocated = file.stream().map(ZipEntry::getName)
                    .filter(n -> n.startsWith("org/bouncycastle/")).limit(5).toList();
            assertEquals(List.of(), unrelocated, "Bouncy Castle classes under their own names in " + jar);
            assertTrue(file.getEntry("io/sectorcrypt/shaded/bouncycastle/crypto/generators/Argon2BytesGenerator.class")
                    != null, "the relocated Argon2 generator is missing from " + jar);
        }
    }
}
