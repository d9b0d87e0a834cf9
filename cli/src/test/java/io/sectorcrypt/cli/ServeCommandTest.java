package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnixDomainSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code sectorcrypt serve}'s refusals, each one line before anything is served, and its
 * URIs. Serving itself, with real clients and SIGTERM, is ci/check-nbd.sh's.
 */
class ServeCommandTest {
    @TempDir
    Path dir;

    @BeforeEach
    void home() {
        Map<String, String> env = Map.of(Home.ENV, dir.resolve("home").toString(), KeysCommand.PASSPHRASE_ENV,
                "correct horse battery staple");
        KeysCommand.environment = env::get;
        CliRun init = CliRun.of("keys", "init", "--scrypt-cost", "16384");
        assertEquals(0, init.exitCode(), init.err());
    }

    @AfterEach
    void restoreEnvironment() {
        KeysCommand.environment = System::getenv;
    }

    private static String fails(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(1, run.exitCode(), String.join(" ", args) + " should fail: " + run.out());
        assertTrue(run.err().startsWith("sectorcrypt: "), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        assertEquals("", run.out(), "nothing served");
        return run.err().substring("sectorcrypt: ".length());
    }

    @Test
    void badArgumentsAreRefusedInOneLine() throws Exception {
        Path disk = Files.createFile(dir.resolve("disk.img"));
        assertTrue(fails("serve").contains("nothing to serve"));
        assertTrue(fails("serve", "--export", "nameonly").contains("NAME=VOLUME"));
        assertTrue(fails("serve", "--export", "=x").contains("NAME=VOLUME"));
        assertTrue(fails("serve", "--export", "a=" + dir.resolve("missing.img")).contains("no such file"));
        assertTrue(fails("serve", "--temp", "a=1M", "--temp", "a=2M").contains("two exports are named 'a'"));
        assertTrue(fails("serve", "--temp", "a=lots").contains("--temp a 'lots' is not a size"));
        assertTrue(fails("serve", "--temp", "a=1M", "--max-connections", "0").contains("at least 1"));
        assertTrue(fails("serve", "--temp", "a=1M", "--listen", "127.0.0.1:1", "--socket", dir.resolve("s").toString())
                .contains("not both"));
        assertTrue(fails("serve", "--temp", "a=1M", "--listen", "127.0.0.1").contains("ADDR:PORT"));
        assertTrue(fails("serve", "--temp", "a=1M", "--listen", "127.0.0.1:70000").contains("0 to 65535"));
        assertTrue(fails("serve", "--temp", "a=1M", "--socket", disk.toString()).contains("exists"));
        assertTrue(fails("serve", "--temp", "a=1M", "--temp-dir", disk.toString()).contains("not a directory"));
    }

    @Test
    void keyCacheTtlTakesShortAndIsoDurations() {
        assertEquals(java.time.Duration.ofSeconds(4), ServeCommand.duration("--key-cache-ttl", "4s"));
        assertEquals(java.time.Duration.ofMillis(500), ServeCommand.duration("--key-cache-ttl", "500ms"));
        assertEquals(java.time.Duration.ofHours(1), ServeCommand.duration("--key-cache-ttl", "1h"));
        assertEquals(java.time.Duration.ofSeconds(30), ServeCommand.duration("--key-cache-ttl", "PT30S"));
        for (String bad : new String[] {"0s", "-1s", "4", "soon", "PT-5S", "P"}) {
            assertTrue(fails("serve", "--temp", "a=1M", "--key-cache-ttl", bad).contains("not a positive duration"), bad);
        }
    }

    @Test
    void anAddressOtherHostsReachNeedsAllowRemote() {
        String why = fails("serve", "--temp", "a=1M", "--listen", "0.0.0.0:0");
        assertTrue(why.contains("--allow-remote"), why);
        assertTrue(fails("serve", "--temp", "a=1M", "--socket", dir.resolve("s").toString(), "--allow-remote")
                .contains("local"));
    }

    @Test
    void aFileThatIsNotAVolumeIsRefusedBeforeServing() throws Exception {
        Path junk = Files.write(dir.resolve("junk.img"), new byte[1 << 20]);
        String why = fails("serve", "--export", "j=" + junk, "--listen", "127.0.0.1:0");
        assertTrue(why.contains(junk.toString()), why);
    }

    @Test
    void aPortInUseIsRefusedInOneLine() throws Exception {
        try (java.net.ServerSocket taken = new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            String why = fails("serve", "--temp", "a=1M", "--temp-dir", dir.toString(), "--listen", "127.0.0.1:"
                    + taken.getLocalPort());
            assertTrue(why.startsWith("cannot listen on ") && why.contains(":" + taken.getLocalPort()), why);
            assertTrue(why.toLowerCase(java.util.Locale.ROOT).contains("in use"), why);
        }
        try (var files = Files.list(dir)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().startsWith(".sectorcrypt-serve-")),
                    "the temporary disk is deleted");
        }
    }

    @Test
    void urisAreTheOnesNbdClientsTake() throws Exception {
        assertEquals("nbd://127.0.0.1:10809/disk", ServeCommand.uri(new InetSocketAddress(InetAddress
                .getByName("127.0.0.1"), 10809), "disk"));
        assertEquals("nbd://[0:0:0:0:0:0:0:1]:1234/a%20b", ServeCommand.uri(new InetSocketAddress(InetAddress
                .getByName("::1"), 1234), "a b"));
        assertEquals("nbd+unix:///disk?socket=/run/nbd.sock", ServeCommand.uri(UnixDomainSocketAddress.of(
                "/run/nbd.sock"), "disk"));
    }
}
