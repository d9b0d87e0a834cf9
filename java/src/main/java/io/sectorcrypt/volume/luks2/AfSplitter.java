package io.sectorcrypt.volume.luks2;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Objects;

/**
 * The LUKS anti-forensic information splitter (LUKS1 on-disk format specification 1.2.3,
 * section 2.4, AFsplit and AFmerge; LUKS2 on-disk format section 3.2.4, {@code "af":
 * {"type": "luks1"}}), computing what cryptsetup's {@code lib/luks1/af.c} computes.
 *
 * <p>A key of {@code k} bytes becomes {@code stripes} stripes of {@code k} bytes each: all
 * but the last are random; a running block {@code d} starts at zero and, for each random
 * stripe {@code s_i}, becomes {@code H(d xor s_i)}; the last stripe is {@code d xor key}.
 * Losing any one stripe loses the key. {@code H} is the diffusion function: the block is cut
 * into digest-sized pieces, piece {@code j} replaced by the first bytes of
 * {@code hash(be32(j) || piece)} (a last short piece likewise, truncated).
 *
 * <p>Material and keys live in {@link MemorySegment}s (off-heap where the caller's arena is);
 * the running block and digest outputs pass through heap scratch arrays of key size, zeroed
 * before each method returns. The hash is the JDK's {@link MessageDigest}; its internal
 * buffers are reset, not necessarily wiped, by the JDK.
 */
public final class AfSplitter {
    /** The stripe count LUKS1 and LUKS2 use (LUKS2 on-disk format 3.2.4: the only value supported). */
    public static final int LUKS_STRIPES = 4000;
    /** The largest key this class splits: 1 KiB is far beyond any cipher's key (LUKS2 keys are at most 64 bytes in practice). */
    public static final int MAX_KEY_BYTES = 1024;
    /** Random bytes asked of the generator per call: DRBGs bound one request (SP 800-90A Table 2, 2^19 bits). */
    private static final int RANDOM_CHUNK = 4096;

    private AfSplitter() {
    }

    /**
     * Splits {@code key} into {@code stripes} stripes (AFsplit).
     *
     * @param key     the key, 1 .. {@value #MAX_KEY_BYTES} bytes
     * @param stripes 1 .. {@value #LUKS_STRIPES}
     * @param hash    the diffusion hash: {@code sha1}, {@code sha256} or {@code sha512}
     * @param random  the source of the random stripes (a DRBG, e.g. {@code CryptoPolicy.drbg()})
     * @param arena   where the material is allocated
     * @return {@code key.byteSize() × stripes} bytes, to zero (or let the arena free) when written
     * @throws IllegalArgumentException if a size is out of range or the hash unknown
     */
    public static MemorySegment split(MemorySegment key, int stripes, String hash, SecureRandom random, Arena arena) {
        Objects.requireNonNull(random, "random");
        Objects.requireNonNull(arena, "arena");
        int keyBytes = checkKey(key);
        Luks2Hash h = hashOf(hash);
        checkStripes(stripes);
        MemorySegment material = arena.allocate((long) keyBytes * stripes, 64);
        byte[] block = new byte[keyBytes];
        byte[] scratch = new byte[Math.max(RANDOM_CHUNK, h.length)];
        try {
            long randomBytes = (long) keyBytes * (stripes - 1);
            for (long done = 0; done < randomBytes; ) {
                int n = (int) Math.min(RANDOM_CHUNK, randomBytes - done);
                byte[] chunk = n == scratch.length ? scratch : new byte[n];
                random.nextBytes(chunk);
                MemorySegment.copy(chunk, 0, material, ValueLayout.JAVA_BYTE, done, n);
                Arrays.fill(chunk, (byte) 0);
                done += n;
            }
            MessageDigest md = h.newDigest();
            for (int i = 0; i < stripes - 1; i++) {
                xorInto(block, material, (long) i * keyBytes);
                diffuse(md, block, scratch);
            }
            // Last stripe: d xor key.
            long last = (long) (stripes - 1) * keyBytes;
            for (int j = 0; j < keyBytes; j++) {
                material.set(ValueLayout.JAVA_BYTE, last + j,
                        (byte) (block[j] ^ key.get(ValueLayout.JAVA_BYTE, j)));
            }
            return material;
        } catch (RuntimeException | Error e) {
            material.fill((byte) 0);
            throw e;
        } finally {
            Arrays.fill(block, (byte) 0);
            Arrays.fill(scratch, (byte) 0);
        }
    }

