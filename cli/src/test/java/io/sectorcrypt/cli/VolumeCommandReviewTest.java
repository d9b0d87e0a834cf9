package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Review of DOUBLE disks through the CLI. */
class VolumeCommandReviewTest {
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

    private static CliRun ok(String... args) {
        CliRun run = CliRun.of(args);
        assertEquals(0, run.exitCode(), String.join(" ", args) + ": " + run.err());
        return run;
    }

    /**
     * 'volume rotate' on a DOUBLE disk whose outer layer is behind the platform key's newest
     * version re-wraps that layer (rewrapDisk does every layer), but the command compares only
     * the XTS layer's version and says "already wrapped ...: nothing to do".
     */
    @Test
    void rotateSaysWhatItDidToTheOuterLayer() {
        ok("keys", "create", "cmk", "--type", "rsa", "--size", "2048");
        ok("set", "create", "dd", "--type", "double", "--key", "cmk");
        Path disk = dir.resolve("disk.img");
        ok("volume", "create", disk.toString(), "--size", "4M", "--set", "dd");
        ok("keys", "new-version", "platform");
        String said = ok("volume", "rotate", disk.toString()).out();
        String info = ok("volume", "info", disk.toString()).out();
        assertTrue(info.contains("infrastructure DEK wrapped with AES-KWP by key 'platform' version 2"), info);
        assertFalse(said.contains("nothing to do"), "the outer layer was re-wrapped, yet rotate said: " + said);
    }

    /**
     * An operator revokes the outer-layer identity's access to the platform key (stopping
     * every DOUBLE disk, e.g. during an incident); then anyone creating another DOUBLE set
     * silently grants it again ('set create' grants platform:outer-layer unconditionally), and
     * every DOUBLE disk reads again. The output does not say that access was restored.
     */
    @Test
    void creatingAnotherDoubleSetDoesNotUndoARevocationOfTheOuterLayerIdentity() throws Exception {
        ok("keys", "create", "cmk", "--type", "rsa", "--size", "2048");
        ok("set", "create", "dd", "--type", "double", "--key", "cmk");
        Path disk = dir.resolve("disk.img");
        ok("volume", "create", disk.toString(), "--size", "4M", "--set", "dd");
        Path in = java.nio.file.Files.writeString(dir.resolve("in.txt"), "secret");
        ok("volume", "write", disk.toString(), "--offset", "0", in.toString());
        ok("keys", "revoke", "platform", "platform:outer-layer");
        CliRun refused = CliRun.of("volume", "read", disk.toString(), "--offset", "0", "--length", "6", "-");
        assertEquals(1, refused.exitCode(), "the revocation stops the DOUBLE disk: " + refused.out());
        CliRun another = CliRun.of("set", "create", "other", "--type", "double", "--key", "cmk");
        CliRun after = CliRun.of("volume", "read", disk.toString(), "--offset", "0", "--length", "6", "-");
        assertEquals(1, after.exitCode(), "creating set 'other' (exit " + another.exitCode() + ": " + another.out()
                + another.err() + ") re-granted the revoked identity: the DOUBLE disk reads again: " + after.out());
    }
}
