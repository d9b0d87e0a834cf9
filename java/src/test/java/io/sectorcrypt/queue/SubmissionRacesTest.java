package io.sectorcrypt.queue;

import static io.sectorcrypt.queue.Fixtures.SECTOR;
import static io.sectorcrypt.queue.Fixtures.assertSameBytes;
import static io.sectorcrypt.queue.Fixtures.encryptedDirectly;
import static io.sectorcrypt.queue.Fixtures.newKey;
import static io.sectorcrypt.queue.Fixtures.random;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.concurrent.CancellationException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Interleavings of a submission with a shutdown or a full ring, forced one at a time. */
@Timeout(value = 60, unit = TimeUnit.SECONDS, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
class SubmissionRacesTest {
    private static final Duration WAIT = Duration.ofSeconds(Fixtures.WAIT_SECONDS);

    private Arena arena;
    private XtsKey key;
    private SectorCipher cipher;

    @BeforeEach
    void setUp() {
        arena = Arena.ofShared();
        key = newKey(8);
        cipher = SectorCipher.of(key);
    }

    @AfterEach
    void tearDown() {
        key.close();
        arena.close();
    }

    /**
     * The submission passed its state check; then the queue shut down and its last worker
     * stopped; then the submission offered its request. Nobody else will take it: the
     * submitter must run it itself (graceful) or cancel it (immediate).
     */
    private void shutdownBetweenCheckAndOffer(boolean now) throws Exception {
        MemorySegment plain = random(arena, 8L * SECTOR, 2);
        MemorySegment expected = encryptedDirectly(arena, cipher, plain, 40, SECTOR);
        MemorySegment out = arena.allocate(plain.byteSize());
        AtomicBoolean first = new AtomicBoolean(true);
        SectorQueue[] self = new SectorQueue[1];
        SectorQueue queue = SectorQueue.builder().workers(1).stripeBytes(2 * SECTOR).beforeOffer(() -> {
            if (first.getAndSet(false)) {
                if (now) {
                    self[0].shutdownNow();
                } else {
                    self[0].shutdown();
                }
                // The only worker sees the shutdown and an empty ring, and stops.
                Fixtures.awaitCondition(self[0]::workersStopped, "the worker to stop");
            }
        }).build();
        self[0] = queue;
        SectorRequest request = new SectorRequest().encrypt(cipher, plain, out, 40, SECTOR, 8);
        assertTrue(queue.trySubmit(request), "it passed the state check before the shutdown: accepted");
        if (now) {
            Throwable e = request.future().handle((v, failure) -> failure)
                    .get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
            assertTrue(e instanceof CancellationException, "cancelled, not " + e);
            assertEquals("the sector queue was shut down with shutdownNow() before this request started; dst is"
                    + " untouched", e.getMessage());
            assertTrue(request.future().isCancelled());
            assertEquals(-1, arena.allocate(out.byteSize()).mismatch(out), "a cancelled request wrote nothing");
        } else {
            request.future().get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
            assertSameBytes(expected, out, "the request its submitter ran");
        }
        assertTrue(queue.awaitTermination(WAIT));
        QueueMetrics m = queue.metrics();
        assertEquals(1, m.completed() + m.failed(), m.toString());
        assertEquals(0, m.inFlight(), m.toString());
    }

    @Test
    void aSubmissionThatRacesAShutdownIsRunByItsSubmitter() throws Exception {
        shutdownBetweenCheckAndOffer(false);
    }

    @Test
    void aSubmissionThatRacesAShutdownNowIsCancelledByItsSubmitter() throws Exception {
        shutdownBetweenCheckAndOffer(true);
    }

    /**
     * A striped request is offered once per worker; a ticket that finds the ring full is given
     * up, and the request still completes exactly once, all its stripes done.
     */
    @Test
    void aStripedRequestWhoseSecondTicketFindsNoRoomStillCompletes() throws Exception {
        MemorySegment plain = random(arena, 32L * SECTOR, 4);
        MemorySegment expected = encryptedDirectly(arena, cipher, plain, 0, SECTOR);
        MemorySegment out = arena.allocate(plain.byteSize());
        try (SectorQueue queue = SectorQueue.builder().workers(2).capacity(2).stripeBytes(4 * SECTOR).build()) {
            Fixtures.HeldWorker first = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            Fixtures.HeldWorker second = new Fixtures.HeldWorker(cipher, arena).hold(queue);
            MemorySegment small = arena.allocate(SECTOR);
            SectorRequest filler = new SectorRequest().encrypt(cipher, small, small, 0, SECTOR, 1);
            assertTrue(queue.trySubmit(filler));
            SectorRequest striped = new SectorRequest().encrypt(cipher, plain, out, 0, SECTOR, 32);
            assertTrue(queue.trySubmit(striped), "its first ticket takes the last slot");
            assertEquals(2, queue.metrics().queueDepth(), "the second ticket found no room");
            assertFalse(queue.trySubmit(new SectorRequest().encrypt(cipher, small, small, 8, SECTOR, 1)));
            first.release();
            second.release();
            striped.future().get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
            filler.future().get(Fixtures.WAIT_SECONDS, TimeUnit.SECONDS);
            assertSameBytes(expected, out, "all 8 stripes");
        }
    }
}