    /**
     * Merges split material back into the key (AFmerge).
     *
     * @param material {@code keyBytes × stripes} bytes (more are ignored)
     * @param keyBytes 1 .. {@value #MAX_KEY_BYTES}
     * @param stripes  1 .. {@value #LUKS_STRIPES}
     * @param hash     {@code sha1}, {@code sha256} or {@code sha512}
     * @param arena    where the key is allocated
     * @return the key, {@code keyBytes} bytes
     * @throws IllegalArgumentException if a size is out of range, the material too short or the hash unknown
     */
    public static MemorySegment merge(MemorySegment material, int keyBytes, int stripes, String hash, Arena arena) {
        Objects.requireNonNull(material, "material");
        Objects.requireNonNull(arena, "arena");
        if (keyBytes < 1 || keyBytes > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("an AF-split key is 1.." + MAX_KEY_BYTES + " bytes, not " + keyBytes);
        }
        checkStripes(stripes);
        Luks2Hash h = hashOf(hash);
        long needed = (long) keyBytes * stripes;
        if (material.byteSize() < needed) {
            throw new IllegalArgumentException("AF material of " + keyBytes + "-byte keys in " + stripes
                    + " stripes is " + needed + " bytes, not " + material.byteSize());
        }
        byte[] block = new byte[keyBytes];
        byte[] scratch = new byte[h.length];
        try {
            MessageDigest md = h.newDigest();
            for (int i = 0; i < stripes - 1; i++) {
                xorInto(block, material, (long) i * keyBytes);
                diffuse(md, block, scratch);
            }
            xorInto(block, material, (long) (stripes - 1) * keyBytes);
            MemorySegment key = arena.allocate(keyBytes, 64);
            MemorySegment.copy(block, 0, key, ValueLayout.JAVA_BYTE, 0, keyBytes);
            return key;
        } finally {
            Arrays.fill(block, (byte) 0);
            Arrays.fill(scratch, (byte) 0);
        }
    }

    /** The bytes split material takes: {@code keyBytes × stripes}. */
    public static long materialBytes(int keyBytes, int stripes) {
        return (long) keyBytes * stripes;
    }

    private static int checkKey(MemorySegment key) {
        Objects.requireNonNull(key, "key");
        long n = key.byteSize();
        if (n < 1 || n > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("an AF-split key is 1.." + MAX_KEY_BYTES + " bytes, not " + n);
        }
        return (int) n;
    }

    private static void checkStripes(int stripes) {
        if (stripes < 1 || stripes > LUKS_STRIPES) {
            throw new IllegalArgumentException("AF stripes must be 1.." + LUKS_STRIPES + ", not " + stripes);
        }
    }

    private static Luks2Hash hashOf(String hash) {
        Objects.requireNonNull(hash, "hash");
        try {
            return Luks2Hash.of(hash, "AF splitter");
        } catch (Luks2FormatException e) {
            throw new IllegalArgumentException(e.getMessage());
        }
    }

    private static void xorInto(byte[] block, MemorySegment material, long offset) {
        for (int j = 0; j < block.length; j++) {
            block[j] ^= material.get(ValueLayout.JAVA_BYTE, offset + j);
        }
    }

    /** The diffusion function H, in place; {@code scratch} holds at least one digest. */
    private static void diffuse(MessageDigest md, byte[] block, byte[] scratch) {
        int size = md.getDigestLength();
        int pieces = block.length / size;
        int tail = block.length % size;
        try {
            for (int j = 0; j <= pieces; j++) {
                int length = j < pieces ? size : tail;
                if (length == 0) {
                    break;
                }
                int offset = j * size;
                md.update((byte) (j >>> 24));
                md.update((byte) (j >>> 16));
                md.update((byte) (j >>> 8));
                md.update((byte) j);
                md.update(block, offset, length);
                md.digest(scratch, 0, size);
                System.arraycopy(scratch, 0, block, offset, length);
            }
        } catch (DigestException e) {
            throw new AssertionError(e);
        }
    }
}
