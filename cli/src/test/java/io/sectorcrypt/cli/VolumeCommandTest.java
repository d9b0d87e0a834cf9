package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** set and volume commands on the embedded defaults ($SECTORCRYPT_HOME). */
class VolumeCommandTest {
    @TempDir
    Path dir;
    Path home;

    @BeforeEach
    void home() {
        home = dir.resolve("home");
        Map<String, String> env = Map.of(Home.ENV, home.toString(), KeysCommand.PASSPHRASE_ENV,
                "correct horse battery staple");
        KeysCommand.environment = env::get;
        CliRun init = CliRun.of("keys", "init", "--scrypt-cost", "16384");
        assertEquals(0, init.exitCode(), init.err());
    }

    @AfterEach
    void restoreEnvironment() {
        KeysCommand.environment = System::getenv;
    }

    private static CliRun ok(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(0, run.exitCode(), String.join(" ", args) + ": " + run.err());
        assertEquals("", run.err(), "a command that succeeds writes nothing to standard error");
        return run;
    }

    private static String fails(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(1, run.exitCode(), String.join(" ", args) + " should fail: " + run.out());
        assertTrue(run.err().startsWith("sectorcrypt: "), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        return run.err().substring("sectorcrypt: ".length());
    }

    @Test
    void snapshotsListAndRestoreAChain() throws Exception {
        ok("set", "create", "gold", "--type", "platform");
        Path disk = dir.resolve("disk.img");
        ok("volume", "create", disk.toString(), "--size", "4M", "--set", "gold");
        assertTrue(ok("volume", "snapshots", disk.toString()).out().contains("has no snapshots"));
        assertTrue(fails("volume", "snapshot", disk.toString(), dir.resolve("i0").toString(), "--incremental")
                .contains("take a full snapshot first"));
        Path text = Files.writeString(dir.resolve("t.txt"), "version one");
        ok("volume", "write", disk.toString(), "--offset", "70000", text.toString());
        String full = ok("volume", "snapshot", disk.toString(), dir.resolve("s0").toString()).out();
        assertTrue(full.startsWith("full snapshot " + dir.resolve("s0") + " of " + disk + ": 64 of 64 chunks of 64"
                + " KiB"), full);
        ok("volume", "write", disk.toString(), "--offset", "70000", Files.writeString(text, "version two")
                .toString());
        JsonNode incr = new ObjectMapper().readTree(ok("volume", "snapshot", disk.toString(), dir.resolve("s1")
                .toString(), "--incremental", "--json").out());
        assertEquals("incremental", incr.get("kind").asText());
        assertEquals(1, incr.get("stored_chunks").asInt());
        JsonNode list = new ObjectMapper().readTree(ok("volume", "snapshots", disk.toString(), "--json").out());
        assertEquals(2, list.size());
        assertEquals(list.get(0).get("id").asText(), list.get(1).get("parent").asText());
        assertTrue(ok("volume", "snapshots", disk.toString()).out().contains(dir.resolve("s1").toString()));
        for (int k = 0; k < 2; k++) {
            Path r = dir.resolve("r" + k + ".img");
            String[] args = k == 0 ? new String[] {"volume", "restore", dir.resolve("s0").toString(), r.toString()}
                    : new String[] {"volume", "restore", dir.resolve("s0").toString(), dir.resolve("s1").toString(),
                        r.toString()};
            assertTrue(ok(args).out().startsWith("restored " + r + " (4194304 bytes) from " + (k + 1)));
            Path back = dir.resolve("back" + k);
            ok("volume", "read", r.toString(), "--offset", "70000", "--length", "11", back.toString());
            assertEquals(k == 0 ? "version one" : "version two", Files.readString(back));
        }
        assertTrue(fails("volume", "restore", dir.resolve("s1").toString(), dir.resolve("r9").toString())
                .contains("starts with a full snapshot"));
        assertTrue(fails("volume", "restore", dir.resolve("s0").toString(), dir.resolve("r0.img").toString())
                .contains("exists"));
        assertFalse(Files.exists(dir.resolve("r9")));
        String s1 = list.get(1).get("id").asText();
        assertTrue(fails("volume", "forget-snapshot", disk.toString(), s1).contains("delete it first"));
        Files.delete(dir.resolve("s1"));
        assertEquals("forgot snapshot " + s1 + " of " + disk, ok("volume", "forget-snapshot", disk.toString(), s1)
                .out().strip());
        assertEquals(1, new ObjectMapper().readTree(ok("volume", "snapshots", disk.toString(), "--json").out()).size());
        ok("set", "create", "silver", "--type", "platform");
        assertEquals("moved " + disk + " from encryption set 'gold' to 'silver'; no data was re-encrypted",
                ok("volume", "move-set", disk.toString(), "--set", "silver").out().strip());
        assertEquals("silver", new ObjectMapper().readTree(ok("volume", "info", disk.toString(), "--json").out())
                .get("setId").asText());
    }

    @Test
    void aNewUsersWholeDay() throws Exception {
        assertTrue(ok("set", "create", "gold", "--type", "platform").out().startsWith(
                "created encryption set 'gold': platform key 'platform' (made now, AES-256), following its newest"
                        + " version"));
        assertTrue(ok("set", "list").out().contains("gold"));
        byte[] raw = new byte[3 << 20];
        new Random(5).nextBytes(raw);
        Path rawFile = Files.write(dir.resolve("raw.img"), raw);
        Path disk = dir.resolve("disk.img");
        assertEquals("imported " + rawFile + " into " + disk + ": 3145728 bytes, encryption set 'gold'",
                ok("volume", "import", rawFile.toString(), disk.toString(), "--set", "gold").out().strip());
        JsonNode info = new ObjectMapper().readTree(ok("volume", "info", disk.toString(), "--json").out());
        assertEquals(3 << 20, info.get("size").asLong());
        assertEquals("gold", info.get("setId").asText());
        assertEquals(1, info.at("/layers/0/wrapped/0/version").asInt());
        assertTrue(ok("volume", "rotate", disk.toString(), "--new-key-version").out().startsWith(
                "re-wrapped " + disk + " from key 'platform' version 1 to version 2"));
        Path hello = Files.writeString(dir.resolve("hello.txt"), "hello, sector");
        ok("volume", "write", disk.toString(), "--offset", "4090", hello.toString());
        Path back = dir.resolve("back.txt");
        ok("volume", "read", disk.toString(), "--offset", "4090", "--length", "13", back.toString());
        assertEquals("hello, sector", Files.readString(back));
        System.arraycopy("hello, sector".getBytes(), 0, raw, 4090, 13);
        ok("volume", "resize", disk.toString(), "--size", "4M");
        Path exported = dir.resolve("exported.img");
        ok("volume", "export", disk.toString(), exported.toString());
        byte[] out = Files.readAllBytes(exported);
        assertEquals(4 << 20, out.length);
        assertArrayEquals(raw, java.util.Arrays.copyOf(out, raw.length));
        assertTrue(ok("keys", "audit", "verify").out().startsWith("audit log intact"));
        String audit = Files.readString(home.resolve("vault").resolve("audit.log"));
        assertTrue(audit.contains("export disk " + info.get("uuid").asText() + " (" + disk + ") decrypted to "
                + exported.toAbsolutePath()), audit);
    }

    @Test
    void badInputIsOneClearLineAndLeavesNothingBehind() throws Exception {
        ok("set", "create", "gold", "--type", "platform");
        Path disk = dir.resolve("disk.img");
        assertEquals("--size '12Q' is not a size: a positive number of bytes, or with K, M, G or T (powers of 1024),"
                + " e.g. 64M", fails("volume", "create", disk.toString(), "--size", "12Q", "--set", "gold"));
        assertEquals("a volume size must be a positive whole number of 4096-byte sectors (at most 2^60 bytes), not"
                + " 1000 bytes", fails("volume", "create", disk.toString(), "--size", "1000", "--set", "gold"));
        assertEquals("no encryption set 'silver': create one with 'sectorcrypt set create silver --type platform'",
                fails("volume", "create", disk.toString(), "--size", "1M", "--set", "silver"));
        Path notLuks = Files.write(dir.resolve("plain.img"), new byte[1 << 20]);
        assertEquals(notLuks + " is not a LUKS2 disk: no LUKS header at its start",
                fails("volume", "info", notLuks.toString()));
        assertEquals(notLuks + " is not a LUKS2 disk: no LUKS header at its start",
                fails("volume", "read", notLuks.toString(), "--offset", "0", "--length", "1", "-"));
        Path odd = Files.write(dir.resolve("odd.img"), new byte[5000]);
        assertEquals("RAW " + odd + " is 5000 bytes, not a whole number of 4096-byte sectors: pad it to a whole"
                + " sector", fails("volume", "import", odd.toString(), disk.toString(), "--set", "gold"));
        // A key that cannot wrap: the import fails and leaves no file at all.
        ok("keys", "disable", "platform", "--version", "1");
        Path raw = Files.write(dir.resolve("raw.img"), new byte[1 << 20]);
        String refused = fails("volume", "import", raw.toString(), disk.toString(), "--set", "gold");
        assertTrue(refused.contains("platform"), refused);
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(java.util.List.of("home", "odd.img", "plain.img", "raw.img"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        ok("keys", "enable", "platform", "--version", "1");
        ok("volume", "create", disk.toString(), "--size", "1M", "--set", "gold");
        assertEquals("PATH " + disk + " exists; refusing to overwrite it",
                fails("volume", "import", raw.toString(), disk.toString(), "--set", "gold"));
        // Another process holds the volume (as another sectorcrypt, or qemu, would: a POSIX lock).
        Process holder = new ProcessBuilder("python3", "-c", "import fcntl, sys, time\n"
                + "f = open(sys.argv[1], 'r+'); fcntl.lockf(f, fcntl.LOCK_EX); print('held', flush=True);"
                + " time.sleep(60)", disk.toString()).start();
        try {
            assertEquals("held", new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream()))
                    .readLine());
            assertEquals(disk + " is in use by another process",
                    fails("volume", "resize", disk.toString(), "--size", "2M"));
        } finally {
            holder.destroyForcibly().waitFor();
        }
        assertEquals("a write of 2 bytes at offset 1048575 lies outside " + disk + " (1048576 bytes)",
                fails("volume", "write", disk.toString(), "--offset", "1048575", Files.writeString(dir.resolve("two"),
                        "ab").toString()));
    }

    @Test
    void aCustomerKeySetAndADetachedHeader() throws IOException {
        ok("keys", "create", "cmk", "--type", "rsa", "--size", "2048");
        assertTrue(ok("set", "create", "cust", "--type", "customer", "--key", "cmk").out().contains(
                "identity 'set:cust' may get, wrapKey, unwrapKey"));
        assertEquals("--type customer needs --key KEY: an RSA key made with 'keys create KEY --type rsa'",
                fails("set", "create", "c2", "--type", "customer"));
        Path data = dir.resolve("data.img");
        Path header = dir.resolve("header.img");
        ok("volume", "create", data.toString(), "--size", "2M", "--set", "cust", "--header", header.toString());
        assertEquals(2 << 20, Files.size(data));
        String info = ok("volume", "info", data.toString(), "--header", header.toString()).out();
        assertTrue(info.contains("customer DEK wrapped with RSA-OAEP-256 by key 'cmk' version 1"), info);
        ok("keys", "revoke", "cmk", "set:cust");
        String refused = fails("volume", "read", data.toString(), "--header", header.toString(), "--offset", "0",
                "--length", "1", "-");
        assertTrue(refused.contains("may not"), refused);
    }

    @Test
    void aDoubleSetGivesEachDiskAnOuterHctr2LayerUnderThePlatformKey() throws IOException {
        ok("keys", "create", "cmk", "--type", "rsa", "--size", "2048");
        String created = ok("set", "create", "dd", "--type", "double", "--key", "cmk").out();
        assertTrue(created.contains("outer layer: HCTR2-AES-256 keys wrapped by platform key 'platform' (made now,"
                + " AES-256) (its newest version), as identity 'platform:outer-layer'"), created);
        assertTrue(ok("set", "create", "dp", "--type", "double").out().contains(
                "created encryption set 'dp': double: inner XTS layer under key 'platform', following"));
        assertEquals("--type must be platform, customer or double, not 'triple'", fails("set", "create", "t",
                "--type", "triple"));
        Path disk = dir.resolve("disk.img");
        assertTrue(ok("volume", "create", disk.toString(), "--size", "4M", "--set", "dd").out().contains(
                "aes-xts-plain64 (XTS-AES-256) under capi:hctr2(aes)-plain64 (HCTR2-AES-256, DOUBLE)"));
        byte[] data = new byte[300_000];
        new Random(4).nextBytes(data);
        Path in = Files.write(dir.resolve("in.bin"), data);
        ok("volume", "write", disk.toString(), "--offset", "1234", in.toString());
        Path out = dir.resolve("out.bin");
        ok("volume", "read", disk.toString(), "--offset", "1234", "--length", Integer.toString(data.length),
                out.toString());
        assertArrayEquals(data, Files.readAllBytes(out));
        String info = ok("volume", "info", disk.toString()).out();
        for (String line : new String[] {"outer layer: capi:hctr2(aes)-plain64",
                "key:         customer DEK wrapped with RSA-OAEP-256 by key 'cmk' version 1",
                "key:         infrastructure DEK wrapped with AES-KWP by key 'platform' version 1",
                "sectorcrypt-outer-layer"}) {
            assertTrue(info.contains(line), line + " in " + info);
        }
        ok("volume", "rotate", disk.toString(), "--new-key-version");
        info = ok("volume", "info", disk.toString()).out();
        assertTrue(info.contains("customer DEK wrapped with RSA-OAEP-256 by key 'cmk' version 2")
                && info.contains("infrastructure DEK wrapped with AES-KWP by key 'platform' version 1"), info);
        ok("keys", "revoke", "platform", "platform:outer-layer");
        String refused = fails("volume", "read", disk.toString(), "--offset", "0", "--length", "1", "-");
        assertTrue(refused.contains("platform"), "the outer layer's key is refused: " + refused);
    }

    @Test
    void aDiskMadeByCryptsetupIsAdoptedAndStillOpensWithItsPassphrase() throws Exception {
        ok("set", "create", "gold", "--type", "platform");
        byte[] raw = new byte[1 << 20];
        new Random(9).nextBytes(raw);
        Path disk = Files.write(dir.resolve("luks.img"), raw);
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(disk.toFile(), "rw")) {
            f.setLength(raw.length + (32L << 20)); // the room --reduce-device-size takes for the header
        }
        Path key = Files.writeString(dir.resolve("pass.key"), "cli adopt passphrase"); // cryptsetup reads it whole
        cryptsetup("reencrypt", "--encrypt", "--type", "luks2", "--batch-mode", "--force-offline-reencrypt",
                "--key-file", key.toString(), "--pbkdf", "pbkdf2", "--pbkdf-force-iterations", "1000",
                "--reduce-device-size", "32M", disk.toString());
        byte[] before = Files.readAllBytes(disk);
        Path wrong = Files.writeString(dir.resolve("wrong.txt"), "not the passphrase\n");
        assertEquals("--luks-passphrase-file " + wrong + ": the passphrase opens no keyslot of " + disk + " (tried"
                + " keyslots [0])", fails("volume", "adopt", disk.toString(), "--set", "gold",
                        "--luks-passphrase-file", wrong.toString()).strip());
        assertArrayEquals(before, Files.readAllBytes(disk), "a refused adopt leaves the disk as it was");

        JsonNode info = new ObjectMapper().readTree(ok("volume", "adopt", disk.toString(), "--set", "gold",
                "--luks-passphrase-file", key.toString(), "--json").out());
        assertEquals("gold", info.get("setId").asText());
        assertEquals("[0]", info.get("keyslots").toString());
        assertEquals(16 << 20, info.get("dataOffset").asLong());
        Path back = dir.resolve("back.img");
        ok("volume", "read", disk.toString(), "--offset", "0", "--length", Integer.toString(raw.length),
                back.toString());
        assertArrayEquals(raw, Files.readAllBytes(back));
        cryptsetup("open", "--test-passphrase", "--key-file", key.toString(), disk.toString());
        assertEquals(disk + " already has a SectorCrypt envelope token (encryption set 'gold'): it is adopted; open"
                + " it", fails("volume", "adopt", disk.toString(), "--set", "gold", "--luks-passphrase-file",
                        key.toString()).strip());
    }

    /** Runs cryptsetup (Debian cryptsetup-bin): missing, it fails a CI run (CI=true) and skips a local one. */
    private void cryptsetup(String... args) throws Exception {
        String binary = Stream.of("/usr/sbin/cryptsetup", "/sbin/cryptsetup", "/usr/bin/cryptsetup")
                .filter(p -> Files.isExecutable(Path.of(p))).findFirst().orElse(null);
        if (binary == null) {
            if ("true".equals(System.getenv("CI"))) {
                throw new AssertionError("cryptsetup is missing: ci/setup.sh installs cryptsetup-bin");
            }
            org.junit.jupiter.api.Assumptions.abort("cryptsetup is not installed (Debian cryptsetup-bin)");
        }
        java.util.List<String> cmd = new java.util.ArrayList<>(java.util.List.of(binary));
        cmd.addAll(java.util.List.of(args));
        Path log = dir.resolve("cryptsetup.log");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS), "cryptsetup timed out: " + cmd);
        assertEquals(0, p.exitValue(), cmd + ": " + Files.readString(log));
    }
}
