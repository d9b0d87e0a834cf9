package io.sectorcrypt.volume.luks2;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.node.ObjectNode;
import io.sectorcrypt.crypto.CryptoPolicy;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.util.List;
import javax.crypto.SecretKeyFactory;
import javax.crypto.spec.PBEKeySpec;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Runs under both policies (java/pom.xml's fips execution): HMAC comes from BCFIPS there. */
class Luks2DigestTest {
    private static final CryptoPolicy POLICY = CryptoPolicy.configured();

    /** Our PBKDF2 over Mac against the JDK's PBKDF2 (which takes an ASCII password as its bytes). */
    @ParameterizedTest(name = "{0}, {1} iterations, {2} bytes")
    @CsvSource({"SHA256,1,32", "SHA256,1000,64", "SHA256,3,100", "SHA1,1000,20", "SHA512,1000,64", "SHA512,2,65"})
    void pbkdf2MatchesTheJdk(Luks2Hash hash, int iterations, int length) throws Exception {
        String password = "a passphrase of some length";
        byte[] salt = "NaCl and some more salt bytes".getBytes(StandardCharsets.US_ASCII);
        byte[] ours = new byte[length];
        Pbkdf2.derive(POLICY, hash, password.getBytes(StandardCharsets.US_ASCII), salt, iterations, ours);
        byte[] jdk = SecretKeyFactory.getInstance("PBKDF2With" + hash.macAlgorithm)
                .generateSecret(new PBEKeySpec(password.toCharArray(), salt, iterations, length * 8)).getEncoded();
        assertArrayEquals(jdk, ours);
    }

    @Test
    void matchesItsKeyOnly() {
        byte[] key = new byte[64];
        POLICY.randomBytes(key);
        Luks2Digest digest = Luks2Digest.create(MemorySegment.ofArray(key), POLICY);
        assertEquals("sha256", digest.hash());
        assertEquals(Luks2Digest.ITERATIONS, digest.iterations());
        assertEquals(32, digest.salt().length);
        assertEquals(32, digest.digest().length);
        assertTrue(digest.matches(MemorySegment.ofArray(key), POLICY));
        key[63] ^= 1;
        assertFalse(digest.matches(MemorySegment.ofArray(key), POLICY));
        assertFalse(digest.matches(MemorySegment.ofArray(new byte[32]), POLICY));
    }

    @Test
    void jsonRoundTrip() {
        byte[] key = new byte[32];
        POLICY.randomBytes(key);
        Luks2Digest digest = Luks2Digest.create(MemorySegment.ofArray(key), POLICY);
        ObjectNode json = digest.toJson(List.of("0"), List.of("0"));
        assertEquals("[\"type\",\"keyslots\",\"segments\",\"hash\",\"iterations\",\"salt\",\"digest\"]",
                json.properties().stream().map(e -> "\"" + e.getKey() + "\"").toList().toString().replace(", ", ","));
        Luks2Digest read = Luks2Digest.fromJson(json);
        assertArrayEquals(digest.digest(), read.digest());
        assertTrue(read.matches(MemorySegment.ofArray(key), POLICY));
        assertFalse(digest.toString().contains(json.get("digest").asText()));
    }

    @Test
    void refusesHostileDigests() {
        byte[] key = new byte[64];
        ObjectNode good = Luks2Digest.create(MemorySegment.ofArray(key), POLICY).toJson(List.of("0"), List.of("0"));
        refuse(good, o -> o.put("type", "argon2"), "type");
        refuse(good, o -> o.put("hash", "md5"), "hash");
        refuse(good, o -> o.put("iterations", 1L << 40), "iterations");
        refuse(good, o -> o.put("iterations", 999), "iterations");
        refuse(good, o -> o.put("iterations", "1000"), "iterations");
        refuse(good, o -> o.put("iterations", 1000.5), "iterations");
        refuse(good, o -> o.put("salt", "not*base64"), "salt");
        refuse(good, o -> o.put("salt", "A".repeat(1 << 20)), "salt");
        refuse(good, o -> o.put("digest", "AAAA"), "digest");
        refuse(good, o -> o.remove("digest"), "digest");
        assertThrows(Luks2FormatException.class, () -> Luks2Digest.fromJson(null));
    }

    private static void refuse(ObjectNode good, java.util.function.Consumer<ObjectNode> change, String field) {
        ObjectNode bad = good.deepCopy();
        change.accept(bad);
        Luks2FormatException e = assertThrows(Luks2FormatException.class, () -> Luks2Digest.fromJson(bad));
        assertTrue(e.getMessage().contains(field), e.getMessage());
    }
}
