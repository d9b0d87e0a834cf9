package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
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
        all.addAll(List.of("--vault", vault.toString(), "--passphrase-file", passphrase.toString(),
                "--scrypt-cost", "16384"));
        return CliRun.of(all.toArray(String[]::new));
    }

    @Test
    void fullLifecycleOnAVaultCreatedOnFirstUse() {
        CliRun created = keys("create", "cust", "--type", "rsa", "--size", "2048");
        assertEquals(0, created.exitCode(), created.err());
        assertEquals("created key 'cust' version 1 (RSA-2048)", created.out().strip());
        assertTrue(created.err().startsWith("sectorcrypt: created vault 'local-"), created.err());
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
        Files.writeString(passphrase, "");
        assertRefused("sectorcrypt: the passphrase file " + passphrase + " is empty", keys("list"));
        Files.writeString(passphrase, "some passphrase\n");
        assertRefused("sectorcrypt: scrypt N must be a power of two of at least 16384, not 1000", CliRun.of("keys",
                "list", "--vault", dir.resolve("new").toString(), "--passphrase-file", passphrase.toString(),
                "--scrypt-cost", "1000"));
        assertTrue(Files.notExists(dir.resolve("new").resolve("vault.meta")), "nothing half-created");
    }

    private String vaultId() {
        return keys("show", "k").out().lines().filter(l -> l.startsWith("vault:")).findFirst().orElseThrow()
                .substring("vault:".length()).strip();
    }

    private static void assertRefused(String message, CliRun run) {
        assertEquals(1, run.exitCode(), run.out());
        assertEquals(message, run.err());
    }
}
