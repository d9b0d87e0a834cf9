package io.sectorcrypt.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.io.IOException;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class XtsCommandTest {
    @TempDir
    Path dir;
    private Path key;
    private Path image;
    private byte[] keyBytes;
    private byte[] plain;

    @BeforeEach
    void files() throws IOException {
        SplittableRandom rnd = new SplittableRandom(42);
        keyBytes = new byte[64];
        rnd.nextBytes(keyBytes);
        plain = new byte[3 * 4096 + 8 * 512];
        rnd.nextBytes(plain);
        key = Files.write(dir.resolve("key.bin"), keyBytes);
        image = Files.write(dir.resolve("plain.img"), plain);
    }

    private List<String> leftovers() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".part")).toList();
        }
    }

    private void refused(String message, String... args) throws IOException {
        CliRun run = CliRun.of(args);
        assertEquals(1, run.exitCode(), run.err());
        assertEquals("sectorcrypt: " + message, run.err());
        assertFalse(Files.exists(dir.resolve("out.img")), "no output file after a refusal");
        assertEquals(List.of(), leftovers(), "no partial file left behind");
    }

    /** Both IV conventions, as cryptsetup --type plain with and without --iv-large-sectors. */
    @ParameterizedTest
    @CsvSource({"512, false", "4096, false", "512, true", "4096, true"})
    void encryptsLikeTheLibraryAndDecryptsBack(int sectorSize, boolean ivLargeSectors) throws IOException {
        IvConvention convention = ivLargeSectors ? IvConvention.IV_LARGE_SECTORS : IvConvention.PLAIN64;
        long step = convention.ivStep(sectorSize);
        long first = -step * (plain.length / sectorSize); // the last sector's IV is the last multiple of step
        Path enc = dir.resolve("enc.img");
        Path dec = dir.resolve("dec.img");
        List<String> options = new java.util.ArrayList<>(List.of("--key-file", key.toString(), "--sector-size",
                "" + sectorSize, "--first-sector", Long.toUnsignedString(first)));
        if (ivLargeSectors) {
            options.add("--iv-large-sectors");
        }
        List<String> args = new java.util.ArrayList<>(List.of("xts", "encrypt"));
        args.addAll(options);
        args.addAll(List.of(image.toString(), enc.toString()));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, run.exitCode(), run.err());
        assertEquals("", run.err(), "a conversion that succeeds writes nothing to standard error");
        byte[] expected = new byte[plain.length];
        try (XtsKey k = XtsKey.of(keyBytes)) {
            SectorCipher.of(k, Engine.JAVA, convention).encrypt(plain, 0, expected, 0, plain.length, first, sectorSize);
        }
        assertArrayEquals(expected, Files.readAllBytes(enc));
        args = new java.util.ArrayList<>(List.of("xts", "decrypt", "--engine", "java"));
        args.addAll(options);
        args.addAll(List.of(enc.toString(), dec.toString()));
        run = CliRun.of(args.toArray(String[]::new));
        assertEquals(0, run.exitCode(), run.err());
        assertArrayEquals(plain, Files.readAllBytes(dec));
        assertEquals(List.of(), leftovers());
    }

    @Test
    void everyEngineWritesTheSameImage() throws IOException {
        byte[] reference = null;
        for (Engine e : Engine.values()) {
            if (!e.isAvailable()) {
                continue;
            }
            Path out = dir.resolve(e.id() + ".img");
            CliRun run = CliRun.of("xts", "encrypt", "--key-file", key.toString(), "--sector-size", "512",
                    "--engine", e.id(), image.toString(), out.toString());
            assertEquals(0, run.exitCode(), run.err());
            byte[] bytes = Files.readAllBytes(out);
            if (reference == null) {
                reference = bytes;
            }
            assertArrayEquals(reference, bytes, e.id());
        }
    }

    private static CliRun convert(String op, Path in, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("xts", op, "--sector-size", "512"));
        args.addAll(List.of(more));
        args.addAll(List.of(in.toString(), out.toString()));
        return CliRun.of(args.toArray(String[]::new));
    }

    private CliRun encrypt(Path in, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("--key-file", key.toString()));
        args.addAll(List.of(more));
        return convert("encrypt", in, out, args.toArray(String[]::new));
    }

    private CliRun decrypt(Path in, Path out, String... more) {
        List<String> args = new ArrayList<>(List.of("--key-file", key.toString()));
        args.addAll(List.of(more));
        return convert("decrypt", in, out, args.toArray(String[]::new));
    }

    @Test
    void outputThatIsTheInputIsRefusedUnlessInPlaceIsGiven() throws IOException {
        Path copy = Files.write(dir.resolve("copy.img"), plain);
        Files.setPosixFilePermissions(copy, PosixFilePermissions.fromString("rw-r--r--"));
        Path symlink = Files.createSymbolicLink(dir.resolve("link.img"), copy.getFileName());
        Path hardLink = Files.createLink(dir.resolve("hard.img"), copy);
        Path dotted = dir.resolve(".").resolve("copy.img");
        for (Path same : List.of(copy, symlink, hardLink, dotted)) {
            CliRun run = encrypt(copy, same);
            assertEquals(1, run.exitCode(), run.err());
            assertEquals("sectorcrypt: OUT " + same + " is the same file as IN " + copy + ": the conversion would"
                    + " replace it; give --in-place to do that on purpose", run.err());
            assertArrayEquals(plain, Files.readAllBytes(copy), "IN untouched");
        }
        // A second hard link would keep the plaintext under its name: refused.
        CliRun linked = encrypt(copy, copy, "--in-place");
        assertEquals(1, linked.exitCode(), linked.err());
        assertEquals("sectorcrypt: --in-place: IN " + copy + " has 2 hard links, and only this name would get the"
                + " converted image: the other links would keep the old contents", linked.err());
        assertArrayEquals(plain, Files.readAllBytes(hardLink), "IN untouched");
        Files.delete(hardLink);
        assertEquals(0, encrypt(copy, copy, "--in-place").exitCode());
        assertFalse(Arrays.equals(plain, Files.readAllBytes(copy)));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)),
                "the mode of the file replaced is kept");
        // Through a symbolic link the file it names is converted; the link stays a link.
        CliRun back = decrypt(symlink, symlink, "--in-place");
        assertEquals(0, back.exitCode(), back.err());
        assertTrue(Files.isSymbolicLink(symlink));
        assertArrayEquals(plain, Files.readAllBytes(copy));
        assertEquals("rw-r--r--", PosixFilePermissions.toString(Files.getPosixFilePermissions(copy)));
        CliRun other = encrypt(copy, dir.resolve("out.img"), "--in-place");
        assertEquals(1, other.exitCode());
        assertEquals("sectorcrypt: --in-place converts a file into itself, but OUT " + dir.resolve("out.img")
                + " is not the same file as IN " + copy, other.err());
        assertFalse(Files.exists(dir.resolve("out.img")));
        assertEquals(List.of(), leftovers());
    }

    @Test
    void aDanglingSymbolicLinkIsNotReplacedByAFile() throws IOException {
        Path link = Files.createSymbolicLink(dir.resolve("dangling.img"), Path.of("nowhere.img"));
        CliRun run = encrypt(image, link);
        assertEquals(1, run.exitCode(), run.err());
        assertEquals("sectorcrypt: OUT " + link + " is a symbolic link to nowhere.img, which does not exist: name the"
                + " file to write itself", run.err());
        assertTrue(Files.isSymbolicLink(link), "the link is untouched");
        assertEquals(List.of(), leftovers());
    }

    @Test
    void theKeyFileIsNeverTheOutput() throws IOException {
        Path keyCopy = Files.write(dir.resolve("copy.key"), keyBytes);
        Path keyLink = Files.createSymbolicLink(dir.resolve("key-link"), keyCopy.getFileName());
        for (Path out : List.of(keyCopy, keyLink)) {
            CliRun run = convert("encrypt", image, out, "--key-file", keyCopy.toString());
            assertEquals(1, run.exitCode(), run.err());
            assertEquals("sectorcrypt: OUT " + out + " is the --key-file " + keyCopy + ": the conversion would replace the"
                    + " key it needs", run.err());
            assertArrayEquals(keyBytes, Files.readAllBytes(keyCopy), "the key is untouched");
        }
        assertEquals(List.of(), leftovers());
    }

    /** A device reports size 0: the key is read with a bound, so /dev/zero is a size error, not an endless read. */
    @Test
    void aKeyFileThatNeverEndsIsASizeError() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.isReadable(Path.of("/dev/zero")), "no /dev/zero here");
        refused("--key-file /dev/zero holds more than 64 bytes; an XTS key file holds 32 (XTS-AES-128) or 64"
                + " (XTS-AES-256) raw bytes", "xts", "encrypt", "--key-file", "/dev/zero", "--sector-size", "512",
                image.toString(), dir.resolve("out.img").toString());
    }

    /** As root (CI), a file of another user is replaced by one that still belongs to that user. */
    @Test
    void replacingAnotherFileKeepsItsOwnerAndGroup() throws IOException {
        org.junit.jupiter.api.Assumptions.assumeTrue("root".equals(System.getProperty("user.name")),
                "only root can give a file to another user");
        Path existing = Files.write(dir.resolve("theirs.img"), new byte[10]);
        java.nio.file.attribute.UserPrincipalLookupService users = existing.getFileSystem().getUserPrincipalLookupService();
        java.nio.file.attribute.PosixFileAttributeView view = Files.getFileAttributeView(existing,
                java.nio.file.attribute.PosixFileAttributeView.class);
        view.setOwner(users.lookupPrincipalByName("nobody"));
        view.setGroup(users.lookupPrincipalByGroupName("nogroup"));
        assertEquals(0, encrypt(image, existing).exitCode());
        java.nio.file.attribute.PosixFileAttributes after = Files.readAttributes(existing,
                java.nio.file.attribute.PosixFileAttributes.class);
        assertEquals("nobody", after.owner().getName());
        assertEquals("nogroup", after.group().getName());
        assertEquals(plain.length, Files.size(existing));
    }

    @Test
    void replacingAnotherFileKeepsItsModeAndANewFileIsPrivate() throws IOException {
        Path existing = Files.write(dir.resolve("existing.img"), new byte[10]);
        Files.setPosixFilePermissions(existing, PosixFilePermissions.fromString("rw-r-----"));
        assertEquals(0, encrypt(image, existing).exitCode());
        assertEquals("rw-r-----", PosixFilePermissions.toString(Files.getPosixFilePermissions(existing)));
        assertEquals(plain.length, Files.size(existing));
        Path fresh = dir.resolve("fresh.img");
        assertEquals(0, encrypt(image, fresh).exitCode());
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(fresh)));
    }

    @Test
    void anOutputThatIsNotARegularFileIsNeverReplaced() throws Exception {
        Path fifo = dir.resolve("out.fifo");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0);
        // (A FIFO stands for devices such as /dev/null, which a failing test run as root must not replace.)
        CliRun run = encrypt(image, fifo);
        assertEquals(1, run.exitCode(), run.err());
        assertEquals("sectorcrypt: OUT " + fifo + " is not a regular file: the output is a new image file that"
                + " replaces OUT whole, so OUT must be a file or not exist", run.err());
        assertTrue(Files.readAttributes(fifo, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther(),
                "the FIFO is still a FIFO");
        assertEquals(List.of(), leftovers());
    }

    @Test
    void everyFileErrorNamesTheArgumentAndTheCause() throws IOException {
        Path folder = Files.createDirectory(dir.resolve("folder"));
        Path out = dir.resolve("out.img");
        refused("--key-file " + folder + " is a directory, not a key file", "xts", "encrypt", "--key-file",
                folder.toString(), "--sector-size", "512", image.toString(), out.toString());
        refused("IN " + folder + " is a directory, not an image", "xts", "encrypt", "--key-file", key.toString(),
                "--sector-size", "512", folder.toString(), out.toString());
        Path nowhere = dir.resolve("no-such-folder").resolve("out.img");
        refused("cannot write OUT " + nowhere + ": its folder " + nowhere.getParent() + " does not exist", "xts",
                "encrypt", "--key-file", key.toString(), "--sector-size", "512", image.toString(), nowhere.toString());
        Path underFile = image.resolve("out.img");
        refused("cannot write OUT " + underFile + ": its folder " + image + " is not a folder", "xts", "encrypt",
                "--key-file", key.toString(), "--sector-size", "512", image.toString(), underFile.toString());
    }

    @Test
    void ioFailuresBecomeOneLineWithTheArgumentPathAndCause() {
        Path out = Path.of("/mnt/small/out.img");
        // What FileChannel.write throws on a full disk: the cause only, no path.
        assertEquals("cannot write OUT /mnt/small/out.img: no space left on device",
                Main.cannot("write OUT", out, new IOException("No space left on device")).getMessage());
        assertEquals("cannot write OUT /mnt/small/out.img: no space left on device", Main.cannot("write OUT", out,
                new FileSystemException("/mnt/small/.out.img.1.part", null, "No space left on device")).getMessage());
        // An IOException that reaches the top without an argument still names its path.
        assertEquals("/mnt/small/out.img: no space left on device", Main.message(new FileSystemException(
                "/mnt/small/out.img", null, "No space left on device")));
        assertEquals("/a -> /b: permission denied", Main.message(new UncheckedIOException(
                new AccessDeniedException("/a", "/b", null))));
        assertEquals("is a directory", Main.message(new IOException("Is a directory")));
        assertEquals(null, Main.message(new NullPointerException()), "a bug is not dressed as a user error");
    }

    @Test
    void inputThatIsNotAWholeNumberOfSectors() throws IOException {
        Path odd = Files.write(dir.resolve("odd.img"), new byte[1000]);
        refused("IN " + odd + " is 1000 bytes, not a whole number of 512-byte sectors",
                "xts", "encrypt", "--key-file", key.toString(), "--sector-size", "512", odd.toString(),
                dir.resolve("out.img").toString());
    }

    @Test
    void aStreamThatEndsInAPartialSectorLeavesNoOutput() throws Exception {
        Path fifo = dir.resolve("pipe");
        Process mkfifo = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertTrue(mkfifo.waitFor(10, TimeUnit.SECONDS) && mkfifo.exitValue() == 0);
        Thread writer = Thread.ofPlatform().start(() -> {
            try (OutputStream out = Files.newOutputStream(fifo)) {
                out.write(new byte[512 * 3 + 100]);
            } catch (IOException e) {
                throw new RuntimeException(e);
            }
        });
        refused("input ends in a partial sector: 1636 bytes is not a whole number of 512-byte sectors",
                "xts", "encrypt", "--key-file", key.toString(), "--sector-size", "512", fifo.toString(),
                dir.resolve("out.img").toString());
        writer.join(10_000);
    }

    @Test
    void unreadableOrMissingKeyFile() throws IOException {
        Path missing = dir.resolve("missing.key");
        refused("cannot read --key-file " + missing + ": no such file or directory", "xts", "encrypt", "--key-file",
                missing.toString(), "--sector-size", "512", image.toString(), dir.resolve("out.img").toString());
    }

    @Test
    void keyFileOfTheWrongSize() throws IOException {
        Path k48 = Files.write(dir.resolve("k48"), new byte[48]);
        refused("--key-file " + k48 + ": an XTS key is 32 bytes (XTS-AES-128) or 64 bytes (XTS-AES-256), not 48 bytes",
                "xts", "encrypt", "--key-file", k48.toString(), "--sector-size", "512", image.toString(),
                dir.resolve("out.img").toString());
        Path k100 = Files.write(dir.resolve("k100"), new byte[100]);
        refused("--key-file " + k100 + " is 100 bytes; an XTS key file holds 32 (XTS-AES-128) or 64 (XTS-AES-256) raw"
                + " bytes", "xts", "encrypt", "--key-file", k100.toString(), "--sector-size", "512", image.toString(),
                dir.resolve("out.img").toString());
    }

    @Test
    void keyFileWithEqualHalves() throws IOException {
        Path equal = Files.write(dir.resolve("equal"), new byte[64]);
        refused("--key-file " + equal + ": the two halves of an XTS key (key1 and key2) must differ (FIPS 140-3 IG"
                + " C.I); generate the key from a DRBG", "xts", "encrypt", "--key-file", equal.toString(),
                "--sector-size", "512", image.toString(), dir.resolve("out.img").toString());
    }

    @Test
    void badSectorSizeAndFirstSector() throws IOException {
        refused("--sector-size must be 512, 1024, 2048 or 4096 (dm-crypt's sector sizes), not 520", "xts", "encrypt",
                "--key-file", key.toString(), "--sector-size", "520", image.toString(), dir.resolve("out.img").toString());
        refused("--first-sector '-1' is not a plain64 IV (0 .. 18446744073709551615)", "xts", "encrypt",
                "--key-file", key.toString(), "--sector-size", "512", "--first-sector", "-1", image.toString(),
                dir.resolve("out.img").toString());
        long sectors = plain.length / 512;
        refused("--first-sector 18446744073709551615: " + sectors + " sectors from IV 18446744073709551615 run past IV"
                + " 2^64 - 1 (18446744073709551615), the last plain64 IV", "xts", "encrypt",
                "--key-file", key.toString(), "--sector-size", "512", "--first-sector", "18446744073709551615",
                image.toString(), dir.resolve("out.img").toString());
        // 512-byte IV units by default: a 4096-byte sector starts at a multiple of 8.
        refused("--first-sector 12: first IV 12 is not a multiple of 8: with 4096-byte sectors the plain64 IV counts"
                + " 512-byte units and each sector starts at a multiple of 8 (dm-crypt, LUKS2)", "xts", "encrypt",
                "--key-file", key.toString(), "--sector-size", "4096", "--first-sector", "12", image.toString(),
                dir.resolve("out.img").toString());
        refused("--first-sector 18446744073709551608: " + plain.length / 4096 + " sectors from IV 18446744073709551608"
                + " in steps of 8 run past IV 2^64 - 1 (18446744073709551615), the last plain64 IV", "xts", "encrypt",
                "--key-file", key.toString(), "--sector-size", "4096", "--first-sector", "18446744073709551608",
                image.toString(), dir.resolve("out.img").toString());
    }

    @Test
    void missingInputAndDirectoryOutput() throws IOException {
        Path missing = dir.resolve("nope.img");
        refused("cannot read IN " + missing + ": no such file or directory", "xts", "encrypt", "--key-file", key.toString(),
                "--sector-size", "512", missing.toString(), dir.resolve("out.img").toString());
        CliRun run = CliRun.of("xts", "encrypt", "--key-file", key.toString(), "--sector-size", "512",
                image.toString(), dir.toString());
        assertEquals(1, run.exitCode());
        assertEquals("sectorcrypt: OUT " + dir + " is a directory", run.err());
    }

    @Test
    void unknownEngine() throws IOException {
        refused("unknown engine 'turbo'; choose one of java, native, aesni, vaes256, vaes512", "xts", "encrypt",
                "--key-file", key.toString(), "--sector-size", "512", "--engine", "turbo", image.toString(),
                dir.resolve("out.img").toString());
    }

    @Test
    void usageErrorsExitWithTwo() {
        CliRun run = CliRun.of("xts", "encrypt", "--sector-size", "512");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("Missing required"), run.err());
    }
}
