package io.sectorcrypt.hctr2;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * POLYVAL (RFC 8452 section 3): S_0 = 0, S_j = dot(S_{j-1} xor X_j, H), over GF(2^128)
 * modulo x^128 + x^127 + x^126 + x^121 + 1, where dot(a, b) = a * b * x^-128. Field
 * elements are 16 bytes little-endian: bit i of byte j is the coefficient of x^(8j + i),
 * held here as two longs (lo = bytes 0..7, hi = bytes 8..15).
 *
 * <p>Constant time: no table is indexed by secret data and no branch depends on it. The
 * 64 x 64 carry-less products use integer multiplication on masked operands (BearSSL's
 * "ctmul64" technique, Thomas Pornin): each operand is split into four parts holding every
 * fourth bit, so in each integer product the carries of a column (at most 16 set terms)
 * land in bits that the result mask discards or beyond bit 63. That gives the low 64 bits
 * of a carry-less product; the high 64 come from the same on bit-reversed operands. A
 * 128 x 128 product is three such pairs (Karatsuba), then a Montgomery reduction by
 * x^128 in two 64-bit folds, all shifts and XORs. On 64-bit x86 and AArch64, integer
 * multiplication takes the same time whatever the operands.
 *
 * <p>Mutable, not thread-safe: one accumulator per thread (the HCTR2 engine keeps one per
 * pooled schedule). {@link #wipe()} zeroes the key and state.
 */
final class Polyval {
    static final int BLOCK_BYTES = 16;
    private static final VarHandle LONG = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private long hLo;
    private long hHi;
    /** The running value S_j. */
    private long sLo;
    private long sHi;

    /** An accumulator with hash key H = (hLo, hHi) and S = 0. */
    Polyval(long hLo, long hHi) {
        this.hLo = hLo;
        this.hHi = hHi;
    }

    /** An accumulator with the 16-byte hash key H at key[off..off+16) and S = 0. */
    static Polyval of(byte[] key, int off) {
        return new Polyval((long) LONG.get(key, off), (long) LONG.get(key, off + 8));
    }

    /** Sets S (to 0 to start a new hash, or to a saved prefix's value). */
    void set(long lo, long hi) {
        sLo = lo;
        sHi = hi;
    }

    long lo() {
        return sLo;
    }

    long hi() {
        return sHi;
    }

    /** Absorbs one block X = (lo, hi): S = dot(S xor X, H). */
    void block(long lo, long hi) {
        mul(sLo ^ lo, sHi ^ hi);
    }

    /** Absorbs {@code len} bytes at b[off..], a multiple of 16. */
    void blocks(byte[] b, int off, int len) {
        for (int i = off, end = off + len; i < end; i += BLOCK_BYTES) {
            mul(sLo ^ (long) LONG.get(b, i), sHi ^ (long) LONG.get(b, i + 8));
        }
    }

    /** Zeroes H and S. */
    void wipe() {
        hLo = 0;
        hHi = 0;
        sLo = 0;
        sHi = 0;
    }

    /** S = dot((aLo, aHi), H) = a * H * x^-128 mod the POLYVAL polynomial. */
    private void mul(long aLo, long aHi) {
        long bLo = hLo;
        long bHi = hHi;
        long aMid = aLo ^ aHi;
        long bMid = bLo ^ bHi;
        // Karatsuba: a*b = lo*lo + ((aLo+aHi)(bLo+bHi) - lo*lo - hi*hi) x^64 + hi*hi x^128.
        long loLo = clmulLow(aLo, bLo);
        long hiLo = clmulLow(aHi, bHi);
        long midLo = clmulLow(aMid, bMid) ^ loLo ^ hiLo;
        long loHi = clmulHigh(aLo, bLo);
        long hiHi = clmulHigh(aHi, bHi);
        long midHi = clmulHigh(aMid, bMid) ^ loHi ^ hiHi;
        // The 256-bit product, words v0 (x^0..x^63) to v3.
        long v0 = loLo;
        long v1 = loHi ^ midLo;
        long v2 = hiLo ^ midHi;
        long v3 = hiHi;
        // Montgomery reduction: P = x^128 + x^127 + x^126 + x^121 + 1 is 1 mod x^64, so adding
        // v0 * P clears v0 and adds v0 * (x^121 + x^126 + x^127 + x^128) higher up; the same
        // for v1 one word up. What is left in (v2, v3) is a * b * x^-128 mod P.
        v1 ^= (v0 << 57) ^ (v0 << 62) ^ (v0 << 63);
        v2 ^= v0 ^ (v0 >>> 7) ^ (v0 >>> 2) ^ (v0 >>> 1);
        v2 ^= (v1 << 57) ^ (v1 << 62) ^ (v1 << 63);
        v3 ^= v1 ^ (v1 >>> 7) ^ (v1 >>> 2) ^ (v1 >>> 1);
        sLo = v2;
        sHi = v3;
    }

    /** Bits 0..63 of the carry-less product of x and y (see the class comment). */
    static long clmulLow(long x, long y) {
        long x0 = x & 0x1111111111111111L;
        long x1 = x & 0x2222222222222222L;
        long x2 = x & 0x4444444444444444L;
        long x3 = x & 0x8888888888888888L;
        long y0 = y & 0x1111111111111111L;
        long y1 = y & 0x2222222222222222L;
        long y2 = y & 0x4444444444444444L;
        long y3 = y & 0x8888888888888888L;
        // Bit k of x_i * y_j has i + j = k mod 4: each sum collects the products landing in one class.
        long z0 = (x0 * y0) ^ (x1 * y3) ^ (x2 * y2) ^ (x3 * y1);
        long z1 = (x0 * y1) ^ (x1 * y0) ^ (x2 * y3) ^ (x3 * y2);
        long z2 = (x0 * y2) ^ (x1 * y1) ^ (x2 * y0) ^ (x3 * y3);
        long z3 = (x0 * y3) ^ (x1 * y2) ^ (x2 * y1) ^ (x3 * y0);
        return (z0 & 0x1111111111111111L) | (z1 & 0x2222222222222222L)
                | (z2 & 0x4444444444444444L) | (z3 & 0x8888888888888888L);
    }

    /**
     * Bits 64..127 of the carry-less product of x and y: reversing both 64-bit operands
     * reverses the 127-bit product, so the low half of the reversed product, reversed
     * back, is product bits 63..126; one shift drops bit 63.
     */
    static long clmulHigh(long x, long y) {
        return Long.reverse(clmulLow(Long.reverse(x), Long.reverse(y))) >>> 1;
    }
}
