package io.sectorcrypt.xts;

import java.io.IOException;
import java.io.InputStream;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;
import java.util.Optional;

/**
 * Finds and loads the native kernel, {@code libsectorcrypt.so}. Absence is normal (another
 * OS or CPU, a stripped jar, native access denied): {@link #lookup()} is then empty and
 * {@link #unavailableReason()} says why and what would fix it.
 *
 * <p>The library ships in the jar under {@value #RESOURCE}. From a directory on the class
 * path it is loaded in place; from a jar it is copied to a private temporary file (owner
 * read/write only), loaded, and the file deleted at once: the mapping outlives the name.
 * {@code -Dsectorcrypt.native.library=/path/libsectorcrypt.so} loads a given file instead.
 */
final class NativeLibrary {
    static final String RESOURCE = "/native/linux-x86_64/libsectorcrypt.so";
    static final String PATH_PROPERTY = "sectorcrypt.native.library";
    private static final System.Logger LOG = System.getLogger("io.sectorcrypt");

    private static final Optional<SymbolLookup> LOOKUP;
    private static final String UNAVAILABLE_REASON;
    private static final boolean EXPECTED_ABSENCE;

    static {
        SymbolLookup lookup = null;
        String reason = null;
        boolean expected = false;
        try {
            lookup = load();
        } catch (UnavailableException e) {
            reason = e.getMessage();
            expected = e.expected;
        } catch (IllegalCallerException e) {
            reason = "native access is denied to " + moduleName() + " (" + e.getMessage()
                    + "); add --enable-native-access=" + moduleName() + " to the java command line";
        } catch (IOException | RuntimeException | LinkageError e) {
            reason = "loading the native kernel failed: " + e;
        }
        LOOKUP = Optional.ofNullable(lookup);
        UNAVAILABLE_REASON = reason;
        EXPECTED_ABSENCE = expected;
    }

    private NativeLibrary() {
    }

    /** The loaded kernel, or empty with {@link #unavailableReason()} saying why. */
    static Optional<SymbolLookup> lookup() {
        return LOOKUP;
    }

    static String unavailableReason() {
        return UNAVAILABLE_REASON;
    }

    /**
     * Whether the kernel is absent for a normal reason (no build for this OS or CPU
     * architecture), rather than a fault an operator should fix (an unreadable configured
     * path, a jar without the library, native access denied, a failed load).
     */
    static boolean absenceIsExpected() {
        return EXPECTED_ABSENCE;
    }

    private static SymbolLookup load() throws IOException {
        String configured = System.getProperty(PATH_PROPERTY);
        if (configured != null && !configured.isBlank()) {
            Path path = Path.of(configured);
            if (!Files.isReadable(path)) {
                throw new UnavailableException(PATH_PROPERTY + "=" + configured + " is not a readable file", false);
            }
            return open(path);
        }
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        if (!os.startsWith("linux") || !(arch.equals("amd64") || arch.equals("x86_64"))) {
            throw new UnavailableException("no native kernel is built for " + os + "/" + arch
                    + " (only linux/x86_64); the pure-Java engine serves instead", true);
        }
        URL url = NativeLibrary.class.getResource(RESOURCE);
        if (url == null) {
            throw new UnavailableException(RESOURCE + " is not on the class path; build the library with"
                    + " Maven (it compiles the kernel) or set -D" + PATH_PROPERTY, false);
        }
        if (url.getProtocol().equals("file")) {
            try {
                return open(Path.of(url.toURI()));
            } catch (URISyntaxException e) {
                throw new IOException("bad resource URL " + url, e);
            }
        }
        Path dir = Files.createTempDirectory("sectorcrypt-");
        Path copy = dir.resolve("libsectorcrypt.so");
        try (InputStream in = url.openStream()) {
            Files.copy(in, copy, StandardCopyOption.REPLACE_EXISTING);
            return open(copy);
        } finally {
            Files.deleteIfExists(copy);
            Files.deleteIfExists(dir);
        }
    }

    private static SymbolLookup open(Path path) {
        if (!NativeLibrary.class.getModule().isNativeAccessEnabled()) {
            LOG.log(Level.WARNING, "native access is not enabled for {0}: the JVM will warn once; add"
                    + " --enable-native-access={0} to the java command line (or Enable-Native-Access:"
                    + " ALL-UNNAMED to an executable jar''s manifest)", moduleName());
        }
        return SymbolLookup.libraryLookup(path, Arena.global());
    }

    private static String moduleName() {
        Module module = NativeLibrary.class.getModule();
        return module.isNamed() ? module.getName() : "ALL-UNNAMED";
    }

    /** The kernel cannot be used here; the message says why and how to fix it. */
    static final class UnavailableException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        /** No build for this platform: normal, not a fault. */
        final boolean expected;

        UnavailableException(String message, boolean expected) {
            super(message, null, false, false);
            this.expected = expected;
        }
    }
}
