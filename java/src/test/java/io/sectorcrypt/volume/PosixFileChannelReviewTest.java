package io.sectorcrypt.volume;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Review of PosixFileChannel: the cases its first tests did not reach. */
class PosixFileChannelReviewTest {
    @TempDir
    Path dir;

    /** The JDK refuses to read into a read-only buffer; pread must not write into its memory either. */
    @Test
    void aReadOnlyBufferIsRefusedAndLeftUntouched() throws IOException {
        Path f = dir.resolve("f");
        Files.write(f, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
        try (FileChannel ch = PosixFileChannel.openFile(f, StandardOpenOption.READ)) {
            assertInstanceOf(PosixFileChannel.class, ch);
            ByteBuffer direct = ByteBuffer.allocateDirect(8);
            ByteBuffer readOnly = direct.asReadOnlyBuffer();
            assertThrows(IllegalArgumentException.class, () -> ch.read(readOnly, 0));
            assertEquals(0, direct.get(0), "the read-only buffer's memory was written");
            assertEquals(0, readOnly.position());
            ByteBuffer heap = ByteBuffer.allocate(8).asReadOnlyBuffer();
            assertThrows(IllegalArgumentException.class, () -> ch.read(heap, 0));
            assertEquals(0, heap.position());
        }
    }

    /**
     * A blocking lock() granted after its channel was closed under it (the close waited for the
     * fcntl in flight) must not leave the file registered as locked by this process: nothing
     * holds it, yet every later open of it in this process was refused.
     */
    @Test
    void aLockGrantedToAChannelClosedMeanwhileIsNotLeftRegistered() throws Exception {
        Path f = dir.resolve("f");
        Files.write(f, new byte[1]);
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (FileChannel holder = FileChannel.open(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            FileLock classic = holder.lock(); // a classic record lock: an OFD lock conflicts with it
            FileChannel ch = PosixFileChannel.openFile(f, StandardOpenOption.READ, StandardOpenOption.WRITE);
            Future<FileLock> waiting = pool.submit(() -> ch.lock());
            Thread.sleep(300); // in fcntl(F_OFD_SETLKW)
            assertFalse(waiting.isDone());
            ch.close();
            classic.release();
            FileLock granted = waiting.get(10, TimeUnit.SECONDS);
            assertFalse(granted.isValid(), "its channel is closed");
        } finally {
            pool.shutdownNow();
        }
        try (FileChannel again = PosixFileChannel.openFile(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertNotNull(again.tryLock(0, Long.MAX_VALUE, false), "the file is locked by no one");
        }
    }

    /**
     * open(2) takes the path's bytes; {@code path.toString()} in UTF-8 is not them for a name
     * that is not valid UTF-8 (a volume made on a Latin-1 system): the JDK's channel opens it.
     */
    @Test
    void aFileWhoseNameIsNotUtf8Opens() throws Exception {
        Process touch = new ProcessBuilder("sh", "-c", "printf x > \"$(printf 'vol\\351.img')\"")
                .directory(dir.toFile()).inheritIO().start();
        assertEquals(0, touch.waitFor());
        Path f;
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> all = s.toList();
            assertEquals(1, all.size());
            f = all.get(0);
        }
        try (FileChannel jdk = FileChannel.open(f, StandardOpenOption.READ)) {
            assertEquals(1, jdk.size(), "the JDK's channel opens it");
        }
        try (FileChannel ch = PosixFileChannel.openFile(f, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            assertEquals(1, ch.size());
            ByteBuffer b = ByteBuffer.allocate(1);
            assertEquals(1, ch.read(b, 0));
            assertEquals('x', b.get(0));
        }
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no file of another name was created");
        }
    }

    /**
     * Where native access is denied the JDK's channel serves: the volume must still work, and
     * the operator must be told it lost both properties (interrupts close it again, any close of
     * the file drops its lock), not find out from a stopped volume.
     */
    @Test
    void deniedNativeAccessFallsBackToTheJdkChannelAndSaysSo() throws Exception {
        List<String> cmd = List.of(ProcessHandle.current().info().command().orElseThrow(),
                "--illegal-native-access=deny", "-cp", System.getProperty("java.class.path"),
                DeniedChild.class.getName(), dir.resolve("f").toString());
        Path out = dir.resolve("child.out");
        Path err = dir.resolve("child.err");
        Process child = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
        assertTrue(child.waitFor(60, TimeUnit.SECONDS));
        String stderr = Files.readString(err);
        assertEquals(0, child.exitValue(), stderr);
        assertEquals("ok", Files.readString(out).strip(), stderr);
        assertTrue(stderr.contains("--enable-native-access"), "the fallback is silent: " + stderr);
    }

    /** Opens, writes, reads and locks a file through openFile, native access denied. */
    static final class DeniedChild {
        public static void main(String[] args) throws IOException {
            try (FileChannel ch = PosixFileChannel.openFile(Path.of(args[0]), StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                if (ch instanceof PosixFileChannel) {
                    throw new AssertionError("libc was linked with native access denied");
                }
                ch.write(ByteBuffer.wrap(new byte[] {9}), 0);
                ByteBuffer b = ByteBuffer.allocate(1);
                if (ch.read(b, 0) != 1 || b.get(0) != 9 || ch.tryLock(0, Long.MAX_VALUE, false) == null) {
                    throw new AssertionError("the JDK's channel does not work");
                }
            }
            System.out.println("ok");
        }
    }
}
