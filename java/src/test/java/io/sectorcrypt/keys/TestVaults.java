package io.sectorcrypt.keys;

import io.sectorcrypt.crypto.CryptoPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/** Vaults for tests: key-file protected (no slow KDF), under the policy this run tests. */
final class TestVaults {
    private TestVaults() {
    }

    /** DEFAULT, or FIPS in the surefire execution that runs the suite again in FIPS mode. */
    static CryptoPolicy policy() {
        return CryptoPolicy.configured();
    }

    static LocalKeyVault local(Path dir, Clock clock) {
        Path keyFile = dir.resolve("vault.key");
        if (!Files.exists(keyFile)) {
            LocalKeyVault.createKeyFile(keyFile, policy());
        }
        return LocalKeyVault.open(dir.resolve("vault"), new LocalKeyVault.Credentials.KeyFile(keyFile),
                LocalKeyVault.Options.defaults().withPolicy(policy()).withClock(clock).withOperator("admin")
                        .withNewVaultId("test-vault"));
    }
}
