package io.sectorcrypt.bench;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;

/** The three ways a storage server hands data over: a native segment, a heap array, a direct buffer. */
public enum Memory {
    NATIVE, HEAP, DIRECT;

    /** n bytes of the given kind, filled with a fixed pattern, page-aligned when off-heap. */
    Object allocate(Arena arena, int n) {
        byte[] pattern = new byte[n];
        for (int i = 0; i < n; i++) {
            pattern[i] = (byte) (i * 31 + 7);
        }
        return switch (this) {
            case NATIVE -> arena.allocate(n, 4096).copyFrom(MemorySegment.ofArray(pattern));
            case HEAP -> pattern;
            case DIRECT -> arena.allocate(n, 4096).copyFrom(MemorySegment.ofArray(pattern)).asByteBuffer();
        };
    }
}
