package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import io.sectorcrypt.crypto.CryptoPolicy;
import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.volume.luks2.Luks2BinaryHeader;
import io.sectorcrypt.volume.luks2.Luks2FormatException;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 (SIGKILL: no shutdown hook, no finally block) of a process using a volume, at
 * random moments: during a burst of writes, every write acknowledged by a completed
 * {@link EncryptedVolume#flush()} reads back after reopening, and nothing else changed
 * but what the batch in flight wrote; during repeated rotations of the customer key (each
 * two header updates: the new wrapped copy beside the old, then alone), the header reopens
 * at the last acknowledged version or one of the two updates after it, both copies valid
 * or one stale by exactly one update, and the DEK and the data are the same; during adopts of
 * cryptsetup disks, every acknowledged adopt is durable, the disk in flight still opens in
 * cryptsetup with its passphrase and either opens through the key manager or is adopted
 * again, its plaintext intact, and the disks not reached are untouched.
 *
 * <p>The seed (printed) makes the records and kill delays reproducible:
 * {@code -Dsectorcrypt.crash.seed=N}. Default execution only: what a kill tests is the
 * order of writes and syncs, which the crypto policy does not change, and the child JVMs
 * make it one of the longer tests.
 */
@Tag("default-only")
class VolumeCrashTest {
    static final long SEED = Long.getLong("sectorcrypt.crash.seed", System.nanoTime());
    static final int ROUNDS = 5;
    /** Disks one adopt child works through, and the kills (a child JVM each, about 3 s). */
    static final int ADOPT_DISKS = 8;
    static final int ADOPT_ROUNDS = 6;

    @TempDir
    Path dir;

    @Test
    void writesAcknowledgedByAFlushSurviveKill9() throws Exception {
        System.out.println("VolumeCrashTest seed " + SEED);
        Path disk = dir.resolve(VolumeCrashChild.DISK);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.volumes.create(disk, VolumeSpec.of(VolumeCrashChild.VOLUME_SIZE, "plat")).close();
        }
        long seqid = header(disk).binary().seqid();
        Random kills = new Random(SEED);
        byte[] before = new byte[(int) VolumeCrashChild.VOLUME_SIZE];
        for (int round = 0; round < ROUNDS; round++) {
            long seed = SEED * 31 + round;
            List<String> said = runAndKill("writes", seed, 50 + kills.nextInt(600));
            int acked = lastNumber(said, "acked ");
            // What the child wrote: the acknowledged records, then the batch it was writing.
            VolumeCrashChild.Workload w = new VolumeCrashChild.Workload(seed);
            byte[] expected = before.clone();
            List<VolumeCrashChild.Record> inFlight = new ArrayList<>();
            for (int done = 0; done <= acked;) {
                int batch = w.batch();
                for (int i = 0; i < batch; i++) {
                    VolumeCrashChild.Record rec = w.record();
                    if (done < acked) {
                        System.arraycopy(rec.data(), 0, expected, (int) rec.offset(), rec.data().length);
                    } else {
                        inFlight.add(rec);
                    }
                }
                done += batch;
            }
            byte[] actual = new byte[expected.length];
            try (VolumeFixture f = new VolumeFixture(dir); EncryptedVolume v = f.volumes.open(disk)) {
                v.read(0, actual, 0, actual.length);
            }
            for (int b = 0; b < actual.length; b++) {
                if (actual[b] != expected[b] && !writtenInFlight(inFlight, b, actual[b])) {
                    fail("round " + round + " (seed " + SEED + "): byte " + b + " reads " + actual[b] + ", not "
                            + expected[b] + ", after " + acked + " acknowledged records; in flight: "
                            + inFlight.stream().map(VolumeCrashChild.Record::seq).toList());
                }
            }
            assertArrayEquals(new long[] {seqid, seqid}, copySeqids(disk), "writes do not touch the header");
            before = actual;
            System.out.println("  writes round " + round + ": killed after " + acked + " acknowledged records, "
                    + inFlight.size() + " in flight");
        }
    }

    private static boolean writtenInFlight(List<VolumeCrashChild.Record> inFlight, int b, byte value) {
        for (VolumeCrashChild.Record rec : inFlight) {
            if (b >= rec.offset() && b < rec.offset() + rec.data().length && rec.data()[(int) (b - rec.offset())]
                    == value) {
                return true;
            }
        }
        return false;
    }

    @Test
    void aRotationKilledAnywhereLeavesTheHeaderAtAnAcknowledgedVersionOrOneOfTheTwoAfter() throws Exception {
        System.out.println("VolumeCrashTest seed " + SEED);
        Path disk = dir.resolve(VolumeCrashChild.DISK);
        byte[] pattern = new byte[1 << 20];
        new Random(SEED).nextBytes(pattern);
        byte[] dek;
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.vault.newVersion("customer"); // two versions to rotate between from the start
            try (EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(VolumeCrashChild.VOLUME_SIZE, "cust"))) {
                v.write(12345, pattern, 0, pattern.length);
                v.flush();
            }
            dek = f.dek(disk, null);
        }
        Random kills = new Random(SEED);
        int[] outcomes = new int[3];
        for (int round = 0; round < ROUNDS; round++) {
            List<String> said = runAndKill("rotations", SEED * 31 + round, 100 + kills.nextInt(1000));
            long acked = lastNumber(said, "seqid ");
            long[] copies = copySeqids(disk);
            long newest = Math.max(copies[0], copies[1]);
            assertTrue(newest >= acked && newest <= acked + 2, "round " + round + " (seed " + SEED + "): the header"
                    + " is at seqid " + newest + "; the last acknowledged rotation left " + acked);
            assertTrue(copies[0] == copies[1] || copies[0] == copies[1] + 1 || copies[0] == -1 || copies[1] == -1,
                    "the copies are at seqids " + Arrays.toString(copies) + ": not one update apart");
            outcomes[(int) (newest - acked)]++;
            DiskKeys keys = header(disk).metadata().envelope().orElseThrow();
            assertEquals(newest - acked == 1 ? 2 : 1, keys.layers().getFirst().copies().size(),
                    "between a rotation's two updates (only there) the token holds the new copy beside the old");
            try (VolumeFixture f = new VolumeFixture(dir)) {
                assertArrayEquals(dek, f.dek(disk, null), "the DEK survives");
                try (EncryptedVolume v = f.volumes.open(disk)) {
                    byte[] back = new byte[pattern.length];
                    v.read(12345, back, 0, back.length);
                    assertArrayEquals(pattern, back, "the data survives");
                    f.volumes.keys().maintain(); // completes a rotation the kill interrupted
                }
                assertTrue(f.vault.auditLog().verify().intact(), "the vault's audit log survives the kill too");
            }
            Luks2Header after = header(disk);
            assertEquals(1, after.metadata().envelope().orElseThrow().layers().getFirst().copies().size());
            assertTrue(!after.needsRepair(), "a writable open repairs the header");
            System.out.println("  rotations round " + round + ": killed at seqid " + newest + ", last acknowledged "
                    + acked + ", copies " + Arrays.toString(copies));
        }
        System.out.println("  kills: at an acknowledged version " + outcomes[0] + ", between a rotation's updates "
                + outcomes[1] + ", after both updates " + outcomes[2]);
    }

    @Test
    void anAdoptKilledAnywhereLeavesADiskCryptsetupOpensThatIsAdoptedOrCanBeAdoptedAgain() throws Exception {
        System.out.println("VolumeCrashTest seed " + SEED);
        Path pristine = dir.resolve("pristine.img");
        byte[] plain = new byte[1 << 20];
        new Random(SEED).nextBytes(plain);
        AdoptTest.encrypt(dir, pristine, plain, "pbkdf2", 4096, null);
        Path key = dir.resolve("pass.key");
        Random kills = new Random(SEED);
        int[] outcomes = new int[3];
        long window = 0;
        for (int round = -1; round < ADOPT_ROUNDS; round++) {
            for (int i = 0; i < ADOPT_DISKS; i++) {
                Files.copy(pristine, VolumeCrashChild.adoptDisk(dir, i), StandardCopyOption.REPLACE_EXISTING);
            }
            // Round -1 measures how long a child takes for all its disks (machines differ a lot):
            // the kills then fall anywhere in that time, inside an adopt or between two.
            List<String> said = round < 0 ? runAndKill("adopt", ADOPT_DISKS, -1)
                    : runAndKill("adopt", ADOPT_DISKS, kills.nextLong(window));
            boolean done = said.stream().anyMatch(l -> l.startsWith("done "));
            if (round < 0) {
                window = Math.max(1, lastNumber(said, "done "));
            }
            int acked = lastNumber(said, "adopted ");
            assertTrue(acked >= 1, "the child says it started after its first adopt");
            try (VolumeFixture f = new VolumeFixture(dir)) {
                for (int i = 0; i < ADOPT_DISKS; i++) {
                    Path disk = VolumeCrashChild.adoptDisk(dir, i);
                    String where = "round " + round + " (seed " + SEED + "), disk " + i + " (" + acked
                            + " acknowledged)";
                    boolean adopted = header(disk).metadata().envelope().isPresent();
                    if (i < acked) {
                        assertTrue(adopted, where + ": an acknowledged adopt is durable");
                    } else if (i > acked) {
                        assertEquals(-1, Files.mismatch(pristine, disk), where + ": a disk not reached is untouched");
                    }
                    if (i != acked && i != 0) {
                        continue; // the disk in flight, and one acknowledged, are opened below
                    }
                    VolumeFixture.Result test = VolumeFixture.cryptsetup(dir, "open", "--test-passphrase",
                            "--key-file", key.toString(), disk.toString());
                    assertEquals(0, test.exit(), where + ": cryptsetup opens it with the passphrase: " + test.err());
                    long[] copies = copySeqids(disk);
                    if (i == acked) {
                        outcomes[!adopted ? 0 : copies[0] == copies[1] ? 2 : 1]++;
                    }
                    try (EncryptedVolume v = adopted ? f.volumes.open(disk)
                            : f.volumes.adopt(disk, null, "plat", AdoptTest.PASSPHRASE.toCharArray())) {
                        byte[] back = new byte[plain.length];
                        v.read(0, back, 0, back.length);
                        assertArrayEquals(plain, back, where + ": the plaintext is intact (copies at seqids "
                                + Arrays.toString(copies) + ")");
                    }
                    assertTrue(!header(disk).needsRepair(), where + ": both copies agree after a writable open");
                }
            }
            System.out.println("  adopt round " + round + ": killed after " + acked + " acknowledged adopts"
                    + (done ? " (all done, in " + window + " ms)" : ""));
        }
        System.out.println("  kills while adopting: before the header update " + outcomes[0] + ", between its two"
                + " copies " + outcomes[1] + ", after both " + outcomes[2]);
    }

    /**
     * kill -9 while a process writes and takes snapshots: the disk reopens with every record
     * a finished snapshot holds; every snapshot the catalogue lists restores (from its chain)
     * to exactly the records it acknowledged; and the changed-block map kept every write, so
     * an incremental snapshot taken after reopening still restores to the disk as it is.
     */
    @Test
    void aSnapshotKilledAnywhereLeavesTheDiskAndEveryListedSnapshotIntact() throws Exception {
        System.out.println("VolumeCrashTest seed " + SEED);
        Path disk = dir.resolve(VolumeCrashChild.DISK);
        try (VolumeFixture f = new VolumeFixture(dir)) {
            f.volumes.create(disk, VolumeSpec.of(VolumeCrashChild.VOLUME_SIZE, "plat")).close();
        }
        Random kills = new Random(SEED);
        byte[] before = new byte[(int) VolumeCrashChild.VOLUME_SIZE];
        java.util.Map<Integer, byte[]> points = new java.util.HashMap<>();
        for (int round = 0; round < ROUNDS; round++) {
            long seed = SEED * 37 + round;
            List<String> said = runAndKill("snapshots", seed, 200 + kills.nextInt(1500));
            VolumeCrashChild.Workload w = new VolumeCrashChild.Workload(seed);
            byte[] model = before.clone();
            int applied = 0;
            int lastAcked = 0;
            for (String line : said) {
                if (!line.startsWith("snapshot ")) {
                    continue;
                }
                String[] p = line.split(" ");
                int acked = Integer.parseInt(p[3]);
                while (applied < acked) {
                    for (int i = w.batch(); i > 0; i--, applied++) {
                        VolumeCrashChild.Record rec = w.record();
                        System.arraycopy(rec.data(), 0, model, (int) rec.offset(), rec.data().length);
                    }
                }
                points.put(Integer.parseInt(p[1]), model.clone());
                lastAcked = acked;
            }
            List<SnapshotInfo> listed = VolumeManager.snapshots(disk, null);
            try (VolumeFixture f = new VolumeFixture(dir)) {
                byte[] actual = new byte[model.length];
                try (EncryptedVolume v = f.volumes.open(disk)) {
                    v.read(0, actual, 0, actual.length);
                }
                // The batch after the last snapshot was in flight: only its records may differ.
                List<VolumeCrashChild.Record> inFlight = new ArrayList<>();
                for (int i = w.batch(); i > 0; i--) {
                    inFlight.add(w.record());
                }
                for (int b = 0; b < actual.length; b++) {
                    if (actual[b] != model[b] && !writtenInFlight(inFlight, b, actual[b])) {
                        fail("round " + round + " (seed " + SEED + "): byte " + b + " differs from the disk after "
                                + lastAcked + " records");
                    }
                }
                // The newest acknowledged snapshot, and in the last round a few of every round.
                List<Integer> check = new ArrayList<>();
                for (int i = 0; i < listed.size(); i++) {
                    if (points.containsKey(number(listed.get(i)))) {
                        check.add(i);
                    }
                }
                List<Integer> chosen = new ArrayList<>(List.of(check.get(check.size() - 1)));
                if (round == ROUNDS - 1) {
                    for (int n = 0; n < 4; n++) {
                        chosen.add(check.get(kills.nextInt(check.size())));
                    }
                }
                for (int i : chosen) {
                    try (EncryptedVolume r = f.volumes.restore(chainTo(listed, i), dir.resolve("restored"),
                            Progress.NONE)) {
                        byte[] back = new byte[actual.length];
                        r.read(0, back, 0, back.length);
                        assertArrayEquals(points.get(number(listed.get(i))), back, "round " + round + ": snapshot "
                                + listed.get(i).path() + " restores exactly");
                    }
                    Files.delete(dir.resolve("restored"));
                }
                int restored = chosen.size();
                try (EncryptedVolume v = f.volumes.open(disk)) {
                    v.snapshot(dir.resolve("after-" + round), SnapshotKind.INCREMENTAL, Progress.NONE);
                }
                List<SnapshotInfo> now = VolumeManager.snapshots(disk, null);
                try (EncryptedVolume r = f.volumes.restore(chainTo(now, now.size() - 1), dir.resolve("restored"),
                        Progress.NONE)) {
                    byte[] back = new byte[actual.length];
                    r.read(0, back, 0, back.length);
                    assertArrayEquals(actual, back, "round " + round + ": an incremental after the kill holds every"
                            + " write the killed process made");
                }
                Files.delete(dir.resolve("restored"));
                System.out.println("  snapshots round " + round + ": killed after " + lastAcked + " records, "
                        + listed.size() + " snapshots listed, " + restored + " restored and compared");
                before = actual;
            }
        }
    }

    /** K of a snapshot the child took ({@code snap-K}); -1 for the parent's. */
    private static int number(SnapshotInfo s) {
        String file = Path.of(s.path()).getFileName().toString();
        return file.startsWith("snap-") ? Integer.parseInt(file.substring(5)) : -1;
    }

    /** The chain that restores {@code list.get(last)}: the last full snapshot up to it, and what follows. */
    private static List<Path> chainTo(List<SnapshotInfo> list, int last) {
        List<Path> chain = new ArrayList<>();
        String want = list.get(last).id();
        for (int i = last; i >= 0; i--) {
            SnapshotInfo s = list.get(i);
            if (s.id().equals(want)) {
                chain.add(0, Path.of(s.path()));
                if (s.kind() == SnapshotKind.FULL) {
                    return chain;
                }
                want = s.parent();
            }
        }
        throw new AssertionError("no full snapshot under " + list.get(last));
    }

    /**
     * Starts the child, waits until it works, lets it run {@code delayMs} (negative: until it
     * acknowledges "done"), kills it, and returns its acknowledgements (complete lines only).
     */
    private List<String> runAndKill(String mode, long seed, long delayMs) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-D" + CryptoPolicy.PROPERTY + "=" + CryptoPolicy.configured().name());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), VolumeCrashChild.class.getName(), mode,
                dir.toString(), Long.toString(seed)));
        Path err = dir.resolve("child.err");
        Process child = new ProcessBuilder(cmd).redirectError(err.toFile()).start();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8))) {
            String line = out.readLine(); // blocks until the child is at work, or dead
            if (!"started".equals(line)) {
                child.destroyForcibly();
                fail("the child did not start (" + line + "): " + Files.readString(err));
            }
            if (delayMs < 0) { // until it says it is done
                Path acks = dir.resolve(VolumeCrashChild.ACKS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (!Files.readString(acks, StandardCharsets.US_ASCII).contains("done ") && child.isAlive()) {
                    assertTrue(System.nanoTime() < deadline, "the child did not finish in 60 s");
                    Thread.sleep(10);
                }
            } else {
                Thread.sleep(delayMs);
            }
            if (!child.isAlive()) {
                fail("the child died by itself: " + Files.readString(err));
            }
            child.destroyForcibly(); // SIGKILL
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "the child did not die");
        }
        String acks = Files.readString(dir.resolve(VolumeCrashChild.ACKS), StandardCharsets.US_ASCII);
        return acks.substring(0, acks.lastIndexOf('\n') + 1).lines().toList();
    }

    private static int lastNumber(List<String> lines, String prefix) {
        for (int i = lines.size() - 1; i >= 0; i--) {
            if (lines.get(i).startsWith(prefix)) {
                return Integer.parseInt(lines.get(i).substring(prefix.length()));
            }
        }
        throw new AssertionError("the child never said '" + prefix + "': " + lines);
    }

    static Luks2Header header(Path disk) throws IOException {
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ)) {
            return Luks2Header.read(ch, disk.toString(), CryptoPolicy.configured());
        }
    }

    /** The seqid of each copy (primary, secondary), -1 for a copy that is not valid on its own. */
    static long[] copySeqids(Path disk) throws IOException {
        long[] seqids = {-1, -1};
        long hdr = Luks2BinaryHeader.DEFAULT_HDR_SIZE;
        byte[] both = new byte[(int) (2 * hdr)];
        try (FileChannel ch = FileChannel.open(disk, StandardOpenOption.READ)) {
            ch.read(java.nio.ByteBuffer.wrap(both), 0);
        }
        for (int copy = 0; copy < 2; copy++) {
            byte[] whole = Arrays.copyOfRange(both, (int) (copy * hdr), (int) ((copy + 1) * hdr));
            try {
                Luks2BinaryHeader b = Luks2BinaryHeader.parse(whole, copy * hdr);
                Luks2Metadata.parse(b.verifiedJson(whole), b.hdrSize());
                seqids[copy] = b.seqid();
            } catch (Luks2FormatException e) {
                // a torn copy: the other must be valid
            }
        }
        assertTrue(seqids[0] >= 0 || seqids[1] >= 0, "neither copy is valid");
        return seqids;
    }
}
