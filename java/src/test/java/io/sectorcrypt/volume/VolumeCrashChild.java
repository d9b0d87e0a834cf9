package io.sectorcrypt.volume;

import io.sectorcrypt.keys.DiskEncryptionSet;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.zip.CRC32C;

/**
 * Child JVM of {@link VolumeCrashTest}, killed (SIGKILL) at a random moment by its parent.
 * {@code writes <dir> <seed>}: writes batches of {@link Workload} records to the test volume,
 * flushes after each batch and then acknowledges {@code acked N} (records 0..N-1 are
 * durable). {@code rotations <dir> <seed>}: re-wraps the volume's DEK again and again (each
 * rotation two header updates) and acknowledges {@code seqid S} after each, S being the
 * header's seqid. {@code snapshots <dir> <seed>}: writes a batch, then takes snapshot
 * {@code snap-K} (every fourth full, the others incremental) and acknowledges
 * {@code snapshot K after N}: the snapshot holds records 0..N-1. Acknowledgements are appended to {@value #ACKS}, one write each: unlike a
 * pipe, the page cache keeps all of them when the process is killed. The first also goes
 * to stdout, to say the child is at work. {@code adopt <dir> <n>}: adopts copies 0..n-1 of a
 * cryptsetup disk in turn and acknowledges {@code adopted N} after each.
 */
public final class VolumeCrashChild {
    static final String DISK = "disk.img";
    static final long VOLUME_SIZE = 16L << 20;
    static final String ACKS = "acks.txt";

    private VolumeCrashChild() {
    }

    /**
     * The records and batches one run writes, the same for child and parent: record
     * {@code i} is 16 bytes to 300 KiB at a random offset (some large enough to go through
     * the sector queue), holding its sequence number, length, random payload and a CRC-32C.
     */
    static final class Workload {
        private final Random r;
        private int next;

        Workload(long seed) {
            this.r = new Random(seed);
        }

        /** How many records the next batch writes before its flush. */
        int batch() {
            return 1 + r.nextInt(8);
        }

        Record record() {
            int len = 16 + r.nextInt(r.nextInt(10) == 0 ? 300 << 10 : 20_000);
            long offset = (long) (r.nextDouble() * (VOLUME_SIZE - len));
            byte[] data = new byte[len];
            r.nextBytes(data);
            ByteBuffer b = ByteBuffer.wrap(data);
            b.putLong(0, next).putInt(8, len);
            CRC32C crc = new CRC32C();
            crc.update(data, 0, len - 4);
            b.putInt(len - 4, (int) crc.getValue());
            return new Record(next++, offset, data);
        }
    }

    record Record(int seq, long offset, byte[] data) {
    }

    /** The disk {@code i} of an adopt run: a copy of one cryptsetup disk. */
    static Path adoptDisk(Path dir, int i) {
        return dir.resolve("adopt-" + i + ".img");
    }

    /**
     * Adopts disks 0..n-1 in turn, acknowledging {@code adopted N} once disks 0..N-1 are done,
     * saying "started" after the first, and at the end {@code done T}: T milliseconds since.
     */
    private static void adopt(Path dir, int n) throws Exception {
        try (VolumeFixture f = new VolumeFixture(dir);
             FileChannel acks = FileChannel.open(dir.resolve(ACKS), StandardOpenOption.CREATE,
                     StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            ack(acks, "adopted 0");
            long started = 0;
            for (int i = 0; i < n; i++) {
                f.volumes.adopt(adoptDisk(dir, i), null, "plat", AdoptTest.PASSPHRASE.toCharArray()).close();
                ack(acks, "adopted " + (i + 1));
                if (i == 0) {
                    // The first adopt loads and compiles the code, taking longer than the rest together:
                    // the kills fall after it, among adopts that run at their usual speed.
                    System.out.println("started");
                    System.out.flush();
                    started = System.nanoTime();
                }
            }
            ack(acks, "done " + (System.nanoTime() - started) / 1_000_000); // ms since "started"
            Thread.sleep(Long.MAX_VALUE); // the parent kills every child
        }
    }

    private static void ack(FileChannel acks, String line) throws java.io.IOException {
        ByteBuffer b = ByteBuffer.wrap((line + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        while (b.hasRemaining()) {
            acks.write(b);
        }
    }

    public static void main(String[] args) throws Exception {
        String mode = args[0];
        Path dir = Path.of(args[1]);
        long seed = Long.parseLong(args[2]);
        if (mode.equals("adopt")) {
            adopt(dir, (int) seed);
            return;
        }
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.open(dir.resolve(DISK));
             FileChannel acks = FileChannel.open(dir.resolve(ACKS), StandardOpenOption.CREATE,
                     StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
            if (mode.equals("writes")) {
                Workload w = new Workload(seed);
                ack(acks, "acked 0");
                System.out.println("started");
                System.out.flush();
                for (int acked = 0;;) {
                    int batch = w.batch();
                    for (int i = 0; i < batch; i++) {
                        Record rec = w.record();
                        v.write(rec.offset(), rec.data(), 0, rec.data().length);
                    }
                    v.flush();
                    acked += batch;
                    ack(acks, "acked " + acked);
                }
            }
            if (mode.equals("snapshots")) {
                Workload w = new Workload(seed);
                int taken = java.util.Objects.requireNonNull(dir.toFile().list((d, n) -> n.startsWith("snap-")))
                        .length;
                ack(acks, "acked 0");
                System.out.println("started");
                System.out.flush();
                for (int acked = 0, k = taken;; k++) {
                    int batch = w.batch();
                    for (int i = 0; i < batch; i++) {
                        Record rec = w.record();
                        v.write(rec.offset(), rec.data(), 0, rec.data().length);
                    }
                    acked += batch;
                    v.snapshot(dir.resolve("snap-" + k), k % 4 == 0 ? SnapshotKind.FULL : SnapshotKind.INCREMENTAL,
                            Progress.NONE);
                    ack(acks, "snapshot " + k + " after " + acked);
                }
            }
            Random r = new Random(seed);
            ack(acks, "seqid " + v.info().seqid());
            System.out.println("started");
            System.out.flush();
            for (int k = 0;; k++) {
                int versions = f.vault.describe(VolumeFixture.IDENTITY, "customer").versions().size();
                if (k % 8 == 7 && versions < 6) {
                    // A new version and a set that follows the latest: maintenance re-wraps.
                    f.vault.newVersion("customer");
                    f.volumes.keys().putSet(DiskEncryptionSet.customer("cust", VolumeFixture.VAULT_ID, "customer",
                            VolumeFixture.IDENTITY));
                    f.volumes.keys().maintain();
                } else {
                    int current = v.info().layers().getFirst().wrapped().getFirst().version();
                    int target = 1 + r.nextInt(versions);
                    f.volumes.keys().rotate("cust", target == current ? 1 + target % versions : target);
                }
                ack(acks, "seqid " + v.info().seqid());
            }
        }
    }
}
