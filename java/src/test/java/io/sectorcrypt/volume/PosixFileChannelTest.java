package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.NonWritableChannelException;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The volume's file channel: pread/pwrite/fcntl through FFM, immune to interrupts, its lock its own. */
class PosixFileChannelTest {
    @TempDir
    Path dir;

    @Test
    void opensOurChannelOnLinux() throws IOException {
        try (FileChannel ch = PosixFileChannel.openFile(dir.resolve("f"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertInstanceOf(PosixFileChannel.class, ch, "libc is linkable on Linux with native access");
        }
    }

    @Test
    void anInterruptedThreadReadsAndWritesAndKeepsItsInterrupt() throws IOException {
        try (FileChannel ch = PosixFileChannel.openFile(dir.resolve("f"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Thread.currentThread().interrupt(); // the JDK's channel closes itself on the next call
            try {
                ch.write(ByteBuffer.allocateDirect(4096).put(0, (byte) 7), 8192);
                ch.force(false);
                ByteBuffer back = ByteBuffer.allocateDirect(4096);
                assertEquals(4096, ch.read(back, 8192));
                assertEquals(7, back.get(0));
                assertTrue(ch.isOpen());
            } finally {
                assertTrue(Thread.interrupted(), "the interrupt is left for the caller");
            }
        }
    }

    @Test
    void heapAndDirectBuffersRoundTripAtAnyPositionAndSizeFollows() throws IOException {
        byte[] data = new byte[(3 << 20) + 123]; // more than the heap path's bounce buffer at once
        new Random(1).nextBytes(data);
        try (FileChannel ch = PosixFileChannel.openFile(dir.resolve("f"), StandardOpenOption.CREATE_NEW,
                StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer heap = ByteBuffer.wrap(data);
            while (heap.hasRemaining()) {
                ch.write(heap, 5 + heap.position());
            }
            assertEquals(5 + data.length, ch.size());
            ByteBuffer direct = ByteBuffer.allocateDirect(data.length);
            while (direct.hasRemaining()) {
                assertTrue(ch.read(direct, 5 + direct.position()) > 0);
            }
            byte[] viaDirect = new byte[data.length];
            direct.flip().get(viaDirect);
            assertArrayEquals(data, viaDirect);
            ByteBuffer h = ByteBuffer.allocate(100);
            assertEquals(-1, ch.read(h, ch.size()), "at the end of the file");
            ch.position(5);
            assertEquals(100, ch.read(h));
            assertEquals(105, ch.position());
            ch.truncate(50);
            assertEquals(50, ch.size());
            assertEquals(50, ch.position());
        }
        assertEquals(50, Files.size(dir.resolve("f")));
    }

    @Test
    void errorsNameTheFileAndTheOsReason() throws IOException {
        Path missing = dir.resolve("missing");
        NoSuchFileException e = assertThrows(NoSuchFileException.class,
                () -> PosixFileChannel.openFile(missing, StandardOpenOption.READ));
        assertTrue(e.getMessage().contains(missing.toString()) && e.getMessage().contains("No such file"),
                e.getMessage());
        Files.write(dir.resolve("there"), new byte[1]);
        assertThrows(FileAlreadyExistsException.class, () -> PosixFileChannel.openFile(dir.resolve("there"),
                StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE));
        try (FileChannel ro = PosixFileChannel.openFile(dir.resolve("there"), StandardOpenOption.READ)) {
            assertThrows(NonWritableChannelException.class, () -> ro.write(ByteBuffer.allocate(1), 0));
            assertThrows(NonWritableChannelException.class, () -> ro.tryLock(0, Long.MAX_VALUE, false));
            ro.close();
            assertThrows(ClosedChannelException.class, () -> ro.read(ByteBuffer.allocate(1), 0));
        }
    }

    /**
     * The reason for OFD locks: the JDK's FileChannel lock is a classic POSIX record lock, which
     * the kernel drops when the process closes any descriptor of the file. Here another process
     * still finds the file locked after this one opened and closed a second channel on it.
     */
    @Test
    void theLockOutlivesAnotherDescriptorOfTheFileAndBindsOtherProcesses() throws Exception {
        Path f = dir.resolve("f");
        try (FileChannel ch = PosixFileChannel.openFile(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            FileLock lock = ch.tryLock(0, Long.MAX_VALUE, false);
            assertNotNull(lock);
            assertThrows(OverlappingFileLockException.class, () -> ch.tryLock(0, Long.MAX_VALUE, true));
            try (FileChannel other = PosixFileChannel.openFile(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertThrows(OverlappingFileLockException.class, () -> other.tryLock(0, Long.MAX_VALUE, false),
                        "one lock per file per process");
            }
            FileChannel.open(f, StandardOpenOption.READ).close();
            assertFalse(otherProcessCanLock(f), "another process must still find it locked");
            lock.release();
            assertFalse(lock.isValid());
            assertTrue(otherProcessCanLock(f));
            FileLock again = ch.tryLock(0, Long.MAX_VALUE, false);
            assertNotNull(again, "released, it can be taken again");
        }
        try (FileChannel ch = PosixFileChannel.openFile(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertNotNull(ch.tryLock(0, Long.MAX_VALUE, false), "closing the channel released its lock");
        }
    }

    @Test
    void aLockHeldByAnotherProcessIsRefusedWithNull() throws Exception {
        Path f = dir.resolve("f");
        Files.write(f, new byte[1]);
        Process holder = holdLock(f);
        try {
            try (FileChannel ch = PosixFileChannel.openFile(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                assertNull(ch.tryLock(0, Long.MAX_VALUE, false));
                assertNull(ch.tryLock(0, Long.MAX_VALUE, true), "a shared lock is refused too");
                holder.destroy();
                holder.waitFor();
                assertNotNull(ch.tryLock(0, Long.MAX_VALUE, true), "and free again once the holder is gone");
            }
        } finally {
            holder.destroyForcibly();
        }
    }

    @Test
    void anInterruptedWriterLeavesTheVolumeUsable() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] data = new byte[64 << 10];
        new Random(2).nextBytes(data);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
            Thread.currentThread().interrupt(); // e.g. a server's shutdownNow reaching a worker mid-request
            try {
                v.write(4096, data, 0, data.length);
                v.flush();
            } finally {
                assertTrue(Thread.interrupted());
            }
            byte[] back = new byte[data.length];
            v.read(4096, back, 0, back.length);
            assertArrayEquals(data, back);
        }
    }

    @Test
    void aRefusedSecondOpenLeavesTheVolumeLockedForOtherProcesses() throws Exception {
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
            assertFalse(otherProcessCanLock(disk));
            assertThrows(VolumeInUseException.class, () -> f.volumes.open(disk));
            VolumeManager.inspect(disk, null);
            assertFalse(otherProcessCanLock(disk), "the failed open and the inspect closed descriptors of the file");
        }
        assertTrue(otherProcessCanLock(disk));
    }

    @Test
    void aPunchedHoleReadsAsZerosAndGivesItsBlocksBack() throws Exception {
        Path f = dir.resolve("f");
        byte[] data = new byte[1 << 20];
        new Random(3).nextBytes(data);
        try (FileChannel ch = PosixFileChannel.openFile(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE)) {
            ByteBuffer b = ByteBuffer.wrap(data);
            while (b.hasRemaining()) {
                ch.write(b, b.position());
            }
            ch.force(false);
            long before = allocatedBytes(f);
            assertTrue(PosixFileChannel.punchHole(ch, 256 << 10, 512 << 10));
            assertEquals(data.length, ch.size(), "the file keeps its size");
            assertTrue(allocatedBytes(f) <= before - (512 << 10), before + " -> " + allocatedBytes(f));
            ByteBuffer back = ByteBuffer.allocate(data.length);
            while (back.hasRemaining()) {
                ch.read(back, back.position());
            }
            byte[] expected = data.clone();
            java.util.Arrays.fill(expected, 256 << 10, 768 << 10, (byte) 0);
            assertArrayEquals(expected, back.array());
        }
        try (FileChannel jdk = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertFalse(PosixFileChannel.punchHole(jdk, 0, 4096), "the JDK's channel cannot: the caller writes zeros");
        }
    }

    @Test
    void aDiscardGivesTheSpaceBackAndReadsAsZeros() throws Exception {
        Path disk = dir.resolve("disk.img");
        byte[] data = new byte[4 << 20];
        new Random(4).nextBytes(data);
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(8L << 20, "plat"))) {
            v.write(0, data, 0, data.length);
            v.flush();
            long before = allocatedBytes(disk);
            v.discard(1000, 3 << 20); // partial sectors at both edges are zeroed, the whole ones punched
            v.flush();
            assertTrue(allocatedBytes(disk) <= before - (3 << 20) + 8192, before + " -> " + allocatedBytes(disk));
            byte[] back = new byte[data.length];
            v.read(0, back, 0, back.length);
            byte[] expected = data.clone();
            java.util.Arrays.fill(expected, 1000, 1000 + (3 << 20), (byte) 0);
            assertArrayEquals(expected, back);
        }
    }

    /** The file's allocated bytes, from stat(1): Java has no attribute for them. */
    private static long allocatedBytes(Path f) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b %B", f.toString()).redirectErrorStream(true).start();
        String[] out = new String(p.getInputStream().readAllBytes()).trim().split(" ");
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertEquals(0, p.exitValue(), String.join(" ", out));
        return Long.parseLong(out[0]) * Long.parseLong(out[1]);
    }

    /** qemu locks its images with OFD locks on single bytes: an open volume's lock refuses it. */
    @Test
    void qemuCannotOpenAnOpenVolume() throws Exception {
        Path qemuIo = Path.of("/usr/bin/qemu-io");
        if (!Files.isExecutable(qemuIo)) {
            if ("true".equals(System.getenv("CI"))) {
                org.junit.jupiter.api.Assertions.fail("CI=true but qemu-io is missing: ci/setup.sh installs qemu-utils");
            }
            org.junit.jupiter.api.Assumptions.assumeTrue(false, "qemu-io is not installed (apt-get install qemu-utils)");
        }
        Path disk = dir.resolve("disk.img");
        try (VolumeFixture f = new VolumeFixture(dir);
             EncryptedVolume v = f.volumes.create(disk, VolumeSpec.of(1 << 20, "plat"))) {
            Process p = new ProcessBuilder(qemuIo.toString(), "-f", "raw", "-c", "read 0 512", disk.toString())
                    .redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes());
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(1, p.exitValue(), out);
            assertTrue(out.contains("Failed to lock"), out);
        }
    }

    /** Whether another process can take a classic POSIX lock (lockf(3)) on the whole file at once. */
    static boolean otherProcessCanLock(Path f) throws Exception {
        Process p = new ProcessBuilder("python3", "-c", """
                import fcntl, sys
                f = open(sys.argv[1], "r+")
                try:
                    fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    sys.exit(1)
                """, f.toString()).redirectErrorStream(true).start();
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        int status = p.exitValue();
        assertTrue(status == 0 || status == 1, "python3 exit status " + status);
        return status == 0;
    }

    /** A process that holds a classic POSIX lock on the whole file until destroyed; returns once it holds it. */
    static Process holdLock(Path f) throws IOException {
        Process p = new ProcessBuilder("python3", "-c", """
                import fcntl, sys, time
                f = open(sys.argv[1], "r+")
                fcntl.lockf(f, fcntl.LOCK_EX)
                print("held", flush=True)
                time.sleep(60)
                """, f.toString()).start();
        String line = new java.io.BufferedReader(new java.io.InputStreamReader(p.getInputStream())).readLine();
        assertEquals("held", line);
        return p;
    }
}
