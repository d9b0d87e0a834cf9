package io.sectorcrypt.keys;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.sectorcrypt.hctr2.Hctr2Key;
import io.sectorcrypt.xts.KeyClosedException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Review of DOUBLE sets in the key manager: attempts to break the key lifecycle. */
class DoubleKeyManagerReviewTest {
    static final Duration TTL = Duration.ofMinutes(10);

    @TempDir
    Path tmp;
    final MutableClock clock = MutableClock.atTestEpoch();
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
                .cacheTtl(TTL).platformKey("test-vault", "platform", "engine").build();
        manager.putSet(DiskEncryptionSet.platform("set-p", "test-vault", "platform", "engine"));
        manager.putSet(DiskEncryptionSet.doubleEncryption("dbl", "test-vault", "customer", "set-c"));
    }

    @AfterEach
    void tearDown() {
        manager.close();
        vault.close();
    }

    /**
     * Replacing a DOUBLE set with one whose own key is of the other type (customer RSA ->
     * platform AES) is accepted by putSet, but its disks' XTS layer stays under the old role.
     * From then on: the attached disk's next revalidation hits a NullPointerException
     * (sources(set).get(CUSTOMER) is null) instead of stopping the disk with
     * KeyUnavailableException, and maintain() throws out of the loop, so no other set is
     * maintained any more.
     */
    @Test
    void replacingADoubleSetsKeyWithOneOfTheOtherTypeIsRefusedOrHandled() {
        manager.createDisk("d", "dbl");
        AttachedDisk disk = manager.attach("d");
        disk.key();
        IllegalArgumentException refused = null;
        try {
            manager.putSet(DiskEncryptionSet.doubleEncryption("dbl", "test-vault", "platform", "engine"));
        } catch (IllegalArgumentException e) {
            refused = e; // refusing is a fine outcome
        }
        if (refused != null) {
            return;
        }
        clock.advance(TTL.plusSeconds(1));
        RuntimeException e = assertThrows(RuntimeException.class, disk::key);
        assertEquals(KeyUnavailableException.class, e.getClass(), "a disk whose set no longer fits stops cleanly: " + e);
        assertDoesNotThrow(manager::maintain, "maintenance goes on for the other sets");
    }

    /**
     * The same replacement with no disk attached: the next maintenance run throws (DiskKeys.layer
     * finds no PLATFORM layer on the disk) out of maintain(), so the sets after it are never
     * maintained: here the PLATFORM set's disk is never moved to the platform key's new version.
     */
    @Test
    void aDoubleSetReplacedWithAKeyOfTheOtherTypeDoesNotStopMaintenanceOfOtherSets() {
        manager.createDisk("d", "dbl");
        manager.createDisk("p", "set-p");
        try {
            manager.putSet(DiskEncryptionSet.doubleEncryption("dbl", "test-vault", "platform", "engine"));
        } catch (IllegalArgumentException refused) {
            return; // refusing the replacement is a fine outcome
        }
        vault.newVersion("platform");
        assertDoesNotThrow(manager::maintain);
        assertEquals(2, store.read("p").orElseThrow().layer(DiskKeys.Role.PLATFORM).current().keyVersion());
    }

    /** The same hole before DOUBLE: a single-layer set replaced by one of the other type (PLATFORM -> CUSTOMER). */
    @Test
    void aPlatformSetReplacedWithACustomerSetIsRefusedOrHandled() {
        manager.createDisk("p", "set-p");
        AttachedDisk disk = manager.attach("p");
        try {
            manager.putSet(DiskEncryptionSet.customer("set-p", "test-vault", "customer", "set-c"));
        } catch (IllegalArgumentException refused) {
            return;
        }
        clock.advance(TTL.plusSeconds(1));
        RuntimeException e = assertThrows(RuntimeException.class, disk::key);
        assertEquals(KeyUnavailableException.class, e.getClass(), "a disk whose set no longer fits stops cleanly: " + e);
        assertDoesNotThrow(manager::maintain);
    }

    /** The outer HCTR2 key handed out is zeroed (closed) on detach, and on a revocation of the platform key. */
    @Test
    void theOuterKeyIsClosedOnDetachAndOnPlatformKeyRevocation() {
        manager.createDisk("d", "dbl");
        Hctr2Key outer = manager.attach("d").outerKey();
        manager.detach("d");
        assertThrows(KeyClosedException.class, () -> outer.withKeyBytes(k -> k.byteSize()));
        AttachedDisk disk = manager.attach("d");
        Hctr2Key outer2 = disk.outerKey();
        vault.revoke("platform", "engine");
        clock.advance(TTL.plusSeconds(1));
        assertThrows(KeyUnavailableException.class, disk::key);
        assertThrows(KeyClosedException.class, () -> outer2.withKeyBytes(k -> k.byteSize()));
    }

    /** A new platform key version: maintain re-wraps the outer layer of DOUBLE disks, leaves the inner one. */
    @Test
    void aNewPlatformKeyVersionRewrapsOnlyTheOuterLayer() {
        manager.createDisk("d", "dbl");
        DiskKeys before = store.read("d").orElseThrow();
        vault.newVersion("platform");
        manager.maintain();
        DiskKeys after = store.read("d").orElseThrow();
        assertEquals(before.layer(DiskKeys.Role.CUSTOMER), after.layer(DiskKeys.Role.CUSTOMER));
        assertEquals(2, after.layer(DiskKeys.Role.INFRASTRUCTURE).current().keyVersion());
        assertEquals(List.of(DiskKeys.Role.CUSTOMER, DiskKeys.Role.INFRASTRUCTURE),
                after.layers().stream().map(DiskKeys.Layer::role).toList());
    }

    /**
     * A DOUBLE disk made before the outer HCTR2 layer (format 1 records: layers CUSTOMER then
     * PLATFORM, both XTS keys; KeyManager.createDisk made them for DOUBLE sets) no longer
     * decodes: DiskKeys now insists the second layer is INFRASTRUCTURE, with the same format
     * byte. Its record makes store.read throw InvalidWrappedKeyException, which maintain()
     * does not catch: one such disk stops the rotation of every other disk and set. (Whether
     * old records should be migrated or refused with a clear message is the maintainers'
     * call; maintenance of the other disks must go on.)
     */
    @Test
    void aDoubleDiskRecordFromBeforeTheOuterLayerDoesNotStopMaintenanceOfOtherDisks() throws Exception {
        manager.createDisk("old", "dbl");
        manager.createDisk("p", "set-p");
        Path file;
        try (var files = java.nio.file.Files.list(tmp.resolve("disks"))) {
            file = files.filter(f -> f.getFileName().toString().startsWith("old")).findFirst().orElseThrow();
        }
        byte[] b = java.nio.file.Files.readAllBytes(file);
        int at = 5;
        at += 1 + Byte.toUnsignedInt(b[at]); // disk id
        at += 1 + Byte.toUnsignedInt(b[at]); // set id
        at += 1; // layer count
        assertEquals(1, b[at], "the first layer is CUSTOMER");
        int copies = b[at + 1];
        at += 2;
        for (int i = 0; i < copies; i++) {
            at += 2 + (((b[at] & 0xff) << 8) | (b[at + 1] & 0xff));
        }
        assertEquals(3, b[at], "the second layer is INFRASTRUCTURE");
        b[at] = 2; // the layout before 47abc1a: CUSTOMER then PLATFORM
        java.util.zip.CRC32C crc = new java.util.zip.CRC32C();
        crc.update(b, 0, b.length - 4);
        java.nio.ByteBuffer.wrap(b).putInt(b.length - 4, (int) crc.getValue());
        java.nio.file.Files.write(file, b);

        vault.newVersion("platform");
        assertDoesNotThrow(manager::maintain);
        assertEquals(2, store.read("p").orElseThrow().layer(DiskKeys.Role.PLATFORM).current().keyVersion(),
                "the PLATFORM set's disk moved to the new version");
    }
}
