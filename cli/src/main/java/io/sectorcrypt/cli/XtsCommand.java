package io.sectorcrypt.cli;

import io.sectorcrypt.xts.Engine;
import io.sectorcrypt.xts.IvConvention;
import io.sectorcrypt.xts.SectorCipher;
import io.sectorcrypt.xts.XtsKey;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "xts", description = "Convert a raw disk image sector by sector, exactly as dm-crypt aes-xts-plain64"
        + " and cryptsetup --type plain: the IV counts 512-byte units whatever the sector size (as LUKS2 does), or"
        + " units of --sector-size with --iv-large-sectors.",
        subcommands = {XtsCommand.Encrypt.class, XtsCommand.Decrypt.class})
final class XtsCommand {

    /** Options shared by encrypt and decrypt. */
    static final class ImageOptions {
        @Option(names = "--key-file", required = true, paramLabel = "F",
                description = "32 (XTS-AES-128) or 64 (XTS-AES-256) raw key bytes: key1 || key2.")
        Path keyFile;

        @Option(names = "--sector-size", required = true, paramLabel = "512|4096",
                description = "Sector size in bytes: 512, 1024, 2048 or 4096.")
        int sectorSize;

        @Option(names = "--first-sector", paramLabel = "N", defaultValue = "0",
                description = {"plain64 IV of the image's first sector (unsigned 64-bit; default 0), in 512-byte units"
                        + " (a multiple of --sector-size / 512), or in units of --sector-size with --iv-large-sectors."})
        String firstSector;

        @Option(names = "--iv-large-sectors",
                description = "Count the IV in units of --sector-size, as dm-crypt's iv_large_sectors and cryptsetup"
                        + " --iv-large-sectors (default: 512-byte units, as dm-crypt, cryptsetup and LUKS2).")
        boolean ivLargeSectors;

        @Option(names = "--engine", paramLabel = "E",
                description = "Force an engine: java, native, aesni, vaes256, vaes512 (default: the best here).")
        String engine;

        @Parameters(index = "0", paramLabel = "IN", description = "Input image.")
        Path in;

        @Parameters(index = "1", paramLabel = "OUT", description = "Output image (written whole, or not at all).")
        Path out;
    }

    abstract static class Convert implements Callable<Integer> {
        @Mixin
        ImageOptions options;

        @Spec
        CommandSpec spec;

        @Option(names = "--in-place", description = "Allow OUT to be IN itself (through a temporary file: IN is"
                + " replaced only once the whole image is converted).")
        boolean inPlace;

        abstract boolean encrypt();

        @Override
        public Integer call() throws IOException {
            int sectorSize = options.sectorSize;
            if (sectorSize != 512 && sectorSize != 1024 && sectorSize != 2048 && sectorSize != 4096) {
                throw new CliException("--sector-size must be 512, 1024, 2048 or 4096 (dm-crypt's sector sizes), not "
                        + sectorSize);
            }
            long first;
            try {
                first = Long.parseUnsignedLong(options.firstSector);
            } catch (NumberFormatException e) {
                throw new CliException("--first-sector '" + options.firstSector + "' is not a plain64 IV (0 .. "
                        + Long.toUnsignedString(-1L) + ")");
            }
            Engine engine = options.engine == null ? Engine.selected() : Engine.parse(options.engine);
            refuseOverwritingTheKey(options.keyFile, options.out);
            try (XtsKey key = readKey(options.keyFile)) {
                SectorCipher cipher = SectorCipher.of(key, engine,
                        options.ivLargeSectors ? IvConvention.IV_LARGE_SECTORS : IvConvention.PLAIN64);
                ProgressBar progress = Terminal.isStderrTerminal()
                        ? new ProgressBar(spec.commandLine().getErr()) : ProgressBar.NONE;
                new ImageConverter(cipher, sectorSize, encrypt()).convert(options.in, options.out, first, inPlace,
                        progress);
            }
            return 0;
        }

        /** OUT replaced by the ciphertext of the key that encrypts it would lose the data for good. */
        private static void refuseOverwritingTheKey(Path keyFile, Path out) {
            try {
                if (Files.exists(out) && Files.exists(keyFile) && Files.isSameFile(keyFile, out)) {
                    throw new CliException("OUT " + out + " is the --key-file " + keyFile + ": the conversion would"
                            + " replace the key it needs");
                }
            } catch (IOException e) {
                throw Main.cannot("write OUT", out, e);
            }
        }

        /**
         * Reads the key file into an XtsKey and zeroes the heap copy at once. Reads at most one
         * byte more than the longest key, so a device (/dev/zero) is a size error, not a hang.
         */
        private static XtsKey readKey(Path file) {
            if (Files.isDirectory(file)) {
                throw new CliException("--key-file " + file + " is a directory, not a key file");
            }
            byte[] raw;
            try (java.io.InputStream in = Files.newInputStream(file)) {
                long size = Files.isRegularFile(file) ? Files.size(file) : 0;
                if (size > XtsKey.AES_256_XTS_KEY_BYTES) {
                    throw new CliException("--key-file " + file + " is " + size
                            + " bytes; an XTS key file holds 32 (XTS-AES-128) or 64 (XTS-AES-256) raw bytes");
                }
                raw = in.readNBytes(XtsKey.AES_256_XTS_KEY_BYTES + 1);
            } catch (IOException e) {
                throw Main.cannot("read --key-file", file, e);
            }
            if (raw.length > XtsKey.AES_256_XTS_KEY_BYTES) {
                Arrays.fill(raw, (byte) 0);
                throw new CliException("--key-file " + file + " holds more than 64 bytes; an XTS key file holds 32"
                        + " (XTS-AES-128) or 64 (XTS-AES-256) raw bytes");
            }
            try {
                return XtsKey.of(raw);
            } catch (IllegalArgumentException e) {
                throw new CliException("--key-file " + file + ": " + e.getMessage());
            } finally {
                Arrays.fill(raw, (byte) 0);
            }
        }
    }

    @Command(name = "encrypt", description = "Encrypt a raw image: IN (plaintext) -> OUT (ciphertext).")
    static final class Encrypt extends Convert {
        @Override
        boolean encrypt() {
            return true;
        }
    }

    @Command(name = "decrypt", description = "Decrypt a raw image: IN (ciphertext) -> OUT (plaintext).")
    static final class Decrypt extends Convert {
        @Override
        boolean encrypt() {
            return false;
        }
    }
}
