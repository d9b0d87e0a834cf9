package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AuditLogTest {
    @TempDir
    Path tmp;
    final MutableClock clock = MutableClock.atTestEpoch();
    AuditLog log;
    Path file;

    @BeforeEach
    void fiveRecords() {
        file = tmp.resolve("audit.log");
        byte[] key = new byte[32];
        TestVaults.policy().randomBytes(key);
        log = AuditLog.open(file, key, TestVaults.policy(), clock);
        for (int i = 1; i <= 5; i++) {
            log.append("id-" + i, "vault", "key", Integer.toString(i), "unwrap", "ok\tweird\nfield %");
        }
    }

    private List<String> lines() throws Exception {
        return new ArrayList<>(Files.readAllLines(file, StandardCharsets.UTF_8));
    }

    private void write(List<String> lines) throws Exception {
        Files.writeString(file, lines.isEmpty() ? "" : String.join("\n", lines) + "\n", StandardCharsets.UTF_8);
    }

    /**
     * A truncated or deleted log, or a lost head, is not "healed" by the next append (which
     * would chain onto the damage and rewrite the head, hiding it from verify): refused, and
     * nothing is written.
     */
    @Test
    void anAppendNeverPapersOverATruncatedOrDeletedLog() throws Exception {
        Path headFile = tmp.resolve("audit.log.head");
        List<String> five = lines();
        String head = Files.readString(headFile);
        write(five.subList(0, 4));
        assertDamaged("it ends after record 4 but 5 were written: it was truncated or deleted");
        assertEquals(4, lines().size(), "nothing written");
        Files.delete(file);
        assertDamaged("it ends after record 0 but 5 were written: it was truncated or deleted");
        assertFalse(Files.exists(file), "nothing written");
        write(five);
        Files.delete(headFile);
        assertDamaged("it has 5 records but its head file audit.log.head is missing");
        Files.writeString(headFile, head.replaceFirst("^5\t", "4\t"));
        assertDamaged("its head file audit.log.head was altered");
        Files.writeString(headFile, "five\n");
        assertDamaged("its head file audit.log.head is malformed");
        Files.writeString(headFile, head);
        log.refuseIfDamaged();
        // A crash between the record and the head leaves the log one record ahead: that is no damage.
        log.append("id-6", "vault", "key", "6", "unwrap", "ok");
        Files.writeString(headFile, head);
        log.append("id-7", "vault", "key", "7", "unwrap", "ok");
        assertTrue(log.verify().intact(), log.verify().problem());
    }

    private void assertDamaged(String what) {
        KeyVaultException refused = assertThrows(KeyVaultException.class, () -> log.refuseIfDamaged());
        assertEquals("audit log " + file.toAbsolutePath() + " is damaged: " + what + "; restore audit.log and"
                + " audit.log.head from a backup ('keys audit verify' shows where); nothing was written", refused.getMessage());
        KeyVaultException appended = assertThrows(KeyVaultException.class,
                () -> log.append("id", "vault", "key", "1", "unwrap", "ok"));
        assertEquals(refused.getMessage(), appended.getMessage());
    }

    @Test
    void intactLogVerifiesAndReadsBack() {
        AuditLog.Verification v = log.verify();
        assertTrue(v.intact(), v.problem());
        assertEquals(5, v.records());
        List<AuditLog.Record> records = log.read();
        assertEquals("id-3", records.get(2).identity());
        assertEquals("ok\tweird\nfield %", records.get(2).result());
        assertEquals(clock.instant(), records.get(0).time());
    }

    @Test
    void editedRecordIsFoundAtItsPosition() throws Exception {
        List<String> lines = lines();
        lines.set(2, lines.get(2).replace("id-3", "id-X"));
        write(lines);
        AuditLog.Verification v = log.verify();
        assertFalse(v.intact());
        assertEquals(3, v.firstBadRecord());
        assertEquals("record 3 does not match the MAC chain: it, or the record before it, was altered", v.problem());
    }

    @Test
    void droppedRecordIsFound() throws Exception {
        List<String> lines = lines();
        lines.remove(1);
        write(lines);
        AuditLog.Verification v = log.verify();
        assertEquals(2, v.firstBadRecord());
        assertEquals("record 2 carries sequence number 3: records were dropped, inserted or reordered", v.problem());
    }

    @Test
    void reorderedRecordsAreFound() throws Exception {
        List<String> lines = lines();
        Collections.swap(lines, 3, 4);
        write(lines);
        assertEquals(4, log.verify().firstBadRecord());
    }

    @Test
    void truncatedLogIsFoundThroughTheHead() throws Exception {
        List<String> lines = lines();
        write(lines.subList(0, 3));
        AuditLog.Verification v = log.verify();
        assertFalse(v.intact());
        assertEquals(4, v.firstBadRecord());
        assertEquals("the log ends after record 3 but 5 were written: it was truncated", v.problem());
    }

    @Test
    void recordCutMidLineIsFound() throws Exception {
        byte[] all = Files.readAllBytes(file);
        Files.write(file, java.util.Arrays.copyOf(all, all.length - 10));
        AuditLog.Verification v = log.verify();
        assertEquals(5, v.firstBadRecord());
        assertEquals("record 5 is incomplete (cut short)", v.problem());
    }

    @Test
    void alteredHeadIsFound() throws Exception {
        Path head = tmp.resolve("audit.log.head");
        Files.writeString(head, Files.readString(head).replaceFirst("^5", "4"));
        assertEquals("the head file was altered", log.verify().problem());
    }

    @Test
    void tornTailFromACrashIsCutOffByTheNextAppend() throws Exception {
        Files.write(file, "6\t2026-01-01T00:00:00Z\tpartial".getBytes(StandardCharsets.UTF_8),
                java.nio.file.StandardOpenOption.APPEND);
        assertFalse(log.verify().intact());
        log.append("id-6", "vault", "key", "6", "unwrap", "ok");
        AuditLog.Verification v = log.verify();
        assertTrue(v.intact(), v.problem());
        assertEquals(6, v.records());
    }

    @Test
    void aLogCannotBeVerifiedWithAnotherKey() {
        AuditLog other = AuditLog.open(file, new byte[32], TestVaults.policy(), clock);
        assertEquals(1, other.verify().firstBadRecord());
    }

    @Test
    void vaultOperationsAndDenialsAreAudited() {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            vault.createKey("k", KeyType.AES_256, null);
            vault.grant("k", "set-a", Set.of(Permission.WRAP_KEY));
            WrappedKey w = vault.wrap("set-a", "k", 1, arena.allocate(64).fill((byte) 7));
            try {
                vault.unwrap("set-a", w, arena);
            } catch (KeyVaultException expected) {
                // denied: set-a has no unwrapKey
            }
            List<String> ops = vault.auditLog().read().stream()
                    .map(r -> r.identity() + " " + r.operation() + " " + r.key() + "/" + r.version() + " " + r.result())
                    .toList();
            assertEquals(List.of("admin create k/1 ok", "admin grant set-a wrapKey k/- ok",
                    "set-a wrap k/1 ok AES-KWP", "set-a unwrap k/1 denied: access_denied"), ops);
            assertTrue(vault.auditLog().verify().intact());
        }
    }

    private static List<String> records(KeyVault vault) {
        return vault.auditLog().read().stream()
                .map(r -> r.identity() + " " + r.operation() + " " + r.key() + "/" + r.version() + " " + r.result())
                .toList();
    }

    private ScriptedVault scripted() {
        byte[] key = new byte[32];
        TestVaults.policy().randomBytes(key);
        ScriptedVault vault = new ScriptedVault(AuditLog.open(tmp.resolve("scripted.log"), key, TestVaults.policy(),
                clock), clock);
        vault.createKey("k", KeyType.AES_256, null);
        vault.grant("k", "set-a", Permission.all());
        return vault;
    }

    /**
     * A wrap the provider completed but the vault could not hand back (here the 8 bytes BCFIPS
     * once made of an empty key, too short for a WrappedKey) was recorded "ok" and then "failed".
     */
    @Test
    void aWrapThatFailsAfterTheProviderSucceededWritesOneRecord() {
        try (ScriptedVault vault = scripted(); Arena arena = Arena.ofConfined()) {
            vault.wrapper = length -> new CatalogKeyVault.Wrapped(WrapAlgorithm.AES_KWP,
                    java.util.HexFormat.of().parseHex("a65959a600000000"));
            assertThrows(IllegalArgumentException.class, () -> vault.wrap("set-a", "k", 1, arena.allocate(32)));
            assertEquals(List.of("admin create k/1 ok", "admin grant set-a get,unwrapKey,wrapKey k/- ok",
                    "set-a wrap k/1 refused: invalid"), records(vault));
        }
    }

    /** An unwrap that failed inside the vault other than by the integrity check wrote no record. */
    @Test
    void anUnwrapThatFailsInsideTheVaultWritesOneRecord() {
        try (ScriptedVault vault = scripted(); Arena arena = Arena.ofConfined()) {
            WrappedKey w = vault.wrap("set-a", "k", 1, arena.allocate(32));
            vault.unwrapFailure = new IllegalStateException("scripted: the token was removed");
            assertThrows(IllegalStateException.class, () -> vault.unwrap("set-a", w, arena));
            assertEquals(List.of("set-a wrap k/1 ok AES-KWP", "set-a unwrap k/1 failed"),
                    records(vault).subList(2, records(vault).size()));
        }
    }

    /** A management call whose change could not be stored wrote no record. */
    @Test
    void aManagementCallThatFailsToStoreWritesOneRecord() {
        try (ScriptedVault vault = scripted()) {
            vault.storageFails = true;
            assertThrows(java.io.UncheckedIOException.class, () -> vault.newVersion("k"));
            assertThrows(java.io.UncheckedIOException.class, () -> vault.setEnabled("k", 1, false));
            assertEquals(List.of("admin new-version k/- failed", "admin disable k/1 failed"),
                    records(vault).subList(2, records(vault).size()));
        }
    }

    /** Checks made before the vault's lock (the name, the RSA size, the grantee) were not recorded at all. */
    @Test
    void refusedArgumentsOfManagementCallsWriteOneRecord() {
        try (ScriptedVault vault = scripted()) {
            assertThrows(IllegalArgumentException.class, () -> vault.grant("k", "set-b", Set.of()));
            assertThrows(IllegalArgumentException.class, () -> vault.createKey("bad name", KeyType.AES_256, null));
            assertEquals(List.of("admin grant set-b  k/- refused: invalid", "admin create bad name/1 refused: invalid"),
                    records(vault).subList(2, records(vault).size()));
        }
    }

    /** Every refusal and failure of wrap and unwrap on a real vault: one record each, in both policies. */
    @Test
    void everyWrapAndUnwrapOutcomeIsOneRecord() {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            vault.createKey("k", KeyType.AES_256, null);
            vault.grant("k", "set-a", Permission.all());
            // The empty key: in FIPS mode BCFIPS used to "wrap" it, then WrappedKey refused the 8 bytes.
            assertEquals("AES-KWP (RFC 5649) wraps a key of 1 to 4294967295 bytes, not 0 bytes", assertThrows(
                    IllegalArgumentException.class, () -> vault.wrap("set-a", "k", 1, arena.allocate(0))).getMessage());
            WrappedKey w = vault.wrap("set-a", "k", 1, arena.allocate(64).fill((byte) 7));
            WrappedKey elsewhere = new WrappedKey(w.algorithm(), "other-vault", "k", 1, w.wrapped());
            assertThrows(KeyVaultException.class, () -> vault.unwrap("set-a", elsewhere, arena));
            WrappedKey cut = new WrappedKey(w.algorithm(), w.vaultId(), "k", 1,
                    java.util.Arrays.copyOf(w.wrapped(), 20));
            KeyVaultException e = assertThrows(KeyVaultException.class, () -> vault.unwrap("set-a", cut, arena));
            assertEquals(KeyVaultException.Reason.UNWRAP_FAILED, e.reason());
            assertEquals("the wrapped key does not unwrap with key 'k' version 1 in vault 'test-vault': AES-KWP (RFC"
                    + " 5649) output is a multiple of 8 bytes and at least 16, not 20 bytes", e.getMessage());
            assertThrows(KeyVaultException.class, () -> vault.unwrap("set-a", new WrappedKey(w.algorithm(),
                    w.vaultId(), "k", 2, w.wrapped()), arena));
            vault.unwrap("set-a", w, arena);
            assertEquals(List.of("set-a wrap k/1 refused: invalid", "set-a wrap k/1 ok AES-KWP",
                    "set-a unwrap k/1 refused: invalid_request", "set-a unwrap k/1 failed: does not unwrap",
                    "set-a unwrap k/2 denied: not_found", "set-a unwrap k/1 ok AES-KWP"),
                    records(vault).subList(2, records(vault).size()));
            assertTrue(vault.auditLog().verify().intact());
        }
    }
}
