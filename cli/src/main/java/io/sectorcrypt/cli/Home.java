package io.sectorcrypt.cli;

import java.nio.file.Path;

/**
 * Where the embedded defaults live: {@code $SECTORCRYPT_HOME}, else {@code ~/.sectorcrypt}.
 * The vault is its {@code vault} directory, the encryption sets its {@code sets} directory.
 */
final class Home {
    static final String ENV = "SECTORCRYPT_HOME";

    private Home() {
    }

    static Path dir() {
        String home = KeysCommand.environment.apply(ENV);
        if (home != null && !home.isBlank()) {
            return Path.of(home);
        }
        return Path.of(System.getProperty("user.home"), ".sectorcrypt");
    }

    static Path vault() {
        return dir().resolve("vault");
    }

    static Path sets() {
        return dir().resolve("sets");
    }
}
