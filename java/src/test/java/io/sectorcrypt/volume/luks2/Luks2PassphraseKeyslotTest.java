package io.sectorcrypt.volume.luks2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.crypto.CryptoPolicy;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HexFormat;
import java.util.function.Consumer;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Runs under both policies; Argon2 cases under DEFAULT only (FIPS mode refuses Argon2, tested too). */
class Luks2PassphraseKeyslotTest {
    private static final CryptoPolicy POLICY = CryptoPolicy.configured();
    private static final char[] PASSPHRASE = "correct horse battery staple".toCharArray();
    private static final long AREA_OFFSET = 32768;

    @Test
    @Tag("default-only")
    void argon2idRoundTrip() throws Exception {
        roundTrip(KdfParameters.minimal(CryptoPolicy.DEFAULT), 64);
        roundTrip(KdfParameters.argon2id(4, 1024, 4), 32);
    }

    @Test
    void pbkdf2RoundTrip() throws Exception {
        roundTrip(KdfParameters.pbkdf2(1000), 64);
        roundTrip(KdfParameters.pbkdf2(1000), 32);
    }

    private static void roundTrip(KdfParameters kdf, int keyBytes) throws Exception {
        byte[] key = new byte[keyBytes];
        POLICY.randomBytes(key);
        MemorySegment volumeKey = MemorySegment.ofArray(key);
        PassphraseKeyslot slot = PassphraseKeyslot.create(volumeKey, PASSPHRASE, kdf, AREA_OFFSET, POLICY);
        Luks2Digest digest = Luks2Digest.create(volumeKey, POLICY);
        JsonNode json = slot.json();
        byte[] area = slot.area();
        assertEquals(PassphraseKeyslot.areaSize(keyBytes), area.length);
        assertEquals(Long.toString(area.length), json.at("/area/size").asText());
        assertEquals("32768", json.at("/area/offset").asText());
        assertEquals(new PassphraseKeyslot.Area(AREA_OFFSET, area.length), PassphraseKeyslot.validate(json));
        assertEquals(kdf.type().jsonName(), json.at("/kdf/type").asText());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment opened = PassphraseKeyslot.open(json, MemorySegment.ofArray(area), PASSPHRASE, POLICY, arena);
            assertArrayEquals(key, opened.toArray(ValueLayout.JAVA_BYTE));
            MemorySegment unlocked = PassphraseKeyslot.unlock(json, MemorySegment.ofArray(area), PASSPHRASE, digest,
                    POLICY, arena);
            assertArrayEquals(key, unlocked.toArray(ValueLayout.JAVA_BYTE));
            // A wrong passphrase opens a wrong key, which the digest refuses.
            char[] wrong = "correct horse battery stapler".toCharArray();
            MemorySegment other = PassphraseKeyslot.open(json, MemorySegment.ofArray(area), wrong, POLICY, arena);
            assertFalse(java.util.Arrays.equals(key, other.toArray(ValueLayout.JAVA_BYTE)));
            WrongPassphraseException e = assertThrows(WrongPassphraseException.class, () -> PassphraseKeyslot.unlock(
                    json, MemorySegment.ofArray(area), wrong, digest, POLICY, arena));
            assertFalse(e.getMessage().contains("staple"));
        }
        String hex = HexFormat.of().formatHex(key);
        assertFalse(slot.toString().contains(hex));
        assertFalse(json.toString().contains(hex));
    }

    @Test
    void theJsonIsTheSpecsKeyslotObject() {
        PassphraseKeyslot slot = PassphraseKeyslot.create(MemorySegment.ofArray(randomKey()), PASSPHRASE,
                KdfParameters.minimal(POLICY), AREA_OFFSET, POLICY);
        JsonNode j = slot.json();
        assertEquals("luks2", j.get("type").asText());
        assertEquals(64, j.get("key_size").intValue());
        assertEquals("{\"type\":\"luks1\",\"stripes\":4000,\"hash\":\"sha256\"}", j.get("af").toString());
        assertEquals("{\"type\":\"raw\",\"offset\":\"32768\",\"size\":\"258048\",\"encryption\":\"aes-xts-plain64\","
                + "\"key_size\":64}", j.get("area").toString());
        assertEquals(44, j.at("/kdf/salt").asText().length());
        if (POLICY.isFips()) {
            assertEquals("pbkdf2", j.at("/kdf/type").asText());
            assertEquals("sha256", j.at("/kdf/hash").asText());
        } else {
            assertEquals("argon2id", j.at("/kdf/type").asText());
            assertEquals(1, j.at("/kdf/cpus").intValue());
        }
    }

    @Test
    void refusesBadArgumentsToCreate() {
        MemorySegment key = MemorySegment.ofArray(randomKey());
        KdfParameters kdf = KdfParameters.minimal(POLICY);
        assertThrows(IllegalArgumentException.class,
                () -> PassphraseKeyslot.create(key, new char[0], kdf, AREA_OFFSET, POLICY));
        assertThrows(IllegalArgumentException.class,
                () -> PassphraseKeyslot.create(key, PASSPHRASE, kdf, 1000, POLICY));
        assertThrows(IllegalArgumentException.class,
                () -> PassphraseKeyslot.create(MemorySegment.ofArray(new byte[48]), PASSPHRASE, kdf, AREA_OFFSET, POLICY));
        assertThrows(IllegalArgumentException.class, () -> KdfParameters.argon2id(3, 32, 1));
        assertThrows(IllegalArgumentException.class, () -> KdfParameters.argon2id(4, 31, 1));
        assertThrows(IllegalArgumentException.class, () -> KdfParameters.argon2id(4, 32, 5));
        assertThrows(IllegalArgumentException.class, () -> KdfParameters.pbkdf2(999));
    }

    @Test
    @Tag("fips-only")
    void fipsRefusesArgon2() {
        assertThrows(IllegalStateException.class, () -> PassphraseKeyslot.create(MemorySegment.ofArray(randomKey()),
                PASSPHRASE, KdfParameters.ARGON2ID_PRODUCTION, AREA_OFFSET, CryptoPolicy.FIPS));
        ObjectNode argon = goodArgon2Json();
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalStateException.class, () -> PassphraseKeyslot.open(argon,
                    MemorySegment.ofArray(new byte[258048]), PASSPHRASE, CryptoPolicy.FIPS, arena));
        }
    }

    @Test
    @Tag("default-only")
    void shortPassphrasesWorkOutsideFips() throws Exception {
        byte[] key = randomKey();
        PassphraseKeyslot slot = PassphraseKeyslot.create(MemorySegment.ofArray(key), "abc".toCharArray(),
                KdfParameters.pbkdf2(1000), AREA_OFFSET, POLICY);
        try (Arena arena = Arena.ofConfined()) {
            assertArrayEquals(key, PassphraseKeyslot.open(slot.json(), MemorySegment.ofArray(slot.area()),
                    "abc".toCharArray(), POLICY, arena).toArray(ValueLayout.JAVA_BYTE));
        }
    }

    /** BCFIPS refuses HMAC keys under 112 bits in approved mode: refused first, with the rule named. */
    @Test
    @Tag("fips-only")
    void fipsRefusesPassphrasesUnder14Bytes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> PassphraseKeyslot.create(
                MemorySegment.ofArray(randomKey()), "13 bytes long".toCharArray(), KdfParameters.pbkdf2(1000),
                AREA_OFFSET, CryptoPolicy.FIPS));
        assertTrue(e.getMessage().contains("14"), e.getMessage());
        PassphraseKeyslot slot = PassphraseKeyslot.create(MemorySegment.ofArray(randomKey()),
                "14 bytes long!".toCharArray(), KdfParameters.pbkdf2(1000), AREA_OFFSET, CryptoPolicy.FIPS);
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(IllegalArgumentException.class, () -> PassphraseKeyslot.open(slot.json(),
                    MemorySegment.ofArray(slot.area()), "short".toCharArray(), CryptoPolicy.FIPS, arena));
        }
    }

    /** A keyslot as DEFAULT would make it, written by hand so that FIPS runs can parse it too. */
    private static ObjectNode goodArgon2Json() {
        ObjectNode slot = (ObjectNode) PassphraseKeyslot.create(MemorySegment.ofArray(randomKey()), PASSPHRASE,
                KdfParameters.pbkdf2(1000), AREA_OFFSET, POLICY).json();
        ObjectNode kdf = (ObjectNode) slot.get("kdf");
        kdf.removeAll();
        kdf.put("type", "argon2id");
        kdf.put("time", 4);
        kdf.put("memory", 32);
        kdf.put("cpus", 1);
        kdf.put("salt", "f4etr6pBHNr8tuiEMNktPmBt/wReQzljDoQ8XZ8uKfA=");
        return slot;
    }

    @Test
    void refusesHostileKeyslotsBeforeAnyWork() {
        ObjectNode good = goodArgon2Json();
        PassphraseKeyslot.validate(good);
        refuse(good, o -> o.put("type", "reencrypt"), "type");
        refuse(good, o -> o.put("key_size", 48), "key_size");
        refuse(good, o -> o.put("key_size", "64"), "key_size");
        refuse(good, o -> o.put("priority", 3), "priority");
        refuse(good, o -> af(o).put("stripes", 1 << 30), "stripes");
        refuse(good, o -> af(o).put("stripes", 3999), "stripes");
        refuse(good, o -> af(o).put("hash", "whirlpool"), "hash");
        refuse(good, o -> af(o).put("type", "luks2"), "af.type");
        refuse(good, o -> area(o).put("offset", "-4096"), "offset");
        refuse(good, o -> area(o).put("offset", 32768), "offset");
        refuse(good, o -> area(o).put("offset", "99999999999999999999"), "offset");
        refuse(good, o -> area(o).put("offset", "32769"), "multiples");
        refuse(good, o -> area(o).put("offset", String.valueOf(Long.MAX_VALUE - 4095)), "overflow");
        refuse(good, o -> area(o).put("size", "4096"), "size");
        refuse(good, o -> area(o).put("size", String.valueOf(1L << 40)), "size");
        refuse(good, o -> area(o).put("encryption", "aes-cbc-essiv:sha256"), "encryption");
        refuse(good, o -> area(o).put("key_size", 16), "key_size");
        refuse(good, o -> area(o).put("type", "none"), "area.type");
        refuse(good, o -> kdf(o).put("memory", 4 * 1024 * 1024), "memory");
        refuse(good, o -> kdf(o).put("memory", Long.MAX_VALUE), "memory");
        refuse(good, o -> kdf(o).put("memory", 16), "memory");
        refuse(good, o -> kdf(o).put("time", 3), "time");
        refuse(good, o -> kdf(o).put("time", 4.5), "time");
        refuse(good, o -> kdf(o).put("time", Integer.MAX_VALUE), "time");
        refuse(good, o -> kdf(o).put("cpus", 5), "cpus");
        refuse(good, o -> kdf(o).put("cpus", 0), "cpus");
        refuse(good, o -> kdf(o).put("type", "scrypt"), "kdf.type");
        refuse(good, o -> kdf(o).put("salt", "%%%%"), "salt");
        refuse(good, o -> kdf(o).put("salt", "QUJD"), "salt");
        refuse(good, o -> kdf(o).put("salt", "A".repeat(10_000_000)), "salt");
        refuse(good, o -> kdf(o).remove("salt"), "salt");
        refuse(good, o -> o.remove("kdf"), "kdf");
        refuse(good, o -> {
            kdf(o).removeAll();
            kdf(o).put("type", "pbkdf2").put("hash", "sha256").put("iterations", 1L << 32).put("salt", "QUJDREVGR0g=");
        }, "iterations");
        // Work: memory within the limit, time too: their product is refused.
        ObjectNode heavy = good.deepCopy();
        kdf(heavy).put("memory", 1024 * 1024).put("time", 17);
        refuseWith(heavy, KdfLimits.DEFAULT, "work");
        // What cryptsetup chooses by default on a fast machine stays readable.
        ObjectNode cryptsetupDefault = good.deepCopy();
        kdf(cryptsetupDefault).put("memory", 1024 * 1024).put("time", 16).put("cpus", 4);
        assertEquals(258048, PassphraseKeyslot.validate(cryptsetupDefault).size());
        // A stricter reader's limits are honoured.
        ObjectNode mid = good.deepCopy();
        kdf(mid).put("memory", 65536);
        refuseWith(mid, new KdfLimits(32768, 1 << 20, 1, 1000), "memory");
        assertThrows(Luks2FormatException.class, () -> PassphraseKeyslot.validate(null));
        assertThrows(Luks2FormatException.class,
                () -> PassphraseKeyslot.validate(com.fasterxml.jackson.databind.node.JsonNodeFactory.instance.textNode("x")));
    }

    @Test
    void refusesAnAreaOfTheWrongLength() {
        PassphraseKeyslot slot = PassphraseKeyslot.create(MemorySegment.ofArray(randomKey()), PASSPHRASE,
                KdfParameters.pbkdf2(1000), AREA_OFFSET, POLICY);
        try (Arena arena = Arena.ofConfined()) {
            for (int length : new int[] {0, 255_999, 258_049}) {
                assertThrows(Luks2FormatException.class, () -> PassphraseKeyslot.open(slot.json(),
                        MemorySegment.ofArray(new byte[length]), PASSPHRASE, POLICY, arena));
            }
            // The split key's sectors alone are enough.
            assertEquals(64, PassphraseKeyslot.open(slot.json(), MemorySegment.ofArray(slot.area()).asSlice(0, 256_000),
                    PASSPHRASE, POLICY, arena).byteSize());
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "\ud800"})
    void refusesUnusablePassphrases(String passphrase) {
        assertThrows(IllegalArgumentException.class, () -> PassphraseKeyslot.create(MemorySegment.ofArray(randomKey()),
                passphrase.toCharArray(), KdfParameters.pbkdf2(1000), AREA_OFFSET, POLICY));
    }

    private static ObjectNode af(ObjectNode o) {
        return (ObjectNode) o.get("af");
    }

    private static ObjectNode area(ObjectNode o) {
        return (ObjectNode) o.get("area");
    }

    private static ObjectNode kdf(ObjectNode o) {
        return (ObjectNode) o.get("kdf");
    }

    private static void refuse(ObjectNode good, Consumer<ObjectNode> change, String field) {
        ObjectNode bad = good.deepCopy();
        change.accept(bad);
        refuseWith(bad, KdfLimits.DEFAULT, field);
    }

    private static void refuseWith(ObjectNode bad, KdfLimits limits, String field) {
        Luks2FormatException e = assertThrows(Luks2FormatException.class, () -> PassphraseKeyslot.validate(bad, limits));
        assertTrue(e.getMessage().contains(field), e.getMessage());
        assertTrue(e.getMessage().length() < 300, e.getMessage());
        // open() validates the same way, before the KDF or any allocation of the area's size.
        try (Arena arena = Arena.ofConfined()) {
            assertThrows(Luks2FormatException.class, () -> PassphraseKeyslot.open(bad,
                    MemorySegment.ofArray(new byte[258048]), PASSPHRASE, CryptoPolicy.DEFAULT, limits, arena));
        }
    }

    private static byte[] randomKey() {
        byte[] key = new byte[64];
        POLICY.randomBytes(key);
        return key;
    }
}
