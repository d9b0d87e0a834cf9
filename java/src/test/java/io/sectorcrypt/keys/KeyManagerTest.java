package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.hctr2.Hctr2Key;

import io.sectorcrypt.xts.KeyClosedException;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class KeyManagerTest {
    static final int SECTOR = 512;
    static final Duration TTL = Duration.ofMinutes(10);

    @TempDir
    Path tmp;
    final MutableClock clock = MutableClock.atTestEpoch();
    final List<KeyEvent> events = new CopyOnWriteArrayList<>();
    LocalKeyVault vault;
    DirectoryDiskKeyStore store;
    KeyManager manager;

    @BeforeEach
    void setUp() {
        vault = TestVaults.local(tmp, clock);
        vault.createKey("platform", KeyType.AES_256, null);
        vault.grant("platform", "engine", Permission.all());
        vault.createKey("customer", KeyType.RSA_2048, null);
        vault.grant("customer", "set-c", Permission.all());
        store = new DirectoryDiskKeyStore(tmp.resolve("disks"));
        manager = KeyManager.builder().vault(vault).store(store).clock(clock).policy(TestVaults.policy())
                .cacheTtl(TTL).platformKey("test-vault", "platform", "engine").listener(events::add).build();
        manager.putSet(DiskEncryptionSet.platform("set-p", "test-vault", "platform", "engine"));
        manager.putSet(DiskEncryptionSet.customer("set-c", "test-vault", "customer", "set-c"));
    }

    @AfterEach
    void tearDown() {
        manager.close();
        vault.close();
    }

    /** One sector sealed with a key: equal outputs mean equal keys, without reading a key. */
    static byte[] seal(XtsKey key) {
        byte[] plain = new byte[SECTOR];
        for (int i = 0; i < SECTOR; i++) {
            plain[i] = (byte) i;
        }
        byte[] out = new byte[SECTOR];
        SectorCipher.of(key).encrypt(java.nio.ByteBuffer.wrap(plain), java.nio.ByteBuffer.wrap(out), 42, SECTOR);
        return out;
    }

    private <E extends KeyEvent> List<E> events(Class<E> type) {
        return events.stream().filter(type::isInstance).map(type::cast).toList();
    }

    @Test
    void eachDiskGetsItsOwnXts256KeyThatSurvivesReattach() {
        manager.createDisk("d1", "set-p");
        manager.createDisk("d2", "set-p");
        AttachedDisk d1 = manager.attach("d1");
        assertEquals("XTS-AES-256", d1.key().algorithm());
        byte[] sealed = seal(d1.key());
        assertFalse(java.util.Arrays.equals(sealed, seal(manager.attach("d2").key())), "independent DEKs");
        assertSame(d1, manager.attach("d1"));
        manager.detach("d1");
        assertTrue(d1.isStopped());
        assertArrayEquals(sealed, seal(manager.attach("d1").key()));
        assertEquals(WrapAlgorithm.AES_KWP, store.read("d1").orElseThrow().layer(DiskKeys.Role.PLATFORM).current()
                .algorithm());
    }

    @Test
    void customerSetsWrapWithRsaOaep256() {
        manager.createDisk("d", "set-c");
        assertEquals(WrapAlgorithm.RSA_OAEP_256, store.read("d").orElseThrow().layer(DiskKeys.Role.CUSTOMER)
                .current().algorithm());
        assertEquals(64, manager.attach("d").key().size());
    }

    /** One 32-byte message sealed with an HCTR2 key: equal outputs mean equal keys. */
    static byte[] seal(Hctr2Key key) {
        byte[] out = new byte[32];
        Hctr2.of(key).encrypt(new byte[0], new byte[32], 0, out, 0, 32);
        return out;
    }

    @Test
    void doubleEncryptionHasTwoIndependentLayers() {
        manager.putSet(DiskEncryptionSet.doubleEncryption("set-d", "test-vault", "customer", "set-c"));
        manager.createDisk("d", "set-d");
        manager.createDisk("e", "set-d");
        DiskKeys keys = store.read("d").orElseThrow();
        assertEquals(List.of(DiskKeys.Role.CUSTOMER, DiskKeys.Role.INFRASTRUCTURE), keys.layers().stream()
                .map(DiskKeys.Layer::role).toList(), "the XTS layer first, the outer one second");
        assertEquals(WrapAlgorithm.RSA_OAEP_256, keys.layer(DiskKeys.Role.CUSTOMER).current().algorithm());
        WrappedKey outer = keys.layer(DiskKeys.Role.INFRASTRUCTURE).current();
        assertEquals(List.of(WrapAlgorithm.AES_KWP, "platform"), List.of(outer.algorithm(), outer.keyName()),
                "the outer layer is always under the manager's platform key");
        AttachedDisk disk = manager.attach("d");
        assertTrue(disk.hasOuterLayer());
        assertEquals(List.of("XTS-AES-256", "HCTR2-AES-256"), List.of(disk.key().algorithm(),
                disk.outerKey().algorithm()));
        AttachedDisk other = manager.attach("e");
        assertFalse(java.util.Arrays.equals(seal(disk.outerKey()), seal(other.outerKey())), "independent outer DEKs");
        assertFalse(java.util.Arrays.equals(seal(disk.key()), seal(other.key())), "independent inner DEKs");
        byte[] sealed = seal(disk.outerKey());
        manager.detach("d");
        assertThrows(KeyUnavailableException.class, disk::outerKey);
        assertArrayEquals(sealed, seal(manager.attach("d").outerKey()), "the same outer key after re-attaching");
        assertEquals("disk 'x' has one key layer: no outer (HCTR2) key", assertThrows(IllegalStateException.class,
                () -> {
                    manager.createDisk("x", "set-p");
                    manager.attach("x").outerKey();
                }).getMessage());
    }

    @Test
    void aDoubleSetUnderAPlatformKeyWrapsItsInnerLayerAsPlatform() {
        manager.putSet(DiskEncryptionSet.doubleEncryption("set-dp", "test-vault", "platform", "engine"));
        manager.createDisk("d", "set-dp");
        assertEquals(List.of(DiskKeys.Role.PLATFORM, DiskKeys.Role.INFRASTRUCTURE), store.read("d").orElseThrow()
                .layers().stream().map(DiskKeys.Layer::role).toList());
        AttachedDisk disk = manager.attach("d");
        assertEquals(32, disk.outerKey().size());
        vault.newVersion("platform");
        assertEquals(1, manager.rotate("set-dp", 2), "rotating the set's own key re-wraps the inner layer");
        DiskKeys keys = store.read("d").orElseThrow();
        assertEquals(List.of(2, 1), List.of(keys.layer(DiskKeys.Role.PLATFORM).current().keyVersion(),
                keys.layer(DiskKeys.Role.INFRASTRUCTURE).current().keyVersion()),
                "only the inner layer: the outer one follows the platform key at the next maintenance");
        manager.maintain();
        assertEquals(2, store.read("d").orElseThrow().layer(DiskKeys.Role.INFRASTRUCTURE).current().keyVersion());
    }

    @Test
    void aDoubleSetNeedsThePlatformKeyConfigured() {
        try (KeyManager noPlatform = KeyManager.builder().vault(vault).store(store).clock(clock)
                .policy(TestVaults.policy()).build()) {
            assertEquals("encryption set 'set-d' is DOUBLE: configure the key manager's platform key"
                    + " (Builder.platformKey), which wraps its disks' outer layer", assertThrows(
                            IllegalArgumentException.class, () -> noPlatform.putSet(DiskEncryptionSet.doubleEncryption(
                                    "set-d", "test-vault", "customer", "set-c"))).getMessage());
        }
    }

    @ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"set-p", "set-c"})
    void anImportedKeyIsWrappedAsANewOneAndUnwrapsToTheSameKey(String setId) {
        byte[] key = new byte[64];
        new java.util.Random(setId.hashCode()).nextBytes(key);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment dek = arena.allocate(64);
            dek.copyFrom(java.lang.foreign.MemorySegment.ofArray(key));
            manager.importDisk("d", setId, dek);
            assertEquals("disk 'd' already has keys; delete it first", assertThrows(IllegalArgumentException.class,
                    () -> manager.importDisk("d", setId, dek)).getMessage());
        }
        DiskKeys stored = store.read("d").orElseThrow();
        assertEquals(1, stored.layers().size());
        assertEquals(setId.equals("set-p") ? WrapAlgorithm.AES_KWP : WrapAlgorithm.RSA_OAEP_256,
                stored.layers().get(0).current().algorithm());
        try (XtsKey expected = XtsKey.of(key)) {
            assertArrayEquals(seal(expected), seal(manager.attach("d").key()));
        }
    }

    @Test
    void importRefusesADoubleSetAndKeysThatAreNotXts256() {
        manager.putSet(DiskEncryptionSet.doubleEncryption("set-d", "test-vault", "customer", "set-c"));
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            java.lang.foreign.MemorySegment dek = arena.allocate(64);
            dek.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) 1);
            assertEquals("encryption set 'set-d' is DOUBLE: its disks' data is encrypted under two keys, so a disk"
                    + " encrypted under one existing key cannot join it without re-encrypting its data; use a PLATFORM"
                    + " or CUSTOMER set", assertThrows(IllegalArgumentException.class,
                            () -> manager.importDisk("d", "set-d", dek)).getMessage());
            assertEquals("a DEK is 64 bytes (XTS-AES-256), not 32", assertThrows(IllegalArgumentException.class,
                    () -> manager.importDisk("d", "set-p", dek.asSlice(0, 32))).getMessage());
            dek.fill((byte) 7);
            assertEquals("refusing a DEK whose two halves are equal (key1 = key2 is forbidden by IEEE 1619-2018 5.1 and"
                    + " FIPS 140-3 IG C.I)", assertThrows(IllegalArgumentException.class,
                            () -> manager.importDisk("d", "set-p", dek)).getMessage());
        }
        assertTrue(store.read("d").isEmpty(), "nothing stored");
    }

    @Test
    void setKeyMustFitItsEncryptionType() {
        assertEquals("encryption set 'x' is CUSTOMER: key 'platform' must be an RSA customer key (customer keys are RSA"
                + " 2048, 3072 or 4096 bits), but it is AES-256", assertThrows(IllegalArgumentException.class,
                        () -> manager.putSet(DiskEncryptionSet.customer("x", "test-vault", "platform", "engine")))
                        .getMessage());
        assertEquals("encryption set 'y' is PLATFORM: key 'customer' must be an AES-256 platform key, but it is RSA-2048",
                assertThrows(IllegalArgumentException.class, () -> manager.putSet(DiskEncryptionSet.platform("y",
                        "test-vault", "customer", "set-c"))).getMessage());
        assertEquals("no vault with id 'other' is configured; known: [test-vault]",
                assertThrows(IllegalArgumentException.class, () -> manager.putSet(DiskEncryptionSet.platform("z",
                        "other", "platform", "engine"))).getMessage());
        assertEquals("encryption set 'nope' is not registered (putSet first)",
                assertThrows(IllegalArgumentException.class, () -> manager.createDisk("d", "nope")).getMessage());
    }

    enum Revocation {
        DISABLE(v -> v.setEnabled("customer", 1, false), v -> v.setEnabled("customer", 1, true),
                "key 'customer' version 1 in vault 'test-vault' is disabled"),
        DELETE(v -> v.delete("customer"), v -> v.recover("customer"), "key 'customer' in vault 'test-vault' is deleted"),
        REVOKE_ACCESS(v -> v.revoke("customer", "set-c"), v -> v.grant("customer", "set-c", Permission.all()),
                "identity 'set-c' may not unwrapKey with key 'customer' in vault 'test-vault'"),
        EXPIRE(v -> v.setExpiry("customer", 1, java.time.Instant.parse("2026-01-01T00:05:00Z")),
                v -> v.setExpiry("customer", 1, null),
                "key 'customer' version 1 in vault 'test-vault' expired at 2026-01-01T00:05:00Z");

        final Consumer<LocalKeyVault> revoke;
        final Consumer<LocalKeyVault> restore;
        final String reason;

        Revocation(Consumer<LocalKeyVault> revoke, Consumer<LocalKeyVault> restore, String reason) {
            this.revoke = revoke;
            this.restore = restore;
            this.reason = reason;
        }
    }

    @ParameterizedTest
    @EnumSource(Revocation.class)
    void revokedKeyWorksUntilTheTtlThenStopsTheDiskUntilRestored(Revocation how) {
        manager.createDisk("d", "set-c");
        AttachedDisk disk = manager.attach("d");
        XtsKey key = disk.key();
        byte[] sealed = seal(key);

        how.revoke.accept(vault);
        clock.advance(TTL.minusSeconds(1));
        assertArrayEquals(sealed, seal(disk.key()), "the cache keeps the disk working until the TTL ends");
        assertFalse(disk.isStopped());

        clock.advance(Duration.ofSeconds(1));
        KeyUnavailableException e = assertThrows(KeyUnavailableException.class, disk::key);
        assertEquals("disk 'd' of encryption set 'set-c' is stopped: key 'customer' in vault 'test-vault' is"
                + " unavailable (" + how.reason + ")", e.getMessage());
        assertEquals("set-c", e.setId());
        assertEquals("customer", e.keyName());
        assertTrue(disk.isStopped());
        assertThrows(KeyClosedException.class, () -> seal(key), "the cached key was zeroed");
        assertThrows(KeyUnavailableException.class, disk::key, "every later use fails too");
        List<KeyEvent.DiskStopped> stopped = events(KeyEvent.DiskStopped.class);
        assertEquals(1, stopped.size());
        assertEquals("d", stopped.get(0).diskId());
        assertEquals(e.getMessage(), stopped.get(0).reason());
        assertThrows(KeyUnavailableException.class, () -> manager.attach("d"), "attach fails while revoked");

        how.restore.accept(vault);
        AttachedDisk back = manager.attach("d");
        assertNotSame(disk, back);
        assertArrayEquals(sealed, seal(back.key()));
        assertEquals(List.of("d"), events(KeyEvent.DiskResumed.class).stream().map(KeyEvent.DiskResumed::diskId)
                .toList());
    }

    @Test
    void maintenanceStopsRevokedDisksWithoutWaitingForIo() {
        manager.createDisk("d", "set-c");
        AttachedDisk disk = manager.attach("d");
        vault.setEnabled("customer", 1, false);
        clock.advance(TTL);
        manager.maintain();
        assertTrue(disk.isStopped());
        assertEquals(1, events(KeyEvent.DiskStopped.class).size());
    }

    @Test
    void aStillValidKeyIsRefreshedSilentlyAtTheTtl() {
        manager.createDisk("d", "set-c");
        AttachedDisk disk = manager.attach("d");
        XtsKey key = disk.key();
        clock.advance(TTL.multipliedBy(3));
        assertSame(key, disk.key(), "same key object: I/O holding it is not disturbed");
        assertEquals(clock.instant().plus(TTL), disk.validUntil());
        assertEquals(List.of(), events);
    }

    @Test
    void latestFollowingSetRewrapsEveryDiskOnANewVersionAndKeepsTheData() {
        manager.createDisk("d1", "set-c");
        manager.createDisk("d2", "set-c");
        byte[] sealed1 = seal(manager.attach("d1").key());
        assertEquals(2, vault.newVersion("customer").version());
        clock.advance(KeyManager.DEFAULT_ROTATION_WINDOW.dividedBy(4));
        manager.maintain();
        for (String d : List.of("d1", "d2")) {
            DiskKeys.Layer layer = store.read(d).orElseThrow().layer(DiskKeys.Role.CUSTOMER);
            assertEquals(1, layer.copies().size(), "the old copy is dropped once the new one is stored");
            assertEquals(2, layer.current().keyVersion());
        }
        KeyEvent.RotationDone done = events(KeyEvent.RotationDone.class).get(0);
        assertEquals(List.of("set-c", "customer", 2, 2), List.of(done.setId(), done.keyName(), done.toVersion(),
                done.disks()));
        // Version 1 can now go: the disk no longer needs it, even after the cache time.
        vault.setEnabled("customer", 1, false);
        clock.advance(TTL);
        assertArrayEquals(sealed1, seal(manager.attach("d1").key()));
        manager.detach("d1");
        assertArrayEquals(sealed1, seal(manager.attach("d1").key()));
        manager.maintain();
        assertEquals(1, events(KeyEvent.RotationDone.class).size(), "nothing more to do");
        List<String> rotations = vault.auditLog().read().stream().filter(r -> r.operation().startsWith("rotate"))
                .map(r -> r.operation() + " " + r.version() + " " + r.result()).toList();
        assertEquals(List.of("rotate disk d1 customer/1->2 ok", "rotate disk d2 customer/1->2 ok"), rotations);
    }

    /** A rotation that failed other than in the vault (here: storing the new copy) wrote no record. */
    @Test
    void aRotationThatFailsToStoreWritesOneRecord() {
        manager.createDisk("d", "set-c");
        vault.newVersion("customer");
        AtomicBoolean full = new AtomicBoolean();
        DiskKeyStore failing = new DiskKeyStore() {
            @Override
            public java.util.Optional<DiskKeys> read(String diskId) {
                return store.read(diskId);
            }

            @Override
            public void write(DiskKeys keys) {
                if (full.get()) {
                    throw new java.io.UncheckedIOException(new java.io.IOException("scripted: the disk is full"));
                }
                store.write(keys);
            }

            @Override
            public void delete(String diskId) {
                store.delete(diskId);
            }

            @Override
            public List<String> diskIds() {
                return store.diskIds();
            }
        };
        try (KeyManager m = KeyManager.builder().vault(vault).store(failing).clock(clock).policy(TestVaults.policy())
                .cacheTtl(TTL).platformKey("test-vault", "platform", "engine").build()) {
            m.putSet(DiskEncryptionSet.customer("set-c", "test-vault", "customer", "set-c"));
            full.set(true);
            assertThrows(java.io.UncheckedIOException.class, () -> m.rotate("set-c", 2));
            full.set(false);
            assertEquals(1, m.rotate("set-c", 2));
        }
        List<String> rotations = vault.auditLog().read().stream().filter(r -> r.operation().startsWith("rotate"))
                .map(r -> r.operation() + " " + r.version() + " " + r.result()).toList();
        assertEquals(List.of("rotate disk d customer/1->2 failed", "rotate disk d customer/1->2 ok"), rotations);
    }

    @Test
    void manualRotationPinsANamedVersion() {
        manager.createDisk("d", "set-c");
        byte[] sealed = seal(manager.attach("d").key());
        vault.newVersion("customer");
        vault.newVersion("customer");
        assertEquals(1, manager.rotate("set-c", 2));
        assertEquals(2, store.read("d").orElseThrow().layer(DiskKeys.Role.CUSTOMER).current().keyVersion());
        manager.maintain();
        assertEquals(2, store.read("d").orElseThrow().layer(DiskKeys.Role.CUSTOMER).current().keyVersion(),
                "a pinned set does not follow version 3");
        assertEquals(2, manager.set("set-c").orElseThrow().pinnedVersion());
        manager.detach("d");
        assertArrayEquals(sealed, seal(manager.attach("d").key()));
        assertEquals("encryption set 'set-c' pins version 9 of key 'customer', which does not exist",
                assertThrows(IllegalArgumentException.class, () -> manager.rotate("set-c", 9)).getMessage());
    }

    @Test
    void assigningANewKeyRewrapsFromTheCacheSoTheOldKeyCanGo() {
        vault.createKey("customer-2", KeyType.RSA_2048, null);
        vault.grant("customer-2", "set-c", Permission.all());
        manager.createDisk("d", "set-c");
        AttachedDisk disk = manager.attach("d");
        byte[] sealed = seal(disk.key());
        manager.putSet(DiskEncryptionSet.customer("set-c", "test-vault", "customer-2", "set-c"));
        vault.setEnabled("customer", 1, false); // the old key is gone, but the DEK is still cached
        manager.maintain();
        assertEquals("customer-2", store.read("d").orElseThrow().layer(DiskKeys.Role.CUSTOMER).current().keyName());
        clock.advance(TTL);
        assertArrayEquals(sealed, seal(disk.key()), "the disk carries on under the new key");
    }

    /** The DEK's one home is its XtsKey: a key closed under the cache still rotates, from the vault's copy. */
    @Test
    void aClosedCachedKeyFallsBackToTheStoredCopyOnRewrap() {
        manager.createDisk("d", "set-c");
        AttachedDisk disk = manager.attach("d");
        byte[] sealed = seal(disk.key());
        disk.key().close(); // as if the disk stopped between handing out its key and the re-wrap
        vault.newVersion("customer");
        assertEquals(1, manager.rotate("set-c", 2));
        assertEquals(2, store.read("d").orElseThrow().layer(DiskKeys.Role.CUSTOMER).current().keyVersion());
        List<String> ops = vault.auditLog().read().stream().map(r -> r.operation() + " " + r.version()).toList();
        assertEquals(List.of("new-version 2", "unwrap 1", "wrap 2", "rotate disk d customer/1->2"),
                ops.subList(ops.size() - 4, ops.size()), "the fallback unwraps the stored copy");
        manager.detach("d");
        assertArrayEquals(sealed, seal(manager.attach("d").key()));
    }

    @Test
    void rewrapDiskMovesOnlyThatDiskToWhatItsSetTargets() {
        manager.createDisk("d1", "set-c");
        manager.createDisk("d2", "set-c");
        byte[] sealed = seal(manager.attach("d1").key());
        vault.newVersion("customer");
        assertTrue(manager.rewrapDisk("d1"));
        DiskKeys.Layer layer = store.read("d1").orElseThrow().layer(DiskKeys.Role.CUSTOMER);
        assertEquals(List.of(2), layer.copies().stream().map(WrappedKey::keyVersion).toList());
        assertEquals(1, store.read("d2").orElseThrow().layer(DiskKeys.Role.CUSTOMER).current().keyVersion(),
                "the other disk of the set is left for maintenance");
        assertFalse(manager.rewrapDisk("d1"), "already on the target");
        KeyEvent.RotationDone done = events(KeyEvent.RotationDone.class).get(0);
        assertEquals(List.of("set-c", 2, 1), List.of(done.setId(), done.toVersion(), done.disks()));
        vault.setEnabled("customer", 1, false);
        manager.detach("d1");
        assertArrayEquals(sealed, seal(manager.attach("d1").key()));
    }

    @Test
    void rewrapDiskRewrapsBothLayersOfADoubleDisk() {
        vault.grant("customer", "set-d", Permission.all());
        manager.putSet(DiskEncryptionSet.doubleEncryption("set-d", "test-vault", "customer", "set-d"));
        manager.createDisk("d", "set-d");
        AttachedDisk disk = manager.attach("d");
        byte[] inner = seal(disk.key());
        byte[] outer = seal(disk.outerKey());
        vault.newVersion("customer");
        vault.newVersion("platform");
        assertTrue(manager.rewrapDisk("d"));
        DiskKeys keys = store.read("d").orElseThrow();
        for (DiskKeys.Role role : List.of(DiskKeys.Role.CUSTOMER, DiskKeys.Role.INFRASTRUCTURE)) {
            assertEquals(List.of(2), keys.layer(role).copies().stream().map(WrappedKey::keyVersion).toList(),
                    role + " layer");
        }
        manager.detach("d");
        disk = manager.attach("d");
        assertArrayEquals(inner, seal(disk.key()));
        assertArrayEquals(outer, seal(disk.outerKey()));
    }

    @Test
    void rewrapDiskRefusesWithAReason() {
        assertEquals("disk 'nope' has no keys in the store",
                assertThrows(IllegalArgumentException.class, () -> manager.rewrapDisk("nope")).getMessage());
        manager.createDisk("d", "set-c");
        try (KeyManager fresh = KeyManager.builder().vault(vault).store(store).clock(clock)
                .policy(TestVaults.policy()).build()) {
            assertEquals("encryption set 'set-c' is not registered (putSet first)",
                    assertThrows(IllegalArgumentException.class, () -> fresh.rewrapDisk("d")).getMessage());
        }
        vault.newVersion("customer");
        vault.revoke("customer", "set-c");
        KeyUnavailableException e = assertThrows(KeyUnavailableException.class, () -> manager.rewrapDisk("d"));
        assertEquals(List.of("d", "set-c", "customer"), List.of(e.diskId(), e.setId(), e.keyName()));
        assertTrue(e.getMessage().contains("identity 'set-c' may not get with key 'customer'"), e.getMessage());
        assertEquals(1, store.read("d").orElseThrow().layer(DiskKeys.Role.CUSTOMER).current().keyVersion());
    }

    @Test
    void nearExpiryIsAnnouncedOncePerVersion() {
        manager.createDisk("d", "set-c");
        vault.setExpiry("customer", 1, clock.instant().plus(Duration.ofDays(40)));
        manager.maintain();
        assertEquals(List.of(), events(KeyEvent.KeyNearExpiry.class));
        clock.advance(Duration.ofDays(10));
        manager.maintain();
        manager.maintain();
        List<KeyEvent.KeyNearExpiry> near = events(KeyEvent.KeyNearExpiry.class);
        assertEquals(1, near.size());
        assertEquals("customer", near.get(0).keyName());
        assertEquals(1, near.get(0).version());
    }

    @Test
    void rotationDuringConcurrentUnwrapsLosesNoDisk() throws Exception {
        int disks = 6;
        for (int i = 0; i < disks; i++) {
            manager.createDisk("d" + i, "set-p");
        }
        List<byte[]> expected = new ArrayList<>();
        for (int i = 0; i < disks; i++) {
            expected.add(seal(manager.attach("d" + i).key()));
            manager.detach("d" + i);
        }
        ExecutorService pool = Executors.newFixedThreadPool(3);
        AtomicBoolean rotating = new AtomicBoolean(true);
        CountDownLatch started = new CountDownLatch(2);
        try {
            List<Future<Integer>> readers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                int offset = t;
                readers.add(pool.submit(() -> {
                    started.countDown();
                    int checks = 0;
                    while (rotating.get() || checks < disks / 2) {
                        int i = (offset + 2 * checks) % disks; // each reader owns its disks: even or odd
                        AttachedDisk disk = manager.attach("d" + i);
                        assertArrayEquals(expected.get(i), seal(disk.key()));
                        if (checks % 3 == 0) {
                            manager.detach("d" + i);
                        }
                        checks++;
                    }
                    return checks;
                }));
            }
            started.await();
            for (int v = 2; v <= 4; v++) {
                vault.newVersion("platform");
                manager.maintain();
                clock.advance(TTL);
            }
            rotating.set(false);
            for (Future<Integer> r : readers) {
                assertTrue(r.get() >= disks);
            }
        } finally {
            pool.shutdown();
        }
        for (int i = 0; i < disks; i++) {
            assertEquals(4, store.read("d" + i).orElseThrow().layer(DiskKeys.Role.PLATFORM).current().keyVersion());
            manager.detach("d" + i);
            assertArrayEquals(expected.get(i), seal(manager.attach("d" + i).key()));
        }
    }

    @Test
    void dekWithEqualHalvesIsRefused() {
        byte[] equal = new byte[64];
        java.util.Arrays.fill(equal, (byte) 5);
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            assertEquals("refusing a DEK whose two halves are equal (key1 = key2 is forbidden by IEEE 1619-2018 5.1 and"
                    + " FIPS 140-3 IG C.I); the DRBG is broken", assertThrows(IllegalStateException.class,
                            () -> KeyManager.checkedDek(equal, arena)).getMessage());
        }
    }

    @Test
    void builderRefusesBadSettings() {
        assertEquals("the cache TTL must be positive, not PT0S", assertThrows(IllegalArgumentException.class,
                () -> KeyManager.builder().cacheTtl(Duration.ZERO)).getMessage());
        assertEquals("a key manager needs at least one vault", assertThrows(IllegalStateException.class,
                () -> KeyManager.builder().store(store).build()).getMessage());
        assertEquals("disk 'd' already has keys; delete it first", assertThrows(IllegalArgumentException.class, () -> {
            manager.createDisk("d", "set-p");
            manager.createDisk("d", "set-p");
        }).getMessage());
        assertEquals("disk 'ghost' has no keys in the store", assertThrows(IllegalArgumentException.class,
                () -> manager.attach("ghost")).getMessage());
        assertEquals(Set.of(), Set.copyOf(events));
    }
}
