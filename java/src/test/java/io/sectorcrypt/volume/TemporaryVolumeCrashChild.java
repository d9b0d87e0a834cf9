package io.sectorcrypt.volume;

import java.nio.file.Path;
import java.util.Random;

/**
 * Child JVM of {@link TemporaryVolumeCrashTest}, killed (SIGKILL) by its parent.
 * {@code <dir> <sector size> <seed>}: opens the two normal volumes {@value #A} and
 * {@value #B} (so its key manager holds their DEKs, as a host would), creates the temporary
 * disk {@value #TEMPORARY} of {@value #SIZE} bytes, writes {@link TemporaryDiskForensics#pattern}
 * over all of it, flushes and prints {@code READY}; then rewrites the same plaintext at
 * random offsets and lengths, flushing now and then, until it is killed.
 */
public final class TemporaryVolumeCrashChild {
    static final String A = "a.img";
    static final String B = "b.img";
    static final String TEMPORARY = "temp.img";
    static final int SIZE = 4 << 20;

    private TemporaryVolumeCrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        int sectorSize = Integer.parseInt(args[1]);
        Random r = new Random(Long.parseLong(args[2]));
        byte[] pattern = TemporaryDiskForensics.pattern(SIZE);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume a = f.volumes.open(dir.resolve(A));
             EncryptedVolume b = f.volumes.open(dir.resolve(B));
             EncryptedVolume v = f.volumes.createTemporary(dir.resolve(TEMPORARY), SIZE, sectorSize)) {
            v.write(0, pattern, 0, SIZE);
            v.flush();
            System.out.println("READY");
            System.out.flush();
            for (int i = 0;; i++) {
                int len = 1 + r.nextInt(i % 16 == 0 ? 1 << 20 : 20_000);
                int off = r.nextInt(SIZE - len);
                v.write(off, pattern, off, len);
                if (i % 8 == 0) {
                    v.flush();
                }
            }
        }
    }
}
