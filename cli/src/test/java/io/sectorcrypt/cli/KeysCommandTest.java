package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.LocalKeyVault;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.time.Instant;
import java.util.List;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeysCommandTest {
    @TempDir
    Path dir;
    Path vault;
    Path passphrase;

    @BeforeEach
    void files() throws Exception {
        vault = dir.resolve("vault");
        passphrase = Files.writeString(dir.resolve("pass"), "correct horse battery staple\n");
    }

    @AfterEach
    void restoreEnvironment() {
        KeysCommand.environment = System::getenv;
    }

    private CliRun keys(String... args) {
        List<String> all = new ArrayList<>(List.of("keys"));
        all.addAll(List.of(args));
        all.addAll(List.of("--vault", vault.toString(), "--passphrase-file", passphrase.toString()));
        CliRun run = CliRun.of(all.toArray(String[]::new));
        if (run.exitCode() == 0) {
            assertEquals("", run.err(), "a command that succeeds writes nothing to standard error");
        }
        return run;
    }

    private CliRun init() {
        return keys("init", "--scrypt-cost", "16384");
    }

    private List<String> vaultFiles() throws IOException {
        if (!Files.exists(vault)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(vault)) {
            return files.map(f -> f.getFileName() + " " + f.toFile().length() + " " + f.toFile().lastModified())
                    .sorted().toList();
        }
    }

    @Test
    void fullLifecycleOnAVaultMadeByInit() {
        CliRun init = init();
        assertEquals(0, init.exitCode(), init.err());
        assertTrue(init.out().matches("created vault 'local-[0-9a-f]{8}' in " + Pattern.quote(
                vault.toAbsolutePath().toString()) + "\\R"), init.out());
        CliRun created = keys("create", "cust", "--type", "rsa", "--size", "2048");
        assertEquals(0, created.exitCode(), created.err());
        assertEquals("created key 'cust' version 1 (RSA-2048)", created.out().strip());
        assertEquals(0, keys("create", "plat", "--type", "aes", "--expires", "2030-01-01T00:00:00Z").exitCode());
        assertEquals("granted unwrapKey,wrapKey on key 'cust' to 'set-1'",
                keys("grant", "cust", "set-1", "--permissions", "wrapKey,unwrapKey").out().strip());
        assertEquals("created key 'cust' version 2", keys("new-version", "cust").out().strip());
        assertEquals("disabled key 'cust' version 1", keys("disable", "cust", "--version", "1").out().strip());
        assertEquals("key 'cust' version 2 expires 2031-05-01T00:00:00Z",
                keys("set-expiry", "cust", "--at", "2031-05-01T00:00:00Z").out().strip());
        String show = keys("show", "cust").out();
        assertTrue(show.contains("version 1: disabled"), show);
        assertTrue(show.contains("version 2: enabled"), show);
        assertTrue(show.contains("expires 2031-05-01T00:00:00Z"), show);
        assertTrue(show.contains("access:   set-1: unwrapKey,wrapKey"), show);
        assertEquals("enabled key 'cust' version 1", keys("enable", "cust", "--version", "1").out().strip());
        assertEquals("revoked access to key 'cust' from 'set-1'", keys("revoke", "cust", "set-1").out().strip());
        assertEquals(0, keys("delete", "plat").exitCode());
        assertTrue(keys("list").out().lines().anyMatch(l -> l.startsWith("plat") && l.endsWith("deleted")));
        assertEquals("recovered key 'plat'", keys("recover", "plat").out().strip());
        assertEquals(0, keys("delete", "plat").exitCode());
        assertEquals("purged key 'plat'", keys("purge", "plat").out().strip());
        List<String> list = keys("list").out().lines().toList();
        assertEquals(2, list.size(), list.toString());
        assertTrue(list.get(1).matches("cust +RSA-2048 +2 +2 +enabled"), list.get(1));
        CliRun verify = keys("audit", "verify");
        assertEquals(0, verify.exitCode(), verify.err());
        assertEquals("audit log intact: 12 records", verify.out().strip());
    }

    @Test
    void brokenAuditChainExitsNonZeroNamingTheRecord() throws Exception {
        init();
        keys("create", "a", "--type", "aes");
        keys("create", "b", "--type", "aes");
        keys("create", "c", "--type", "aes");
        Path log = vault.resolve("audit.log");
        List<String> lines = new ArrayList<>(Files.readAllLines(log));
        lines.set(1, lines.get(1).replace("\tb\t", "\tx\t"));
        Files.write(log, lines);
        CliRun verify = keys("audit", "verify");
        assertEquals(1, verify.exitCode());
        assertEquals("sectorcrypt: audit log damaged at record 2: record 2 does not match the MAC chain: it, or the"
                + " record before it, was altered", verify.err());
    }

    @Test
    void refusalsExitNonZeroWithAMessage() {
        init();
        keys("create", "k", "--type", "aes");
        assertRefused("sectorcrypt: customer keys are RSA 2048, 3072 or 4096 bits, not 1024",
                keys("create", "r", "--type", "rsa", "--size", "1024"));
        assertRefused("sectorcrypt: platform keys are AES-256 only, not AES-128",
                keys("create", "a", "--type", "aes", "--size", "128"));
        assertRefused("sectorcrypt: key 'k' already exists in vault '" + vaultId() + "'",
                keys("create", "k", "--type", "aes"));
        assertRefused("sectorcrypt: key 'nope' does not exist in vault '" + vaultId() + "'", keys("show", "nope"));
        assertRefused("sectorcrypt: key 'k' in vault '" + vaultId() + "' must be deleted before it can be purged",
                keys("purge", "k"));
        assertRefused("sectorcrypt: unknown permission 'admin'; choose get, wrapKey or unwrapKey",
                keys("grant", "k", "id", "--permissions", "admin"));
        assertRefused("sectorcrypt: 'tomorrow' is neither an ISO-8601 instant (2027-01-31T00:00:00Z) nor a duration"
                + " (P90D, PT12H)", keys("set-expiry", "k", "--at", "tomorrow"));
    }

    @Test
    void passphraseComesFromTheEnvironmentOrIsRefused() throws Exception {
        init();
        keys("create", "k", "--type", "aes");
        KeysCommand.environment = name -> name.equals(KeysCommand.PASSPHRASE_ENV) ? "correct horse battery staple"
                : null;
        CliRun fromEnv = CliRun.of("keys", "list", "--vault", vault.toString());
        assertEquals(0, fromEnv.exitCode(), fromEnv.err());
        KeysCommand.environment = name -> name.equals(KeysCommand.PASSPHRASE_ENV) ? "wrong" : null;
        assertRefused("sectorcrypt: wrong passphrase for vault " + vault.toAbsolutePath(),
                CliRun.of("keys", "list", "--vault", vault.toString()));
        KeysCommand.environment = name -> null;
        // Under a build there is no terminal: the command says where a passphrase can come from.
        assertRefused("sectorcrypt: no vault passphrase: give --passphrase-file F, set SECTORCRYPT_VAULT_PASSPHRASE,"
                + " or run in a terminal", CliRun.of("keys", "list", "--vault", vault.toString()));
        KeysCommand.environment = name -> name.equals(KeysCommand.PASSPHRASE_ENV) ? "" : null;
        assertRefused("sectorcrypt: SECTORCRYPT_VAULT_PASSPHRASE is set but empty: give the passphrase in it, or"
                + " unset it to be asked on the terminal", CliRun.of("keys", "list", "--vault", vault.toString()));
        Files.writeString(passphrase, "");
        assertRefused("sectorcrypt: --passphrase-file " + passphrase + " is empty", keys("list"));
        Files.writeString(passphrase, "some long passphrase\n");
        assertRefused("sectorcrypt: scrypt N must be a power of two of at least 16384, not 1000", CliRun.of("keys",
                "init", "--vault", dir.resolve("new").toString(), "--passphrase-file", passphrase.toString(),
                "--scrypt-cost", "1000"));
        assertTrue(Files.notExists(dir.resolve("new").resolve("vault.meta")), "nothing half-created");
        Path folder = Files.createDirectory(dir.resolve("folder"));
        assertRefused("sectorcrypt: cannot read --passphrase-file " + folder + ": is a directory", CliRun.of("keys",
                "list", "--vault", vault.toString(), "--passphrase-file", folder.toString()));
    }

    @Test
    void onlyInitCreatesAVault() throws IOException {
        for (String[] command : new String[][] {{"list"}, {"create", "k", "--type", "aes"}, {"show", "k"},
            {"audit", "verify"}}) {
            assertRefused("sectorcrypt: there is no vault in " + vault.toAbsolutePath() + ": create one with"
                    + " 'sectorcrypt keys init --vault " + vault + "'", keys(command));
            assertFalse(Files.exists(vault), "nothing created by " + String.join(" ", command));
        }
        assertEquals(0, init().exitCode());
        assertRefused("sectorcrypt: a vault already exists in " + vault.toAbsolutePath() + "; nothing was changed",
                init());
        Path busy = Files.createDirectory(dir.resolve("busy"));
        Files.writeString(busy.resolve("notes.txt"), "mine");
        assertRefused("sectorcrypt: " + busy + " is not empty: a new vault goes into a new or empty directory",
                CliRun.of("keys", "init", "--vault", busy.toString(), "--passphrase-file", passphrase.toString()));
    }

    @Test
    void aVaultThatLostItsMetaIsRefusedAndStaysWhole() throws Exception {
        init();
        keys("create", "a", "--type", "aes");
        keys("create", "b", "--type", "aes");
        keys("create", "c", "--type", "aes");
        Path meta = vault.resolve("vault.meta");
        byte[] saved = Files.readAllBytes(meta);
        Files.delete(meta);
        List<String> before = vaultFiles();
        String restore = "sectorcrypt: vault " + vault.toAbsolutePath() + " has lost its vault.meta (it still holds"
                + " keys.db, audit.log, audit.log.head): restore " + meta.toAbsolutePath() + " from a backup; without"
                + " it the keys cannot be opened, and nothing was written";
        assertRefused(restore, keys("list"));
        assertRefused(restore, keys("create", "d", "--type", "aes"));
        assertRefused(restore, init());
        assertEquals(before, vaultFiles(), "nothing written");
        Files.write(meta, saved);
        assertEquals(0, keys("create", "d", "--type", "aes").exitCode());
        CliRun verify = keys("audit", "verify");
        assertEquals(0, verify.exitCode(), verify.err());
        assertEquals("audit log intact: 4 records", verify.out().strip());
    }

    @Test
    void aNewVaultRefusesAShortPassphraseSayingWhy() throws IOException {
        Files.writeString(passphrase, "x\n");
        assertRefused("sectorcrypt: --passphrase-file " + passphrase + ": a new vault's passphrase needs at least 14"
                + " characters, not only blanks (this one has 1): it alone guards the keys against guessing offline from"
                + " a copy of the vault (14 is also the floor FIPS mode sets)", init());
        KeysCommand.environment = name -> name.equals(KeysCommand.PASSPHRASE_ENV) ? "short" : null;
        assertRefused("sectorcrypt: SECTORCRYPT_VAULT_PASSPHRASE: a new vault's passphrase needs at least 14"
                + " characters, not only blanks (this one has 5): it alone guards the keys against guessing offline from"
                + " a copy of the vault (14 is also the floor FIPS mode sets)", CliRun.of("keys", "init", "--vault", vault.toString()));
        assertFalse(Files.exists(vault), "nothing created");
    }

    @Test
    void badArgumentsAreRefusedBeforeTheVaultIsUnlocked() throws IOException {
        // No passphrase anywhere and no vault: only a check made before unlocking can name the argument.
        KeysCommand.environment = name -> null;
        String[][] cases = {
            {"key name 'bad name' may hold only letters, digits and . _ @ : - and must start with a letter or digit",
                "create", "bad name", "--type", "aes"},
            {"key name '-x' may hold only letters, digits and . _ @ : - and must start with a letter or digit",
                "delete", "--", "-x"},
            {"identity 'a b' may hold only letters, digits and . _ @ : - and must start with a letter or digit",
                "grant", "k", "a b"},
            {"identity is empty", "revoke", "k", ""},
            {"unknown permission 'admin'; choose get, wrapKey or unwrapKey", "grant", "k", "id", "--permissions",
                "admin"},
            {"customer keys are RSA 2048, 3072 or 4096 bits, not 1024", "create", "r", "--type", "rsa", "--size",
                "1024"},
            {"--version must be 1 or more, not 0", "disable", "k", "--version", "0"},
            {"'soon' is neither an ISO-8601 instant (2027-01-31T00:00:00Z) nor a duration (P90D, PT12H)",
                "set-expiry", "k", "--at", "soon"},
            {"key name is longer than 127 characters", "show", "k".repeat(128)},
        };
        for (String[] c : cases) {
            List<String> args = new ArrayList<>(List.of("keys", c[1], "--vault", vault.toString()));
            args.addAll(List.of(c).subList(2, c.length));
            assertRefused("sectorcrypt: " + c[0], CliRun.of(args.toArray(String[]::new)));
        }
        assertFalse(Files.exists(vault), "no vault directory created");
    }

    @Test
    void aPastExpiryIsRefusedAndAnExpiredKeyIsShownAsExpired() throws Exception {
        init();
        keys("create", "k", "--type", "aes");
        assertRefused("sectorcrypt: --at 2000-01-01T00:00:00Z is in the past; an expiry must be later than now (to"
                + " stop a key version now, use 'keys disable')", keys("set-expiry", "k", "--at",
                "2000-01-01T00:00:00Z"));
        assertRefused("sectorcrypt: --at P-1D is in the past; an expiry must be later than now (to stop a key version"
                + " now, use 'keys disable')", keys("set-expiry", "k", "--at", "P-1D"));
        assertRefused("sectorcrypt: --expires 2000-01-01T00:00:00Z is in the past; an expiry must be later than now"
                + " (to stop a key version now, use 'keys disable')", keys("create", "old", "--type", "aes",
                "--expires", "2000-01-01T00:00:00Z"));
        assertTrue(keys("list").out().lines().noneMatch(l -> l.startsWith("old")));
        // Past what the vault can record: a clear refusal, not an arithmetic overflow.
        assertRefused("sectorcrypt: --at +999999999-12-31T23:59:59Z is past 9999-12-31T23:59:59Z, the latest expiry a"
                + " key version can have (the vault records instants in milliseconds; omit the expiry for none)",
                keys("set-expiry", "k", "--at", "+999999999-12-31T23:59:59Z"));
        assertRefused("sectorcrypt: --at P99999999999D is past 9999-12-31T23:59:59Z, the latest expiry a key version"
                + " can have (the vault records instants in milliseconds; omit the expiry for none)",
                keys("set-expiry", "k", "--at", "P99999999999D"));
        // A key that expires while in use: set through the library, whose clock the CLI does not control.
        try (LocalKeyVault v = LocalKeyVault.openExisting(vault, new LocalKeyVault.Credentials.Passphrase(
                "correct horse battery staple".toCharArray()), LocalKeyVault.Options.defaults()
                .withPolicy(CryptoPolicy.DEFAULT))) {
            v.setExpiry("k", 1, Instant.now().minusSeconds(60));
        }
        List<String> list = keys("list").out().lines().toList();
        assertTrue(list.get(1).matches("k +AES-256 +1 +1 +expired"), list.toString());
        assertTrue(keys("show", "k").out().contains("version 1: expired, created "), keys("show", "k").out());
        keys("disable", "k");
        assertTrue(keys("list").out().lines().toList().get(1).endsWith(" disabled"));
    }

    private String vaultId() {
        return keys("show", "k").out().lines().filter(l -> l.startsWith("vault:")).findFirst().orElseThrow()
                .substring("vault:".length()).strip();
    }

    /** The breaker's case: a log cut by one record was "healed" by the next write and then verified intact. */
    @Test
    void aTruncatedAuditLogStopsEveryCommandAndStaysVisible() throws Exception {
        init();
        keys("create", "k", "--type", "aes");
        keys("create", "k1", "--type", "aes");
        Path log = vault.resolve("audit.log");
        java.util.List<String> lines = Files.readAllLines(log);
        Files.writeString(log, String.join("\n", lines.subList(0, lines.size() - 1)) + "\n");
        String damaged = "sectorcrypt: audit log " + log.toAbsolutePath() + " is damaged: it ends after record "
                + (lines.size() - 1) + " but " + lines.size() + " were written: it was truncated or deleted; restore"
                + " audit.log and audit.log.head from a backup ('keys audit verify' shows where); nothing was written";
        assertRefused(damaged, keys("create", "k2", "--type", "aes"));
        assertRefused(damaged, keys("list"));
        assertEquals(lines.size() - 1, Files.readAllLines(log).size(), "nothing written");
        CliRun verify = keys("audit", "verify");
        assertEquals(1, verify.exitCode(), verify.out() + verify.err());
    }

    private static void assertRefused(String message, CliRun run) {
        assertEquals(1, run.exitCode(), run.out());
        assertEquals(message, run.err());
    }
}
