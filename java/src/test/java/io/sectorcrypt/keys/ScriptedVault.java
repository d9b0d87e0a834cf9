package io.sectorcrypt.keys;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.GeneralSecurityException;
import java.time.Clock;
import java.util.function.Function;

/**
 * A vault whose storage and cryptography a test scripts, over the shared rules of
 * {@link CatalogKeyVault}: for failures a real vault meets rarely (a provider that returns
 * what no caller may get, a token that fails mid-unwrap, storage that fails on write).
 */
final class ScriptedVault extends CatalogKeyVault {
    private byte[] catalog = new KeyCatalog().encode();
    /** What wrapWith returns for the key bytes' length; by default 8 bytes more, as AES-KWP would for 8n. */
    volatile Function<Long, Wrapped> wrapper = length -> new Wrapped(WrapAlgorithm.AES_KWP, new byte[(int) (length + 8)]);
    /** Thrown by unwrapWith, or null to return 32 zero bytes. */
    volatile RuntimeException unwrapFailure;
    /** When set, every change is computed, then storing it fails. */
    volatile boolean storageFails;

    ScriptedVault(AuditLog log, Clock clock) {
        super("scripted", TestVaults.policy(), clock, "admin");
        useAuditLog(log);
    }

    @Override
    public WrapAlgorithm wrapAlgorithm(KeyType type) {
        return type.isCustomerKey() ? WrapAlgorithm.RSA_OAEP_256 : WrapAlgorithm.AES_KWP;
    }

    @Override
    protected synchronized <T> T transact(boolean write, Function<KeyCatalog, T> body) {
        try {
            KeyCatalog c = KeyCatalog.decode(catalog);
            T result = body.apply(c);
            if (write) {
                if (storageFails) {
                    throw new UncheckedIOException(new IOException("scripted: the disk is full"));
                }
                catalog = c.encode();
            }
            return result;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    @Override
    protected byte[] createMaterial(String name, int version, KeyType type) {
        return new byte[] {1};
    }

    @Override
    protected void destroyMaterial(String name, KeyType type, byte[] material) {
    }

    @Override
    protected Wrapped wrapWith(String name, int version, KeyType type, byte[] material, MemorySegment keyBytes) {
        return wrapper.apply(keyBytes.byteSize());
    }

    @Override
    protected MemorySegment unwrapWith(String name, int version, KeyType type, byte[] material,
            WrapAlgorithm algorithm, byte[] wrapped, Arena arena) throws GeneralSecurityException {
        RuntimeException failure = unwrapFailure;
        if (failure != null) {
            throw failure;
        }
        return arena.allocate(32);
    }

    @Override
    public void close() {
        auditLog().close();
    }
}
