package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The command in a child JVM, as a user runs it: real signals, real resource limits, real stderr. */
class XtsProcessTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;
    private Path key;

    @BeforeEach
    void key() throws IOException {
        byte[] k = new byte[64];
        for (int i = 0; i < k.length; i++) {
            k[i] = (byte) i;
        }
        key = Files.write(dir.resolve("key.bin"), k);
    }

    /** java ... Main ARGS, optionally under a shell that sets a limit first. */
    private static ProcessBuilder command(String shellPrefix, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElseThrow());
        cmd.add("--enable-native-access=ALL-UNNAMED"); // as the jar's manifest grants it
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        if (shellPrefix == null) {
            return new ProcessBuilder(cmd);
        }
        List<String> shell = new ArrayList<>(List.of("bash", "-c", shellPrefix + "; exec \"$@\"", "bash"));
        shell.addAll(cmd);
        return new ProcessBuilder(shell);
    }

    private List<String> parts() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".part")).toList();
        }
    }

    private static String text(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8).strip();
    }

    @Test
    void aNormalRunWritesNothingToStandardError() throws Exception {
        Path in = Files.write(dir.resolve("plain.img"), new byte[MIB]);
        Process p = command(null, "xts", "encrypt", "--key-file", key.toString(), "--sector-size", "4096",
                in.toString(), dir.resolve("out.img").toString()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child timed out");
        assertEquals("", text(p.getErrorStream().readAllBytes()));
        assertEquals("", text(p.getInputStream().readAllBytes()));
        assertEquals(0, p.exitValue());
        assertEquals(MIB, Files.size(dir.resolve("out.img")));
    }

    @Test
    void sigintMidConversionLeavesNoTemporaryFile() throws Exception {
        interruptedConversionLeavesNothing("INT", 130);
    }

    @Test
    void sigtermMidConversionLeavesNoTemporaryFile() throws Exception {
        interruptedConversionLeavesNothing("TERM", 143);
    }

    /**
     * The input is a FIFO this test feeds and keeps open, so the child is surely mid-conversion
     * (its temporary file holds data, the input has not ended) when the signal arrives.
     */
    private void interruptedConversionLeavesNothing(String signal, int exitCode) throws Exception {
        Path fifo = dir.resolve("in.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0);
        Path out = dir.resolve("out.img");
        Process child = command(null, "xts", "encrypt", "--key-file", key.toString(), "--sector-size", "512",
                fifo.toString(), out.toString()).redirectErrorStream(true).start();
        try (OutputStream feed = Files.newOutputStream(fifo)) {
            feed.write(new byte[ImageConverter.BUFFER_BYTES + MIB]); // one whole buffer is written out
            feed.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!hasData(parts()) && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertTrue(hasData(parts()), "the conversion started: " + parts());
            Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(child.pid())).start();
            assertTrue(kill.waitFor(10, TimeUnit.SECONDS) && kill.exitValue() == 0);
            assertTrue(child.waitFor(60, TimeUnit.SECONDS), "child did not stop on SIG" + signal);
        } catch (IOException brokenPipe) {
            // the child is gone: the feed's end closes on nothing
        } finally {
            if (child.isAlive()) {
                child.destroyForcibly();
            }
        }
        assertEquals(exitCode, child.exitValue(), text(child.getInputStream().readAllBytes()));
        assertEquals(List.of(), parts(), "temporary file removed on SIG" + signal);
        assertFalse(Files.exists(out));
    }

    private boolean hasData(List<String> parts) throws IOException {
        return parts.size() == 1 && Files.size(dir.resolve(parts.get(0))) > 0;
    }

    @Test
    void aWriteThatFailsNamesOutAndTheCauseAndLeavesNothing() throws Exception {
        // RLIMIT_FSIZE of 1 MiB (ulimit -f counts 1024-byte blocks): the JVM ignores SIGXFSZ, so the write fails
        // with EFBIG, as a full disk fails with ENOSPC.
        Path in = Files.write(dir.resolve("plain.img"), new byte[8 * MIB]);
        Path out = dir.resolve("out.img");
        Process p = command("ulimit -f 1024", "xts", "encrypt", "--key-file", key.toString(), "--sector-size", "4096",
                in.toString(), out.toString()).start();
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child timed out");
        assertEquals("sectorcrypt: cannot write OUT " + out + ": file too large", text(p.getErrorStream().readAllBytes()));
        assertEquals(1, p.exitValue());
        assertEquals(List.of(), parts());
        assertFalse(Files.exists(out));
    }
}
