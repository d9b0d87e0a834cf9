package io.sectorcrypt.bench;

import io.sectorcrypt.volume.EncryptedVolume;
import io.sectorcrypt.volume.Progress;
import io.sectorcrypt.volume.SnapshotInfo;
import io.sectorcrypt.volume.SnapshotKind;
import io.sectorcrypt.volume.VolumeSpec;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;

/**
 * Snapshot cost: a full snapshot of a volume whose every chunk holds data, against an
 * incremental one after {@code PERCENT} % of its chunks were written (one 4 KiB write in each,
 * at random), and the restore of that two-snapshot chain into a new disk. Each timing ends
 * with the new file synced and published, as the API returns. A first round warms the JIT up
 * and is printed but not counted: a long-running storage server takes its snapshots warm;
 * a one-off CLI call pays that first round once. Used by {@code ci/bench-snapshot.sh}.
 *
 * <p>Usage: {@code SnapshotBench DIR [SIZE_MIB] [PERCENT] [ROUNDS]} (defaults 1024, 1, 5):
 * the vault and the volume live in a fresh directory under DIR, deleted afterwards. Prints
 * each round's seconds, then the medians and the ratio incremental / full (the issue's
 * target: at most 0.05).
 */
public final class SnapshotBench {
    private SnapshotBench() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 1 || args.length > 4) {
            System.err.println("usage: SnapshotBench DIR [SIZE_MIB] [PERCENT] [ROUNDS]");
            System.exit(2);
        }
        Path parent = Path.of(args[0]);
        long size = (args.length > 1 ? Long.parseLong(args[1]) : 1024) << 20;
        double percent = args.length > 2 ? Double.parseDouble(args[2]) : 1;
        int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 5;
        int chunk = SnapshotInfo.CHUNK_BYTES;
        long chunks = size / chunk;
        int changed = (int) Math.max(1, Math.round(chunks * percent / 100));
        rounds++; // round 0 is the warm-up
        double[] full = new double[rounds];
        double[] incremental = new double[rounds];
        double[] restore = new double[rounds];
        Random rnd = new Random(42);
        try (BenchVolumes b = new BenchVolumes(BenchVolumes.tempDir(parent, "sectorcrypt-snapshot-bench"), true);
             EncryptedVolume v = b.volumes.create(b.dir.resolve("disk.img"), VolumeSpec.of(size, BenchVolumes.SET))) {
            byte[] data = new byte[1 << 20];
            rnd.nextBytes(data);
            for (long off = 0; off < size; off += data.length) {
                v.write(off, data, 0, (int) Math.min(data.length, size - off));
            }
            v.flush();
            System.out.printf(Locale.ROOT, "snapshot-bench: %d MiB volume, every %d KiB chunk written; %d of %d chunks"
                    + " (%.2f %%) changed before each incremental%n", size >> 20, chunk >> 10, changed, chunks, percent);
            for (int r = 0; r < rounds; r++) {
                Path f = b.dir.resolve("full-" + r);
                Path i = b.dir.resolve("incr-" + r);
                Path d = b.dir.resolve("restored-" + r);
                long t0 = System.nanoTime();
                v.snapshot(f, SnapshotKind.FULL, Progress.NONE);
                full[r] = (System.nanoTime() - t0) / 1e9;
                List<Long> picked = new ArrayList<>();
                for (long c : rnd.longs(0, chunks).distinct().limit(changed).toArray()) {
                    picked.add(c);
                    v.write(c * chunk + rnd.nextInt(chunk - 4096), data, rnd.nextInt(data.length - 4096), 4096);
                }
                v.flush();
                t0 = System.nanoTime();
                SnapshotInfo s = v.snapshot(i, SnapshotKind.INCREMENTAL, Progress.NONE);
                incremental[r] = (System.nanoTime() - t0) / 1e9;
                if (s.storedChunks() != picked.size()) {
                    throw new IllegalStateException("the incremental holds " + s.storedChunks() + " chunks, not "
                            + picked.size());
                }
                t0 = System.nanoTime();
                b.volumes.restore(List.of(f, i), d, Progress.NONE).close();
                restore[r] = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, (r == 0 ? "warm-up" : "round " + r) + ": full %.3f s (%d MiB file), incremental %.4f s (%.1f MiB"
                        + " file), restore of the chain %.3f s%n", full[r], Files.size(f) >> 20,
                        incremental[r], Files.size(i) / 1048576.0, restore[r]);
                Files.delete(f);
                Files.delete(i);
                Files.delete(d);
            }
        }
        full = Arrays.copyOfRange(full, 1, rounds);
        incremental = Arrays.copyOfRange(incremental, 1, rounds);
        restore = Arrays.copyOfRange(restore, 1, rounds);
        double mf = median(full);
        double mi = median(incremental);
        System.out.printf(Locale.ROOT, "median of %d rounds after the warm-up: full %.3f s, incremental %.4f s, restore %.3f s; incremental / full ="
                + " %.4f (target: at most 0.05)%n", rounds - 1, mf, mi, median(restore), mi / mf);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }
}
