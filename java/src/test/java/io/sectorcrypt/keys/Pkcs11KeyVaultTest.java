package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Against a real PKCS#11 token: SoftHSM2 in CI, set up by ci/setup-softhsm.sh, which prints
 * the environment this test reads. Without it every test is skipped, saying so; under CI=true
 * the missing token is a failure.
 */
class Pkcs11KeyVaultTest {
    @TempDir
    Path tmp;
    final MutableClock clock = MutableClock.atTestEpoch();
    String vaultId;
    Pkcs11KeyVault vault;

    private Optional<Pkcs11KeyVault.Config> config() {
        return Pkcs11KeyVault.Config.fromEnvironment(vaultId);
    }

    /** One audit key for the whole test: a reopened vault continues the same MAC chain. */
    private final byte[] auditKey = newAuditKey();

    private static byte[] newAuditKey() {
        byte[] key = new byte[32];
        TestVaults.policy().randomBytes(key);
        return key;
    }

    private Pkcs11KeyVault open() {
        return Pkcs11KeyVault.open(config().orElseThrow(), TestVaults.policy(), clock,
                AuditLog.open(tmp.resolve("audit.log"), auditKey, TestVaults.policy(), clock), "admin");
    }

    @BeforeEach
    void setUp() {
        byte[] suffix = new byte[6];
        TestVaults.policy().randomBytes(suffix);
        vaultId = "hsm-test-" + HexFormat.of().formatHex(suffix);
        // In CI the token must be there: a silent skip would hide a broken set-up.
        if ("true".equals(System.getenv("CI"))) {
            assertTrue(config().isPresent(), "CI=true but no PKCS#11 token is configured: ci/test must run"
                    + " eval \"$(bash ci/setup-softhsm.sh)\" before Maven");
        }
        assumeTrue(config().isPresent(), "no PKCS#11 token configured: set " + Pkcs11KeyVault.ENV_MODULE + ", "
                + Pkcs11KeyVault.ENV_TOKEN + " and " + Pkcs11KeyVault.ENV_PIN + " (eval \"$(bash ci/setup-softhsm.sh)\")");
        vault = open();
    }

    @AfterEach
    void purgeWhatThisTestMade() {
        if (vault != null) {
            for (KeyInfo k : vault.list()) {
                if (!k.isDeleted()) {
                    vault.delete(k.name());
                }
                vault.purge(k.name());
            }
            vault.destroyCatalog();
            vault.close();
        }
    }

    private static MemorySegment dek(Arena arena) {
        MemorySegment s = arena.allocate(64);
        for (int i = 0; i < 64; i++) {
            s.set(ValueLayout.JAVA_BYTE, i, (byte) (3 * i + 1));
        }
        return s;
    }

    @Test
    void rsaWrapsInsideTheTokenAndRecordsTheOaepHash() {
        vault.createKey("cust", KeyType.RSA_2048, null);
        vault.grant("cust", "set", Permission.all());
        try (Arena arena = Arena.ofConfined()) {
            WrappedKey w = vault.wrap("set", "cust", 1, dek(arena));
            WrapAlgorithm expected = vault.wrapAlgorithm(KeyType.RSA_2048);
            assertEquals(expected, w.algorithm());
            assertTrue(expected == WrapAlgorithm.RSA_OAEP || expected == WrapAlgorithm.RSA_OAEP_256);
            assertEquals(256, w.wrapped().length);
            MemorySegment back = vault.unwrap("set", WrappedKey.decode(w.encode()), arena);
            assertArrayEquals(dek(arena).toArray(ValueLayout.JAVA_BYTE), back.toArray(ValueLayout.JAVA_BYTE));
            byte[] damaged = w.wrapped();
            damaged[7] ^= 1;
            KeyVaultException e = assertThrows(KeyVaultException.class, () -> vault.unwrap("set", new WrappedKey(
                    w.algorithm(), vaultId, "cust", 1, damaged), arena));
            assertEquals(KeyVaultException.Reason.UNWRAP_FAILED, e.reason());
        }
        assertEquals(Map.of("sensitive", true, "extractable", false), vault.privateKeyFlags("cust", 1),
                "the private key cannot leave the token");
    }

    @Test
    void aesKeysWrapWithKwpInsideTheToken() {
        vault.createKey("plat", KeyType.AES_256, null);
        vault.grant("plat", "engine", Permission.all());
        try (Arena arena = Arena.ofConfined()) {
            WrappedKey w = vault.wrap("engine", "plat", 1, dek(arena));
            assertEquals(WrapAlgorithm.AES_KWP, w.algorithm());
            assertEquals(72, w.wrapped().length, "RFC 5649: 64 bytes plus the 8-byte integrity block");
            assertArrayEquals(dek(arena).toArray(ValueLayout.JAVA_BYTE),
                    vault.unwrap("engine", w, arena).toArray(ValueLayout.JAVA_BYTE));
            vault.setEnabled("plat", 1, false);
            assertEquals("key 'plat' version 1 in vault '" + vaultId + "' is disabled",
                    assertThrows(KeyVaultException.class, () -> vault.unwrap("engine", w, arena)).getMessage());
        }
        assertEquals(Map.of("sensitive", true, "extractable", false), vault.privateKeyFlags("plat", 1));
    }

