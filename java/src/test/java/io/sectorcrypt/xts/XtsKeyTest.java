package io.sectorcrypt.xts;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class XtsKeyTest {

    @ParameterizedTest
    @ValueSource(ints = {0, 16, 31, 33, 48, 63, 65, 128})
    void refusesEveryOtherSizeNamingTheAllowedOnes(int size) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> XtsKey.of(new byte[size]));
        assertEquals("an XTS key is 32 bytes (XTS-AES-128) or 64 bytes (XTS-AES-256), not " + size + " bytes",
                e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {32, 64})
    void refusesEqualHalves(int size) {
        byte[] key = new byte[size];
        for (int i = 0; i < size / 2; i++) {
            key[i] = key[i + size / 2] = (byte) (i * 37 + 11);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> XtsKey.of(key));
        assertEquals("the two halves of an XTS key (key1 and key2) must differ (FIPS 140-3 IG C.I);"
                + " generate the key from a DRBG", e.getMessage());
    }

    @Test
    void acceptsHalvesThatDifferInTheirLastByte() {
        byte[] key = new byte[64];
        key[63] = 1;
        try (XtsKey k = XtsKey.of(key)) {
            assertEquals("XTS-AES-256", k.algorithm());
            assertEquals(64, k.size());
        }
    }

    @Test
    void refusesNull() {
        assertThrows(NullPointerException.class, () -> XtsKey.of((byte[]) null));
    }

    @Test
    void toStringNamesTheAlgorithmAndStateButNoKeyByte() {
        byte[] raw = DifferentialTest.randomKey(new SplittableRandom(7), 32);
        XtsKey key = XtsKey.of(raw);
        String open = key.toString();
        key.close();
        String closed = key.toString();
        assertEquals("XtsKey[XTS-AES-128]", open);
        assertEquals("XtsKey[XTS-AES-128, closed]", closed);
        String hex = HexFormat.of().formatHex(raw);
        for (int i = 0; i + 4 <= hex.length(); i += 4) {
            assertFalse(open.contains(hex.substring(i, i + 4)));
        }
    }

    @Test
    void copiesTheCallersArray() {
        byte[] raw = DifferentialTest.randomKey(new SplittableRandom(8), 64);
        byte[] plain = new byte[512];
        byte[] first = new byte[512];
        byte[] second = new byte[512];
        try (XtsKey key = XtsKey.of(raw)) {
            SectorCipher.of(key).encrypt(plain, 0, first, 0, 512, 0, 512);
            java.util.Arrays.fill(raw, (byte) 0); // the caller zeroes its copy, as it should
            SectorCipher.of(key).encrypt(plain, 0, second, 0, 512, 0, 512);
        }
        assertArrayEquals(first, second);
    }

    @ParameterizedTest
    @MethodSource("io.sectorcrypt.xts.Engines#available")
    void useAfterCloseIsAClearExceptionOnEveryEngine(Engine engine) {
        XtsKey key = XtsKey.of(DifferentialTest.randomKey(new SplittableRandom(9), 64));
        SectorCipher xts = SectorCipher.of(key, engine);
        key.close();
        key.close(); // idempotent
        assertTrue(key.isClosed());
        byte[] buf = new byte[512];
        KeyClosedException e = assertThrows(KeyClosedException.class,
                () -> xts.encrypt(buf, 0, buf, 0, 512, 0, 512));
        assertEquals("the XtsKey is closed: its key material was zeroed; open a new XtsKey", e.getMessage());
        assertThrows(KeyClosedException.class, () -> xts.decryptUnit(new byte[16], buf, 0, buf, 0, 100));
        assertThrows(KeyClosedException.class, () -> key.hasKeyMaterial(new byte[64]));
    }

    /**
     * Close while other threads encrypt: every operation either completes with the right
     * result or fails with KeyClosedException; none sees a half-zeroed key, none crashes.
     * No sleep decides whether close overlaps the work: close waits until every worker has
     * finished an operation (so all are running), and the workers cannot stop until close
     * has happened (their loop ends only on KeyClosedException), so close always lands while
     * all of them are encrypting.
     */
    @ParameterizedTest
    @MethodSource("io.sectorcrypt.xts.Engines#available")
    void closeWhileInUseNeverCorruptsOrCrashes(Engine engine) throws Exception {
        SplittableRandom rnd = new SplittableRandom(10);
        byte[] raw = DifferentialTest.randomKey(rnd, 64);
        byte[] plain = new byte[64 * 1024];
        rnd.nextBytes(plain);
        byte[] expected = new byte[plain.length];
        try (XtsKey reference = XtsKey.of(raw)) {
            SectorCipher.of(reference, Engine.JAVA).encrypt(plain, 0, expected, 0, plain.length, 40, 4096);
        }
        int threads = 4;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < 20; round++) {
                XtsKey key = XtsKey.of(raw);
                SectorCipher xts = SectorCipher.of(key, engine);
                CountDownLatch eachDidOne = new CountDownLatch(threads);
                AtomicBoolean wrong = new AtomicBoolean();
                List<Future<Integer>> workers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    workers.add(pool.submit(() -> {
                        byte[] out = new byte[plain.length];
                        int completed = 0;
                        while (true) {
                            try {
                                xts.encrypt(plain, 0, out, 0, out.length, 40, 4096);
                            } catch (KeyClosedException closed) {
                                return completed;
                            }
                            if (!java.util.Arrays.equals(out, expected)) {
                                wrong.set(true);
                            }
                            if (completed++ == 0) {
                                eachDidOne.countDown();
                            }
                        }
                    }));
                }
                assertTrue(eachDidOne.await(20, TimeUnit.SECONDS), "every worker finishes one operation on the open key");
                assertFalse(key.isClosed());
                key.close();
                for (Future<Integer> w : workers) {
                    assertTrue(w.get(20, TimeUnit.SECONDS) >= 1, "a worker ended only after close, having done work");
                }
                assertFalse(wrong.get(), "an operation racing close produced wrong output");
            }
        } finally {
            pool.shutdownNow();
        }
    }
}
