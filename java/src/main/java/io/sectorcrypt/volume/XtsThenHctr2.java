package io.sectorcrypt.volume;

import io.sectorcrypt.hctr2.Hctr2;
import io.sectorcrypt.xts.Checks;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.SectorTransform;
import java.lang.foreign.MemorySegment;

/**
 * The two layers of a DOUBLE disk: a stored sector is HCTR2(outer key, XTS(inner key,
 * plaintext)), both with dm-crypt's plain64 IV of that sector (IVs in 512-byte units), so
 * that taking the outer layer off leaves exactly the data area a single-layer
 * {@code aes-xts-plain64} disk with the inner key would hold.
 *
 * <p>A run is done in chunks of {@value #CHUNK_BYTES} bytes, both layers over one chunk
 * before the next, so that the second pass finds the sectors still in cache. The whole run's
 * arguments are checked before a byte is written.
 */
final class XtsThenHctr2 implements SectorTransform {
    static final int CHUNK_BYTES = 64 * 1024;

    private final SectorCipher inner;
    private final Hctr2 outer;

    XtsThenHctr2(SectorCipher inner, Hctr2 outer) {
        if (inner.ivConvention() != outer.ivConvention()) {
            throw new IllegalArgumentException("both layers must count IVs alike, not " + inner.ivConvention() + " and "
                    + outer.ivConvention());
        }
        this.inner = inner;
        this.outer = outer;
    }

    @Override
    public IvConvention ivConvention() {
        return inner.ivConvention();
    }

    @Override
    public void encrypt(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        run(true, src, dst, firstIv, sectorSize);
    }

    @Override
    public void decrypt(MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        run(false, src, dst, firstIv, sectorSize);
    }

    private void run(boolean encrypt, MemorySegment src, MemorySegment dst, long firstIv, int sectorSize) {
        Checks.output(src, dst);
        if (sectorSize <= 0 || src.byteSize() % sectorSize != 0) {
            throw new IllegalArgumentException("src is " + src.byteSize() + " bytes, not whole " + sectorSize
                    + "-byte sectors");
        }
        long count = src.byteSize() / sectorSize;
        ivConvention().checkRun(firstIv, count, sectorSize);
        long chunk = Math.max(1, CHUNK_BYTES / sectorSize) * (long) sectorSize;
        for (long done = 0; done < src.byteSize(); done += chunk) {
            long n = Math.min(chunk, src.byteSize() - done);
            MemorySegment in = src.asSlice(done, n);
            MemorySegment out = dst.asSlice(done, n);
            long iv = ivConvention().ivAfter(firstIv, done / sectorSize, sectorSize);
            if (encrypt) {
                inner.encrypt(in, out, iv, sectorSize);
                outer.encryptSectors(out, out, iv, sectorSize);
            } else {
                outer.decryptSectors(in, out, iv, sectorSize);
                inner.decrypt(out, out, iv, sectorSize);
            }
        }
    }
}