    /**
     * The vault never returns bytes other than those wrapped. On SoftHSM 2.6.1 the one-byte
     * key 37 used to wrap and unwrap as 3700000000000000, with no error: every length is now
     * either refused at wrap time, saying why, or given back exactly. Keys of a multiple of 8
     * bytes (a DEK is 64) are never refused.
     */
    @Test
    void everyKeyLengthIsRefusedAtWrapTimeOrGivenBackExactly() {
        vault.createKey("plat", KeyType.AES_256, null);
        vault.grant("plat", "engine", Permission.all());
        boolean faithful = vault.kwpKeepsAnyLength();
        for (int length = 1; length <= 72; length++) {
            try (Arena arena = Arena.ofConfined()) {
                MemorySegment key = arena.allocate(length);
                for (int i = 0; i < length; i++) {
                    key.set(ValueLayout.JAVA_BYTE, i, (byte) (0x37 + i));
                }
                WrappedKey w;
                try {
                    w = vault.wrap("engine", "plat", 1, key);
                } catch (KeyVaultException refused) {
                    assertTrue(length % 8 != 0 && !faithful, length + " bytes refused: " + refused.getMessage());
                    assertEquals(KeyVaultException.Reason.INVALID_REQUEST, refused.reason());
                    assertEquals("token '" + System.getenv(Pkcs11KeyVault.ENV_TOKEN) + "' of vault '" + vaultId
                            + "' cannot wrap a key of " + length + " bytes faithfully: its AES key wrap with padding"
                            + " gives keys whose length is not a multiple of 8 back zero-padded (SoftHSM 2.6 does,"
                            + " unlike RFC 5649); wrap keys of a multiple of 8 bytes with it", refused.getMessage());
                    continue;
                }
                assertEquals(HexFormat.of().formatHex(key.toArray(ValueLayout.JAVA_BYTE)), HexFormat.of().formatHex(
                        vault.unwrap("engine", w, arena).toArray(ValueLayout.JAVA_BYTE)), length + " bytes");
            }
        }
        try (Arena arena = Arena.ofConfined()) {
            assertEquals("AES-KWP (RFC 5649) wraps a key of 1 to 4294967295 bytes, not 0 bytes", assertThrows(
                    IllegalArgumentException.class, () -> vault.wrap("engine", "plat", 1, arena.allocate(0)))
                    .getMessage());
        }
    }

    /** RSA-OAEP's bounds (RFC 8017 7.1) are checked before the token is asked, with the library's message. */
    @Test
    void rsaOaepBoundsAreCheckedBeforeTheToken() {
        vault.createKey("cust", KeyType.RSA_2048, null);
        vault.grant("cust", "set", Permission.all());
        WrapAlgorithm algorithm = vault.wrapAlgorithm(KeyType.RSA_2048);
        int max = algorithm == WrapAlgorithm.RSA_OAEP_256 ? 190 : 214;
        try (Arena arena = Arena.ofConfined()) {
            assertEquals(algorithm.label() + " (RFC 8017 7.1) under a 2048-bit RSA key wraps a key of 1 to " + max
                    + " bytes, not " + (max + 1) + " bytes", assertThrows(IllegalArgumentException.class,
                            () -> vault.wrap("set", "cust", 1, arena.allocate(max + 1))).getMessage());
            MemorySegment longest = arena.allocate(max).fill((byte) 0x42);
            WrappedKey w = vault.wrap("set", "cust", 1, longest);
            assertEquals(max, vault.unwrap("set", w, arena).byteSize());
            KeyVaultException cut = assertThrows(KeyVaultException.class, () -> vault.unwrap("set", new WrappedKey(
                    w.algorithm(), vaultId, "cust", 1, java.util.Arrays.copyOf(w.wrapped(), 255)), arena));
            assertEquals("the wrapped key does not unwrap with key 'cust' version 1 in vault '" + vaultId + "': "
                    + algorithm.label() + " (RFC 8017 7.1) output under a 2048-bit RSA key is 256 bytes (the modulus"
                    + " length), not 255 bytes", cut.getMessage());
        }
    }

    @Test
    void catalogPersistsInTheTokenAndPurgeDestroysTheObjects() {
        vault.createKey("plat", KeyType.AES_256, clock.instant().plus(Duration.ofDays(9)));
        vault.newVersion("plat");
        vault.grant("plat", "engine", Permission.all());
        byte[] v1 = vault.objectId("plat", 1);
        vault.close();
        vault = open();
        KeyInfo info = vault.show("plat");
        assertEquals(2, info.versions().size());
        assertEquals(clock.instant().plus(Duration.ofDays(9)), info.versions().get(0).expires());
        assertEquals(1, vault.objectCount(v1));
        vault.delete("plat");
        vault.purge("plat");
        assertEquals(0, vault.objectCount(v1));
        assertEquals(List.of(), vault.list());
    }

    @Test
    void keyManagerRunsDoubleEncryptionOnTheToken() {
        vault.createKey("cust", KeyType.RSA_2048, null);
        vault.grant("cust", "set", Permission.all());
        vault.createKey("plat", KeyType.AES_256, null);
        vault.grant("plat", "engine", Permission.all());
        try (KeyManager m = KeyManager.builder().vault(vault).store(new DirectoryDiskKeyStore(tmp.resolve("disks")))
                .clock(clock).policy(TestVaults.policy()).platformKey(vaultId, "plat", "engine").build()) {
            m.putSet(DiskEncryptionSet.doubleEncryption("set", vaultId, "cust", "set"));
            m.createDisk("d", "set");
            AttachedDisk disk = m.attach("d");
            byte[] sealed = KeyManagerTest.seal(disk.key());
            vault.newVersion("cust");
            m.maintain();
            vault.setEnabled("cust", 1, false);
            clock.advance(KeyManager.DEFAULT_CACHE_TTL);
            assertArrayEquals(sealed, KeyManagerTest.seal(disk.key()),
                    "re-wrapped under version 2 in the token, so disabling version 1 does not stop the disk");
            vault.revoke("cust", "set");
            clock.advance(KeyManager.DEFAULT_CACHE_TTL);
            assertThrows(KeyUnavailableException.class, () -> disk.key());
        }
        assertTrue(vault.auditLog().verify().intact());
    }
}
