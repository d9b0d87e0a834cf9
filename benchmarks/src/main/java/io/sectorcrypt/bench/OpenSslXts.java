package io.sectorcrypt.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;

/**
 * The OpenSSL peer: EVP_aes_{128,256}_xts from the system libcrypto through FFM, used as a
 * storage server would: the key schedule set up once, then per sector the IV (the sector
 * number, little-endian) reset and one EVP_CipherUpdate over the sector. Both calls are
 * critical downcalls, as ours are, so the comparison is of the kernels, not the binding.
 */
public final class OpenSslXts implements AutoCloseable {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup CRYPTO = SymbolLookup.libraryLookup("libcrypto.so.3", Arena.global());
    private static final Linker.Option CRITICAL = Linker.Option.critical(true);
    private static final MethodHandle EVP_CIPHER_CTX_new = bind("EVP_CIPHER_CTX_new", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle EVP_CIPHER_CTX_free = bind("EVP_CIPHER_CTX_free", FunctionDescriptor.ofVoid(ADDRESS));
    private static final MethodHandle EVP_aes_128_xts = bind("EVP_aes_128_xts", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle EVP_aes_256_xts = bind("EVP_aes_256_xts", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle EVP_CipherInit_ex = bind("EVP_CipherInit_ex",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT), CRITICAL);
    private static final MethodHandle EVP_CipherUpdate = bind("EVP_CipherUpdate",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT), CRITICAL);
    private static final MethodHandle OpenSSL_version = bind("OpenSSL_version", FunctionDescriptor.of(ADDRESS, JAVA_INT));
    private static final ValueLayout.OfLong LONG_LE = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment ctx;
    private final MemorySegment iv = arena.allocate(16, 16);
    private final MemorySegment outLength = arena.allocate(JAVA_INT);

    /** A context for one direction, keyed with key1 || key2 (32 or 64 bytes). */
    public OpenSslXts(byte[] key, boolean encrypt) {
        try {
            ctx = (MemorySegment) EVP_CIPHER_CTX_new.invokeExact();
            MemorySegment cipher = key.length == 64 ? (MemorySegment) EVP_aes_256_xts.invokeExact()
                    : (MemorySegment) EVP_aes_128_xts.invokeExact();
            MemorySegment k = arena.allocate(key.length).copyFrom(MemorySegment.ofArray(key));
            int ok = (int) EVP_CipherInit_ex.invokeExact(ctx, cipher, MemorySegment.NULL, k, MemorySegment.NULL,
                    encrypt ? 1 : 0);
            k.fill((byte) 0);
            if (ok != 1) {
                throw new IllegalStateException("EVP_CipherInit_ex refused the key");
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** One sector: IV = sector number, then the whole sector through EVP_CipherUpdate. */
    public void sector(MemorySegment in, MemorySegment out, long sector) {
        iv.set(LONG_LE, 0, sector);
        try {
            int ok = (int) EVP_CipherInit_ex.invokeExact(ctx, MemorySegment.NULL, MemorySegment.NULL,
                    MemorySegment.NULL, iv, -1);
            ok &= (int) EVP_CipherUpdate.invokeExact(ctx, out, outLength, in, (int) in.byteSize());
            if (ok != 1) {
                throw new IllegalStateException("OpenSSL XTS failed at sector " + sector);
            }
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    public static String version() {
        try {
            return ((MemorySegment) OpenSSL_version.invokeExact(0)).reinterpret(256).getString(0);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    @Override
    public void close() {
        try {
            EVP_CIPHER_CTX_free.invokeExact(ctx);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        arena.close();
    }

    private static MethodHandle bind(String name, FunctionDescriptor d, Linker.Option... options) {
        return LINKER.downcallHandle(CRYPTO.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)), d, options);
    }
}
