package io.sectorcrypt.xts;

import com.sun.management.ThreadMXBean;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.function.LongConsumer;

/**
 * Run in a JVM of its own by {@link AllocationFreeTest}: one kind of memory (or several, comma
 * separated, one after another, to see what mixing them costs), each engine named and both
 * directions, called until a round of {@value #CALLS_PER_ROUND} calls averages under
 * one byte allocated a call (the interpreter and C1 allocate where C2's escape analysis does
 * not) or {@value #LIMIT_MILLIS} ms have passed. Prints one line a case: engine, memory,
 * direction, bytes a call in the last round. Usage: {@code AllocationProbe MEMORY[,MEMORY...] ENGINE...}.
 */
final class AllocationProbe {
    static final List<String> MEMORY = List.of("segment", "array", "direct-in-place", "two-direct-buffers");
    private static final int SECTOR = 4096;
    private static final int CALLS_PER_ROUND = 2_000;
    private static final long LIMIT_MILLIS = 10_000;

    private AllocationProbe() {
    }

    public static void main(String[] args) {
        List<String> kinds = List.of(args[0].split(","));
        byte[] keyBytes = new byte[64];
        for (int i = 0; i < keyBytes.length; i++) {
            keyBytes[i] = (byte) (i * 13 + 5);
        }
        for (String engineName : List.of(args).subList(1, args.length)) {
            Engine engine = Engine.parse(engineName);
            try (Arena arena = Arena.ofConfined(); XtsKey key = XtsKey.of(keyBytes)) {
                SectorCipher xts = SectorCipher.of(key, engine);
                MemorySegment segment = arena.allocate(SECTOR, 64);
                ByteBuffer direct = ByteBuffer.allocateDirect(SECTOR);
                ByteBuffer other = ByteBuffer.allocateDirect(SECTOR);
                for (String memory : kinds) {
                    for (boolean encrypt : new boolean[] {true, false}) {
                        LongConsumer call = call(xts, encrypt, memory, segment, new byte[SECTOR], direct, other);
                        System.out.println(engine.id() + " " + memory + " " + (encrypt ? "encrypt" : "decrypt") + " "
                                + bytesPerCall(call));
                    }
                }
            }
        }
    }

    /** One call on one sector of this kind of memory, in place except for two buffers. */
    private static LongConsumer call(SectorCipher xts, boolean encrypt, String memory, MemorySegment segment,
                                     byte[] array, ByteBuffer direct, ByteBuffer other) {
        return switch (memory) {
            case "segment" -> encrypt ? iv -> xts.encrypt(segment, segment, iv, SECTOR)
                    : iv -> xts.decrypt(segment, segment, iv, SECTOR);
            case "array" -> encrypt ? iv -> xts.encrypt(array, 0, array, 0, SECTOR, iv, SECTOR)
                    : iv -> xts.decrypt(array, 0, array, 0, SECTOR, iv, SECTOR);
            case "direct-in-place" -> encrypt ? iv -> xts.encrypt(direct.clear(), direct, iv, SECTOR)
                    : iv -> xts.decrypt(direct.clear(), direct, iv, SECTOR);
            case "two-direct-buffers" -> encrypt ? iv -> xts.encrypt(direct.clear(), other.clear(), iv, SECTOR)
                    : iv -> xts.decrypt(direct.clear(), other.clear(), iv, SECTOR);
            default -> throw new IllegalArgumentException("unknown memory " + memory);
        };
    }

    private static double bytesPerCall(LongConsumer call) {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        long deadline = System.nanoTime() + LIMIT_MILLIS * 1_000_000L;
        long iv = 0;
        double perCall;
        do {
            long before = threads.getCurrentThreadAllocatedBytes();
            for (int i = 0; i < CALLS_PER_ROUND; i++) {
                call.accept(iv);
                iv += SECTOR / 512;
            }
            perCall = (double) (threads.getCurrentThreadAllocatedBytes() - before) / CALLS_PER_ROUND;
        } while (perCall >= 1 && System.nanoTime() < deadline);
        return perCall;
    }
}
