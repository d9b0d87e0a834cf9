package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalKeyVaultTest {
    @TempDir
    Path tmp;
    final MutableClock clock = MutableClock.atTestEpoch();

    private static MemorySegment dek(Arena arena) {
        MemorySegment s = arena.allocate(64);
        for (int i = 0; i < 64; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (i + 1));
        }
        return s;
    }

    private static KeyVaultException.Reason reason(Runnable r) {
        return assertThrows(KeyVaultException.class, r::run).reason();
    }

    @Test
    void wrapsAndUnwrapsWithEachKeyType() {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            for (KeyType type : KeyType.values()) {
                String name = type.name().toLowerCase().replace('_', '-');
                vault.createKey(name, type, null);
                vault.grant(name, "set-a", Permission.all());
                WrappedKey w = vault.wrap("set-a", name, 1, dek(arena));
                assertEquals(type.isCustomerKey() ? WrapAlgorithm.RSA_OAEP_256 : WrapAlgorithm.AES_KWP, w.algorithm());
                assertEquals(type.isCustomerKey() ? type.bits() / 8 : 72, w.wrapped().length);
                MemorySegment back = vault.unwrap("set-a", WrappedKey.decode(w.encode()), arena);
                assertArrayEquals(dek(arena).toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
            }
        }
    }

    @Test
    void stateSurvivesReopenAndIsEncryptedAtRest() throws Exception {
        WrappedKey w;
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            vault.createKey("k", KeyType.AES_256, null);
            vault.grant("k", "set-a", Set.of(Permission.WRAP_KEY, Permission.UNWRAP_KEY));
            w = vault.wrap("set-a", "k", 1, dek(arena));
        }
        String db = new String(Files.readAllBytes(tmp.resolve("vault").resolve(LocalKeyVault.CATALOG)),
                java.nio.charset.StandardCharsets.ISO_8859_1);
        assertFalse(db.contains("set-a"), "identities are inside the sealed catalog, not in clear");
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            assertEquals("test-vault", vault.id());
            assertArrayEquals(dek(arena).toArray(ValueLayout.JAVA_BYTE),
                    vault.unwrap("set-a", w, arena).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    @Test
    void wrongKeyFileIsRefusedByName() {
        TestVaults.local(tmp, clock).close();
        Path other = tmp.resolve("other.key");
        LocalKeyVault.createKeyFile(other, TestVaults.policy());
        KeyVaultException e = assertThrows(KeyVaultException.class, () -> LocalKeyVault.open(tmp.resolve("vault"),
                new LocalKeyVault.Credentials.KeyFile(other), LocalKeyVault.Options.defaults()
                        .withPolicy(TestVaults.policy())));
        assertEquals(KeyVaultException.Reason.ACCESS_DENIED, e.reason());
        assertEquals("wrong key file for vault " + tmp.resolve("vault"), e.getMessage());
    }

    /** A wrapped master key cut to a length AES-KWP cannot produce is a damaged file, said as such. */
    @Test
    void wrappedMasterKeyOfAnImpossibleLengthIsADamagedFile() throws Exception {
        TestVaults.local(tmp, clock).close();
        Path meta = tmp.resolve("vault").resolve(LocalKeyVault.META);
        byte[] bytes = Files.readAllBytes(meta);
        // A key-file vault's meta ends with the wrapped master key (40 bytes) after its 2-byte length.
        java.nio.ByteBuffer.wrap(bytes).putShort(bytes.length - 42, (short) 36);
        Files.write(meta, java.util.Arrays.copyOf(bytes, bytes.length - 4));
        KeyVaultException e = assertThrows(KeyVaultException.class, () -> TestVaults.local(tmp, clock));
        assertEquals(KeyVaultException.Reason.STORAGE, e.reason());
        assertEquals(meta + " is damaged: AES-KWP (RFC 5649) output is a multiple of 8 bytes and at least 16, not 36"
                + " bytes", e.getMessage());
    }

    @Test
    void keyFileOfWrongLengthIsRefused() throws Exception {
        Path bad = tmp.resolve("short.key");
        Files.write(bad, new byte[16]);
        KeyVaultException e = assertThrows(KeyVaultException.class, () -> LocalKeyVault.open(tmp.resolve("v2"),
                new LocalKeyVault.Credentials.KeyFile(bad), LocalKeyVault.Options.defaults()
                        .withPolicy(TestVaults.policy())));
        assertEquals("key file " + bad + " must hold exactly 32 bytes, not 16", e.getMessage());
    }

    @Test
    @Tag("default-only")
    void passphraseVaultUsesScryptAndRefusesAWrongPassphrase() {
        LocalKeyVault.Options options = LocalKeyVault.Options.defaults().withPolicy(CryptoPolicy.DEFAULT)
                .withClock(clock).withScryptCost(1 << 14);
        Path dir = tmp.resolve("pv");
        try (LocalKeyVault vault = LocalKeyVault.open(dir, new LocalKeyVault.Credentials.Passphrase(
                "correct horse battery".toCharArray()), options)) {
            vault.createKey("k", KeyType.AES_256, null);
        }
        try (LocalKeyVault vault = LocalKeyVault.open(dir, new LocalKeyVault.Credentials.Passphrase(
                "correct horse battery".toCharArray()), options)) {
            assertEquals(1, vault.list().size());
        }
        KeyVaultException e = assertThrows(KeyVaultException.class, () -> LocalKeyVault.open(dir,
                new LocalKeyVault.Credentials.Passphrase("wrong horse".toCharArray()), options));
        assertEquals("wrong passphrase for vault " + dir, e.getMessage());
        KeyVaultException kf = assertThrows(KeyVaultException.class, () -> LocalKeyVault.open(dir,
                new LocalKeyVault.Credentials.KeyFile(tmp.resolve("x")), options));
        assertEquals("vault " + dir + " is protected by a passphrase; give that instead", kf.getMessage());
    }

    private static List<String> listing(Path dir) throws Exception {
        try (var files = Files.list(dir)) {
            return files.map(f -> f.getFileName().toString()).sorted().toList();
        }
    }

    private LocalKeyVault openWithKeyFile(Path dir, boolean create) {
        Path keyFile = tmp.resolve("vault.key");
        LocalKeyVault.Credentials.KeyFile credentials = new LocalKeyVault.Credentials.KeyFile(keyFile);
        LocalKeyVault.Options options = LocalKeyVault.Options.defaults().withPolicy(TestVaults.policy());
        return create ? LocalKeyVault.create(dir, credentials, options)
                : LocalKeyVault.openExisting(dir, credentials, options);
    }

    @Test
    void aVaultThatLostItsMetaIsNeverReplacedByANewOne() throws Exception {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            vault.createKey("k", KeyType.AES_256, null);
        }
        Path dir = tmp.resolve("vault");
        Path meta = dir.resolve(LocalKeyVault.META);
        byte[] saved = Files.readAllBytes(meta);
        Files.delete(meta);
        List<String> before = listing(dir);
        String expected = "vault " + dir + " has lost its vault.meta (it still holds keys.db, audit.log,"
                + " audit.log.head): restore " + meta + " from a backup; without it the keys cannot be opened, and"
                + " nothing was written";
        assertEquals(expected, assertThrows(KeyVaultException.class, () -> TestVaults.local(tmp, clock)).getMessage());
        assertEquals(expected, assertThrows(KeyVaultException.class, () -> openWithKeyFile(dir, false)).getMessage());
        assertEquals(expected, assertThrows(KeyVaultException.class, () -> openWithKeyFile(dir, true)).getMessage());
        assertEquals(before, listing(dir), "nothing written");
        Files.write(meta, saved);
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            assertEquals(1, vault.list().size());
            assertTrue(vault.auditLog().verify().intact());
        }
    }

    @Test
    void aVaultThatLostItsCatalogSaysWhatToRestore() throws Exception {
        TestVaults.local(tmp, clock).close();
        Path catalog = tmp.resolve("vault").resolve(LocalKeyVault.CATALOG);
        assertTrue(Files.exists(catalog), "keys.db is written when the vault is created");
        Files.delete(catalog);
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            KeyVaultException e = assertThrows(KeyVaultException.class, () -> vault.createKey("k", KeyType.AES_256,
                    null));
            assertEquals("vault " + tmp.resolve("vault") + " has lost its keys.db (its keys): restore " + catalog
                    + " from a backup; nothing was written", e.getMessage());
        }
        assertFalse(Files.exists(catalog));
    }

    @Test
    void openExistingNeverCreatesAndCreateNeverOpens() throws Exception {
        LocalKeyVault.createKeyFile(tmp.resolve("vault.key"), TestVaults.policy());
        Path dir = tmp.resolve("v");
        KeyVaultException none = assertThrows(KeyVaultException.class, () -> openWithKeyFile(dir, false));
        assertEquals(KeyVaultException.Reason.NOT_FOUND, none.reason());
        assertEquals("there is no vault in " + dir, none.getMessage());
        assertEquals(none.getMessage(), assertThrows(KeyVaultException.class, () -> LocalKeyVault.checkExists(dir))
                .getMessage());
        assertFalse(Files.exists(dir), "nothing created");
        openWithKeyFile(dir, true).close();
        openWithKeyFile(dir, false).close();
        KeyVaultException twice = assertThrows(KeyVaultException.class, () -> openWithKeyFile(dir, true));
        assertEquals(KeyVaultException.Reason.ALREADY_EXISTS, twice.reason());
        assertEquals("a vault already exists in " + dir + "; nothing was changed", twice.getMessage());
        Path other = Files.createDirectory(tmp.resolve("other"));
        Files.writeString(other.resolve("notes.txt"), "mine");
        KeyVaultException busy = assertThrows(KeyVaultException.class, () -> openWithKeyFile(other, true));
        assertEquals(other + " is not empty: a new vault goes into a new or empty directory", busy.getMessage());
        assertEquals(List.of("notes.txt"), listing(other));
    }

    @Test
    void aNewVaultRefusesAShortPassphraseBeforeWritingAnything() {
        Path dir = tmp.resolve("pv");
        LocalKeyVault.Options options = LocalKeyVault.Options.defaults().withPolicy(TestVaults.policy())
                .withScryptCost(1 << 14);
        KeyVaultException e = assertThrows(KeyVaultException.class, () -> LocalKeyVault.create(dir,
                new LocalKeyVault.Credentials.Passphrase("x".toCharArray()), options));
        assertEquals(KeyVaultException.Reason.INVALID_REQUEST, e.reason());
        assertEquals("a new vault's passphrase needs at least 14 characters, not only blanks (this one has 1): it alone"
                + " guards the keys against guessing offline from a copy of the vault (14 is also the floor FIPS mode"
                + " sets)", e.getMessage());
        assertFalse(Files.exists(dir));
        // Counted as a person counts: seven emoji are 14 UTF-16 units but 7 characters; blanks are no passphrase.
        KeyVaultException emoji = assertThrows(KeyVaultException.class, () -> LocalKeyVault.create(dir,
                new LocalKeyVault.Credentials.Passphrase("\uD83D\uDD11".repeat(7).toCharArray()), options));
        assertTrue(emoji.getMessage().contains("(this one has 7)"), emoji.getMessage());
        KeyVaultException blank = assertThrows(KeyVaultException.class, () -> LocalKeyVault.create(dir,
                new LocalKeyVault.Credentials.Passphrase(" ".repeat(14).toCharArray()), options));
        assertTrue(blank.getMessage().contains("(this one is blank)"), blank.getMessage());
        assertFalse(Files.exists(dir));
        assertThrows(KeyVaultException.class, () -> LocalKeyVault.open(dir,
                new LocalKeyVault.Credentials.Passphrase("thirteen char".toCharArray()), options));
        assertFalse(Files.exists(dir));
    }

    @Test
    void lifecycleGatesWrapAndUnwrap() {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            vault.createKey("k", KeyType.AES_256, null);
            vault.grant("k", "set-a", Permission.all());
            WrappedKey w = vault.wrap("set-a", "k", 1, dek(arena));

            vault.setEnabled("k", 1, false);
            KeyVaultException disabled = assertThrows(KeyVaultException.class, () -> vault.unwrap("set-a", w, arena));
            assertEquals("key 'k' version 1 in vault 'test-vault' is disabled", disabled.getMessage());
            vault.setEnabled("k", 1, true);
            vault.unwrap("set-a", w, arena);

            vault.setExpiry("k", 1, clock.instant().plus(Duration.ofDays(1)));
            vault.unwrap("set-a", w, arena);
            clock.advance(Duration.ofDays(1));
            KeyVaultException expired = assertThrows(KeyVaultException.class, () -> vault.unwrap("set-a", w, arena));
            assertEquals("key 'k' version 1 in vault 'test-vault' expired at 2026-01-02T00:00:00Z", expired.getMessage());
            vault.setExpiry("k", 1, null);

            vault.delete("k");
            KeyVaultException deleted = assertThrows(KeyVaultException.class, () -> vault.unwrap("set-a", w, arena));
            assertEquals("key 'k' in vault 'test-vault' is deleted", deleted.getMessage());
            assertEquals(KeyVaultException.Reason.DELETED, reason(() -> vault.newVersion("k")));
            assertTrue(vault.show("k").isDeleted());
            vault.recover("k");
            vault.unwrap("set-a", w, arena);

            vault.revoke("k", "set-a");
            KeyVaultException denied = assertThrows(KeyVaultException.class, () -> vault.unwrap("set-a", w, arena));
            assertEquals("identity 'set-a' may not unwrapKey with key 'k' in vault 'test-vault'", denied.getMessage());
            assertEquals(KeyVaultException.Reason.ACCESS_DENIED, denied.reason());

            vault.grant("k", "set-a", Set.of(Permission.UNWRAP_KEY));
            vault.unwrap("set-a", w, arena);
            assertEquals("identity 'set-a' may not wrapKey with key 'k' in vault 'test-vault'",
                    assertThrows(KeyVaultException.class, () -> vault.wrap("set-a", "k", 1, dek(arena))).getMessage());
        }
    }

    @Test
    void versionsPurgeAndRefusals() {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            vault.createKey("k", KeyType.AES_256, null);
            vault.grant("k", "id", Permission.all());
            assertEquals(2, vault.newVersion("k").version());
            WrappedKey underV1 = vault.wrap("id", "k", 1, dek(arena));
            WrappedKey underV2 = vault.wrap("id", "k", 2, dek(arena));
            // The version is part of the key: v2 cannot open what v1 wrapped (RFC 5649 integrity check).
            WrappedKey swapped = new WrappedKey(WrapAlgorithm.AES_KWP, "test-vault", "k", 2, underV1.wrapped());
            KeyVaultException wrong = assertThrows(KeyVaultException.class, () -> vault.unwrap("id", swapped, arena));
            assertEquals("the wrapped key does not unwrap with key 'k' version 2 in vault 'test-vault' (wrong key, or"
                    + " altered bytes)", wrong.getMessage());
            vault.unwrap("id", underV2, arena);

            assertEquals("key 'k' already exists in vault 'test-vault'", assertThrows(KeyVaultException.class,
                    () -> vault.createKey("k", KeyType.AES_256, null)).getMessage());
            assertEquals("key 'k' in vault 'test-vault' must be deleted before it can be purged",
                    assertThrows(KeyVaultException.class, () -> vault.purge("k")).getMessage());
            assertEquals("key 'k' in vault 'test-vault' is not deleted: nothing to recover",
                    assertThrows(KeyVaultException.class, () -> vault.recover("k")).getMessage());
            assertEquals("key 'k' in vault 'test-vault' has no version 9",
                    assertThrows(KeyVaultException.class, () -> vault.setEnabled("k", 9, false)).getMessage());
            assertEquals("key 'nope' does not exist in vault 'test-vault'",
                    assertThrows(KeyVaultException.class, () -> vault.show("nope")).getMessage());
            assertEquals("grant at least one permission: get, wrapKey or unwrapKey",
                    assertThrows(IllegalArgumentException.class, () -> vault.grant("k", "x", Set.of())).getMessage());
            assertEquals("the wrapped key belongs to vault 'elsewhere', not 'test-vault'", assertThrows(
                    KeyVaultException.class, () -> vault.unwrap("id", new WrappedKey(WrapAlgorithm.AES_KWP,
                            "elsewhere", "k", 1, underV1.wrapped()), arena)).getMessage());

            vault.delete("k");
            assertEquals("key 'k' already exists in vault 'test-vault' (soft-deleted: recover or purge it first)",
                    assertThrows(KeyVaultException.class, () -> vault.createKey("k", KeyType.AES_256, null))
                            .getMessage());
            vault.purge("k");
            assertEquals(List.of(), vault.list());
            assertEquals(KeyVaultException.Reason.NOT_FOUND, reason(() -> vault.unwrap("id", underV2, arena)));
            vault.createKey("k", KeyType.AES_256, null); // the name is free again; the old key is gone for good
            vault.grant("k", "id", Permission.all());
            assertEquals(KeyVaultException.Reason.UNWRAP_FAILED, reason(() -> vault.unwrap("id", underV1, arena)));
        }
    }

    @Test
    void describeNeedsGet() {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            vault.createKey("k", KeyType.AES_256, null);
            vault.grant("k", "reader", Set.of(Permission.GET));
            assertEquals(KeyType.AES_256, vault.describe("reader", "k").type());
            assertEquals("identity 'stranger' may not get with key 'k' in vault 'test-vault'",
                    assertThrows(KeyVaultException.class, () -> vault.describe("stranger", "k")).getMessage());
        }
    }

    @Test
    void catalogEditedOnDiskIsDetected() throws Exception {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            vault.createKey("k", KeyType.AES_256, null);
        }
        Path db = tmp.resolve("vault").resolve(LocalKeyVault.CATALOG);
        byte[] bytes = Files.readAllBytes(db);
        bytes[bytes.length / 2] ^= 1;
        Files.write(db, bytes);
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            KeyVaultException e = assertThrows(KeyVaultException.class, vault::list);
            assertEquals(db + " fails its integrity check: it was altered or damaged outside the vault; restore it"
                    + " from a backup", e.getMessage());
        }
    }

    /** The kept catalog is used only while keys.db is byte for byte the one it came from. */
    @Test
    void aCatalogAlteredWhileTheVaultIsOpenIsStillDetected() throws Exception {
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            vault.createKey("k", KeyType.AES_256, null);
            vault.grant("k", "engine", Permission.all());
            WrappedKey wrapped = vault.wrap("engine", "k", 1, MemorySegment.ofArray(new byte[64]).asReadOnly());
            Path db = tmp.resolve("vault").resolve(LocalKeyVault.CATALOG);
            byte[] bytes = Files.readAllBytes(db);
            bytes[bytes.length / 2] ^= 1;
            Files.write(db, bytes);
            try (Arena arena = Arena.ofConfined()) {
                KeyVaultException e = assertThrows(KeyVaultException.class, () -> vault.unwrap("engine", wrapped, arena));
                assertTrue(e.getMessage().endsWith(" fails its integrity check: it was altered or damaged outside the"
                        + " vault; restore it from a backup"), e.getMessage());
                bytes[bytes.length / 2] ^= 1;
                Files.write(db, bytes);
                assertEquals(64, vault.unwrap("engine", wrapped, arena).byteSize());
            }
            List<String> unwraps = vault.auditLog().read().stream().filter(r -> r.operation().equals("unwrap"))
                    .map(r -> r.result().split(" ")[0].replace(":", "")).toList();
            assertEquals(List.of("failed", "ok"), unwraps, "one record per unwrap");
        }
    }

    /** Format 1 kept each version's material in the clear inside the sealed file; opening upgrades it. */
    @Test
    void aFormatOneCatalogIsUpgradedAndItsKeysStillUnwrap() throws Exception {
        byte[] dek = new byte[64];
        dek[0] = 1;
        WrappedKey platform;
        WrappedKey customer;
        try (LocalKeyVault vault = TestVaults.local(tmp, clock)) {
            vault.createKey("p", KeyType.AES_256, null);
            vault.grant("p", "engine", Permission.all());
            vault.createKey("c", KeyType.RSA_2048, null);
            vault.grant("c", "engine", Permission.all());
            platform = vault.wrap("engine", "p", 1, MemorySegment.ofArray(dek));
            customer = vault.wrap("engine", "c", 1, MemorySegment.ofArray(dek));
            vault.rewriteAsFormatOneForTest();
        }
        Path db = tmp.resolve("vault").resolve(LocalKeyVault.CATALOG);
        byte[] formatOne = Files.readAllBytes(db);
        try (LocalKeyVault vault = TestVaults.local(tmp, clock); Arena arena = Arena.ofConfined()) {
            assertArrayEquals(dek, vault.unwrap("engine", platform, arena).toArray(ValueLayout.JAVA_BYTE));
            assertFalse(Arrays.equals(formatOne, Files.readAllBytes(db)), "rewritten as format 2");
            assertArrayEquals(dek, vault.unwrap("engine", customer, arena).toArray(ValueLayout.JAVA_BYTE));
            assertEquals(List.of("c", "p"), vault.list().stream().map(KeyInfo::name).toList());
        }
    }

    @Test
    void twoOpenersOfOneVaultLoseNoUpdate() throws Exception {
        try (LocalKeyVault a = TestVaults.local(tmp, clock); LocalKeyVault b = TestVaults.local(tmp, clock)) {
            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int i = 0; i < 24; i++) {
                    LocalKeyVault v = i % 2 == 0 ? a : b;
                    String name = "key-" + i;
                    done.add(pool.submit(() -> v.createKey(name, KeyType.AES_256, null)));
                }
                for (Future<?> f : done) {
                    f.get();
                }
            } finally {
                pool.shutdown();
            }
            assertEquals(24, a.list().size());
            assertEquals(24, b.list().size());
        }
    }
}
