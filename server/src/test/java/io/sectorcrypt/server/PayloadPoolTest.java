package io.sectorcrypt.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import org.junit.jupiter.api.Test;

/** The payload pool reuses buffers and leaves no plaintext in those it lets go or clears. */
class PayloadPoolTest {
    private static long nonZeroBytes(ByteBuffer b) {
        MemorySegment s = MemorySegment.ofBuffer(b.duplicate().clear());
        long n = 0;
        for (long i = 0; i < s.byteSize(); i++) {
            n += s.get(java.lang.foreign.ValueLayout.JAVA_BYTE, i) != 0 ? 1 : 0;
        }
        return n;
    }

    private static ByteBuffer filled(PayloadPool pool, int length) {
        ByteBuffer b = pool.take(length);
        while (b.hasRemaining()) {
            b.put((byte) 0x5a);
        }
        return b;
    }

    @Test
    void aKeptBufferIsReusedAndZeroedByClear() {
        PayloadPool pool = new PayloadPool(1 << 20, 1 << 20);
        ByteBuffer b = filled(pool, 5000);
        assertEquals(5000, nonZeroBytes(b));
        pool.give(b);
        ByteBuffer again = pool.take(6000);
        assertSame(b, again, "the same size class is reused");
        assertEquals(6000, again.limit());
        pool.give(again);
        pool.clear();
        assertEquals(0, nonZeroBytes(b), "clear zeroes the kept buffers");
        ByteBuffer fresh = pool.take(5000);
        assertNotSame(b, fresh, "a cleared buffer is not handed out again");
    }

    @Test
    void aBufferThePoolDoesNotKeepIsZeroedBeforeItIsLetGo() {
        PayloadPool pool = new PayloadPool(1 << 20, 8192);
        ByteBuffer kept = filled(pool, 8192);
        ByteBuffer dropped = filled(pool, 8192);
        pool.give(kept);
        pool.give(dropped); // over the 8 KiB the pool keeps
        assertEquals(0, nonZeroBytes(dropped));
        assertEquals(8192, nonZeroBytes(kept), "a kept buffer is not zeroed on every give (that would cost a pass)");
    }
}
