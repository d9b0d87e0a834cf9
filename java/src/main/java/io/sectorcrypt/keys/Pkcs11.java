package io.sectorcrypt.keys;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * A PKCS#11 (Cryptoki 2.40) module bound through the FFM API: the few functions a key vault
 * needs, with the spec's constants. Written for LP64 Linux, where CK_ULONG is 64 bits; the
 * module must export the C_* symbols themselves (SoftHSM2 and most vendor modules do).
 *
 * <p>Every call returns a CK_RV; anything but CKR_OK becomes a {@link Failure} naming the
 * function and the code. Not thread-safe per session: callers serialise on a session.
 */
final class Pkcs11 {
    // Return values (PKCS#11 2.40 section 5.1).
    static final long CKR_OK = 0x0;
    static final long CKR_ARGUMENTS_BAD = 0x7;
    static final long CKR_ENCRYPTED_DATA_INVALID = 0x40;
    static final long CKR_ENCRYPTED_DATA_LEN_RANGE = 0x41;
    static final long CKR_MECHANISM_INVALID = 0x70;
    static final long CKR_MECHANISM_PARAM_INVALID = 0x71;
    static final long CKR_USER_ALREADY_LOGGED_IN = 0x100;
    static final long CKR_WRAPPED_KEY_INVALID = 0x110;
    static final long CKR_WRAPPED_KEY_LEN_RANGE = 0x112;
    static final long CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191;
    static final long CKR_PIN_INCORRECT = 0xA0;

    static final long CKF_RW_SESSION = 0x2;
    static final long CKF_SERIAL_SESSION = 0x4;
    static final long CKF_OS_LOCKING_OK = 0x2;
    static final long CKU_USER = 1;

    // Object classes, key types, attributes (section 4).
    static final long CKO_DATA = 0x0;
    static final long CKO_PUBLIC_KEY = 0x2;
    static final long CKO_PRIVATE_KEY = 0x3;
    static final long CKO_SECRET_KEY = 0x4;
    static final long CKK_GENERIC_SECRET = 0x10;
    static final long CKK_AES = 0x1F;
    static final long CKA_CLASS = 0x0;
    static final long CKA_TOKEN = 0x1;
    static final long CKA_PRIVATE = 0x2;
    static final long CKA_LABEL = 0x3;
    static final long CKA_APPLICATION = 0x10;
    static final long CKA_VALUE = 0x11;
    static final long CKA_KEY_TYPE = 0x100;
    static final long CKA_ID = 0x102;
    static final long CKA_SENSITIVE = 0x103;
    static final long CKA_ENCRYPT = 0x104;
    static final long CKA_DECRYPT = 0x105;
    static final long CKA_WRAP = 0x106;
    static final long CKA_UNWRAP = 0x107;
    static final long CKA_MODULUS_BITS = 0x121;
    static final long CKA_PUBLIC_EXPONENT = 0x122;
    static final long CKA_VALUE_LEN = 0x161;
    static final long CKA_EXTRACTABLE = 0x162;

    // Mechanisms (PKCS#11 2.40 mechanisms document).
    static final long CKM_RSA_PKCS_KEY_PAIR_GEN = 0x0;
    static final long CKM_RSA_PKCS_OAEP = 0x9;
    static final long CKM_SHA_1 = 0x220;
    static final long CKM_SHA256 = 0x250;
    static final long CKM_AES_KEY_GEN = 0x1080;
    static final long CKM_AES_KEY_WRAP_PAD = 0x210A;
    static final long CKG_MGF1_SHA1 = 0x1;
    static final long CKG_MGF1_SHA256 = 0x2;
    static final long CKZ_DATA_SPECIFIED = 0x1;

    private static final ValueLayout.OfLong ULONG = ValueLayout.JAVA_LONG;
    private static final long ATTRIBUTE_BYTES = 24; // CK_ATTRIBUTE: type, pValue, ulValueLen
    private static final Map<Path, Pkcs11> MODULES = new ConcurrentHashMap<>();

    /** A non-OK return value. */
    static final class Failure extends RuntimeException {
        private static final long serialVersionUID = 1L;
        final long rv;

        Failure(String function, long rv) {
            super(function + " returned CKR 0x" + Long.toHexString(rv) + name(rv));
            this.rv = rv;
        }

        private static String name(long rv) {
            return switch ((int) rv) {
                case 0x7 -> " (CKR_ARGUMENTS_BAD)";
                case 0x40 -> " (CKR_ENCRYPTED_DATA_INVALID)";
                case 0x41 -> " (CKR_ENCRYPTED_DATA_LEN_RANGE)";
                case 0x70 -> " (CKR_MECHANISM_INVALID)";
                case 0x71 -> " (CKR_MECHANISM_PARAM_INVALID)";
                case 0xA0 -> " (CKR_PIN_INCORRECT)";
                case 0x110 -> " (CKR_WRAPPED_KEY_INVALID)";
                case 0x112 -> " (CKR_WRAPPED_KEY_LEN_RANGE)";
                case 0x101 -> " (CKR_USER_NOT_LOGGED_IN)";
                default -> "";
            };
        }
    }

    private final Path module;
    private final MethodHandle initialize;
    private final MethodHandle getSlotList;
    private final MethodHandle getTokenInfo;
    private final MethodHandle openSession;
    private final MethodHandle closeSession;
    private final MethodHandle login;
    private final MethodHandle generateKey;
    private final MethodHandle generateKeyPair;
    private final MethodHandle findObjectsInit;
    private final MethodHandle findObjects;
    private final MethodHandle findObjectsFinal;
    private final MethodHandle encryptInit;
    private final MethodHandle encrypt;
    private final MethodHandle decryptInit;
    private final MethodHandle decrypt;
    private final MethodHandle wrapKey;
    private final MethodHandle unwrapKey;
    private final MethodHandle createObject;
    private final MethodHandle destroyObject;
    private final MethodHandle getAttributeValue;

    private Pkcs11(Path module) {
        this.module = module;
        SymbolLookup lib = SymbolLookup.libraryLookup(module, Arena.global());
        Linker linker = Linker.nativeLinker();
        ValueLayout a = ValueLayout.ADDRESS;
        initialize = bind(lib, linker, "C_Initialize", a);
        getSlotList = bind(lib, linker, "C_GetSlotList", ValueLayout.JAVA_BYTE, a, a);
        getTokenInfo = bind(lib, linker, "C_GetTokenInfo", ULONG, a);
        openSession = bind(lib, linker, "C_OpenSession", ULONG, ULONG, a, a, a);
        closeSession = bind(lib, linker, "C_CloseSession", ULONG);
        login = bind(lib, linker, "C_Login", ULONG, ULONG, a, ULONG);
        generateKey = bind(lib, linker, "C_GenerateKey", ULONG, a, a, ULONG, a);
        generateKeyPair = bind(lib, linker, "C_GenerateKeyPair", ULONG, a, a, ULONG, a, ULONG, a, a);
        findObjectsInit = bind(lib, linker, "C_FindObjectsInit", ULONG, a, ULONG);
        findObjects = bind(lib, linker, "C_FindObjects", ULONG, a, ULONG, a);
        findObjectsFinal = bind(lib, linker, "C_FindObjectsFinal", ULONG);
        encryptInit = bind(lib, linker, "C_EncryptInit", ULONG, a, ULONG);
        encrypt = bind(lib, linker, "C_Encrypt", ULONG, a, ULONG, a, a);
        decryptInit = bind(lib, linker, "C_DecryptInit", ULONG, a, ULONG);
        decrypt = bind(lib, linker, "C_Decrypt", ULONG, a, ULONG, a, a);
        wrapKey = bind(lib, linker, "C_WrapKey", ULONG, a, ULONG, ULONG, a, a);
        unwrapKey = bind(lib, linker, "C_UnwrapKey", ULONG, a, ULONG, a, ULONG, a, ULONG, a);
        createObject = bind(lib, linker, "C_CreateObject", ULONG, a, ULONG, a);
        destroyObject = bind(lib, linker, "C_DestroyObject", ULONG, ULONG);
        getAttributeValue = bind(lib, linker, "C_GetAttributeValue", ULONG, ULONG, a, ULONG);
        try (Arena arena = Arena.ofConfined()) {
            // CK_C_INITIALIZE_ARGS: four mutex callbacks (null: use the OS's locks), flags, reserved.
            MemorySegment args = arena.allocate(48, 8);
            args.set(ULONG, 32, CKF_OS_LOCKING_OK);
            long rv = (long) call(initialize, args);
            if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
                throw new Failure("C_Initialize", rv);
            }
        }
    }

    /** The module at {@code path}, loaded and initialised once per JVM. */
    static Pkcs11 load(Path path) {
        Path module = path.toAbsolutePath().normalize();
        if (!Files.isReadable(module)) {
            throw new IllegalArgumentException("PKCS#11 module " + module + " is not a readable file");
        }
        return MODULES.computeIfAbsent(module, Pkcs11::new);
    }

    Path module() {
        return module;
    }

    private static MethodHandle bind(SymbolLookup lib, Linker linker, String name, java.lang.foreign.MemoryLayout... args) {
        MemorySegment symbol = lib.find(name).orElseThrow(() -> new IllegalArgumentException("the PKCS#11 module does not"
                + " export " + name));
        return linker.downcallHandle(symbol, FunctionDescriptor.of(ULONG, args));
    }

    private static Object call(MethodHandle handle, Object... args) {
        try {
            return handle.invokeWithArguments(args);
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static void check(String function, Object rv) {
        long code = (long) rv;
        if (code != CKR_OK) {
            throw new Failure(function, code);
        }
    }

    /** The slot whose token carries {@code label} (blank-padded to 32 bytes in CK_TOKEN_INFO). */
    long findSlot(String label) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment count = arena.allocate(ULONG);
            check("C_GetSlotList", call(getSlotList, (byte) 1, MemorySegment.NULL, count));
            MemorySegment slots = arena.allocate(ULONG, Math.max(1, count.get(ULONG, 0)));
            check("C_GetSlotList", call(getSlotList, (byte) 1, slots, count));
            List<String> seen = new ArrayList<>();
            for (int i = 0; i < count.get(ULONG, 0); i++) {
                long slot = slots.getAtIndex(ULONG, i);
                MemorySegment info = arena.allocate(512, 8);
                check("C_GetTokenInfo", call(getTokenInfo, slot, info));
                String tokenLabel = new String(info.asSlice(0, 32).toArray(ValueLayout.JAVA_BYTE),
                        StandardCharsets.UTF_8).strip();
                if (tokenLabel.equals(label)) {
                    return slot;
                }
                seen.add(tokenLabel);
            }
            throw new IllegalArgumentException("no token labelled '" + label + "' in " + module + "; tokens present: "
                    + seen);
        }
    }

    long openSession(long slot) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment session = arena.allocate(ULONG);
            check("C_OpenSession", call(openSession, slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, MemorySegment.NULL,
                    MemorySegment.NULL, session));
            return session.get(ULONG, 0);
        }
    }

    void closeSession(long session) {
        call(closeSession, session);
    }

    /** Logs the user in with a PIN held off-heap. */
    void login(long session, MemorySegment pin) {
        long rv = (long) call(login, session, CKU_USER, pin, pin.byteSize());
        if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
            throw new Failure("C_Login", rv);
        }
    }

    long generateKey(long session, Template template, long mechanism) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ULONG);
            check("C_GenerateKey", call(generateKey, session, mechanism(arena, mechanism), template.array(),
                    template.count(), handle));
            return handle.get(ULONG, 0);
        }
    }

    long[] generateKeyPair(long session, Template publicKey, Template privateKey) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment pub = arena.allocate(ULONG);
            MemorySegment priv = arena.allocate(ULONG);
            check("C_GenerateKeyPair", call(generateKeyPair, session, mechanism(arena, CKM_RSA_PKCS_KEY_PAIR_GEN),
                    publicKey.array(), publicKey.count(), privateKey.array(), privateKey.count(), pub, priv));
            return new long[] {pub.get(ULONG, 0), priv.get(ULONG, 0)};
        }
    }

    List<Long> findObjects(long session, Template template) {
        try (Arena arena = Arena.ofConfined()) {
            check("C_FindObjectsInit", call(findObjectsInit, session, template.array(), template.count()));
            List<Long> found = new ArrayList<>();
            try {
                MemorySegment handles = arena.allocate(ULONG, 16);
                MemorySegment count = arena.allocate(ULONG);
                while (true) {
                    check("C_FindObjects", call(findObjects, session, handles, 16L, count));
                    long n = count.get(ULONG, 0);
                    for (int i = 0; i < n; i++) {
                        found.add(handles.getAtIndex(ULONG, i));
                    }
                    if (n < 16) {
                        return found;
                    }
                }
            } finally {
                call(findObjectsFinal, session);
            }
        }
    }

    long createObject(long session, Template template) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment handle = arena.allocate(ULONG);
            check("C_CreateObject", call(createObject, session, template.array(), template.count(), handle));
            return handle.get(ULONG, 0);
        }
    }

    void destroyObject(long session, long object) {
        check("C_DestroyObject", call(destroyObject, session, object));
    }

    /** Reads one attribute's bytes into {@code into} (sized by a first call). */
    MemorySegment attribute(long session, long object, long type, Arena into) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment attr = arena.allocate(ATTRIBUTE_BYTES, 8);
            attr.set(ULONG, 0, type);
            attr.set(ValueLayout.ADDRESS, 8, MemorySegment.NULL);
            check("C_GetAttributeValue", call(getAttributeValue, session, object, attr, 1L));
            MemorySegment value = into.allocate(Math.max(1, attr.get(ULONG, 16)));
            attr.set(ValueLayout.ADDRESS, 8, value);
            check("C_GetAttributeValue", call(getAttributeValue, session, object, attr, 1L));
            return value.asSlice(0, attr.get(ULONG, 16));
        }
    }

    /** C_EncryptInit + C_Encrypt; returns the output bytes (public data: ciphertext). */
    byte[] encrypt(long session, MemorySegment mechanism, long key, MemorySegment input, int maxOutput) {
        try (Arena arena = Arena.ofConfined()) {
            check("C_EncryptInit", call(encryptInit, session, mechanism, key));
            MemorySegment out = arena.allocate(maxOutput);
            MemorySegment length = arena.allocate(ULONG);
            length.set(ULONG, 0, maxOutput);
            check("C_Encrypt", call(encrypt, session, input, input.byteSize(), out, length));
            return out.asSlice(0, length.get(ULONG, 0)).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    /** C_DecryptInit + C_Decrypt into off-heap memory of {@code into}; returns the plaintext slice. */
    MemorySegment decrypt(long session, MemorySegment mechanism, long key, byte[] input, int maxOutput, Arena into) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocateFrom(ValueLayout.JAVA_BYTE, input);
            MemorySegment out = into.allocate(maxOutput);
            MemorySegment length = arena.allocate(ULONG);
            length.set(ULONG, 0, maxOutput);
            try {
                check("C_DecryptInit", call(decryptInit, session, mechanism, key));
                check("C_Decrypt", call(decrypt, session, in, (long) input.length, out, length));
            } catch (RuntimeException | Error e) {
                out.fill((byte) 0); // a token may have written part of a plaintext before failing
                throw e;
            }
            long n = length.get(ULONG, 0);
            out.asSlice(n).fill((byte) 0);
            return out.asSlice(0, n);
        }
    }

    byte[] wrapKey(long session, MemorySegment mechanism, long wrappingKey, long key, int maxOutput) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(maxOutput);
            MemorySegment length = arena.allocate(ULONG);
            length.set(ULONG, 0, maxOutput);
            check("C_WrapKey", call(wrapKey, session, mechanism, wrappingKey, key, out, length));
            return out.asSlice(0, length.get(ULONG, 0)).toArray(ValueLayout.JAVA_BYTE);
        }
    }

    long unwrapKey(long session, MemorySegment mechanism, long unwrappingKey, byte[] wrapped, Template template) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment in = arena.allocateFrom(ValueLayout.JAVA_BYTE, wrapped);
            MemorySegment handle = arena.allocate(ULONG);
            check("C_UnwrapKey", call(unwrapKey, session, mechanism, unwrappingKey, in, (long) wrapped.length,
                    template.array(), template.count(), handle));
            return handle.get(ULONG, 0);
        }
    }

    /** A CK_MECHANISM without parameters. */
    static MemorySegment mechanism(Arena arena, long type) {
        MemorySegment m = arena.allocate(24, 8);
        m.set(ULONG, 0, type);
        m.set(ValueLayout.ADDRESS, 8, MemorySegment.NULL);
        m.set(ULONG, 16, 0);
        return m;
    }

    /** CKM_RSA_PKCS_OAEP with CK_RSA_PKCS_OAEP_PARAMS {hashAlg, mgf, source, pSourceData, ulSourceDataLen}. */
    static MemorySegment oaep(Arena arena, boolean sha256) {
        MemorySegment params = arena.allocate(40, 8);
        params.set(ULONG, 0, sha256 ? CKM_SHA256 : CKM_SHA_1);
        params.set(ULONG, 8, sha256 ? CKG_MGF1_SHA256 : CKG_MGF1_SHA1);
        params.set(ULONG, 16, CKZ_DATA_SPECIFIED);
        params.set(ValueLayout.ADDRESS, 24, MemorySegment.NULL);
        params.set(ULONG, 32, 0);
        MemorySegment m = arena.allocate(24, 8);
        m.set(ULONG, 0, CKM_RSA_PKCS_OAEP);
        m.set(ValueLayout.ADDRESS, 8, params);
        m.set(ULONG, 16, 40);
        return m;
    }

    /** A CK_ATTRIBUTE array built in an arena. */
    static final class Template {
        private final Arena arena;
        private final List<long[]> types = new ArrayList<>();
        private final List<MemorySegment> values = new ArrayList<>();

        Template(Arena arena) {
            this.arena = arena;
        }

        Template bool(long type, boolean value) {
            return add(type, arena.allocateFrom(ValueLayout.JAVA_BYTE, new byte[] {(byte) (value ? 1 : 0)}));
        }

        Template ulong(long type, long value) {
            MemorySegment v = arena.allocate(ULONG);
            v.set(ULONG, 0, value);
            return add(type, v);
        }

        Template bytes(long type, byte[] value) {
            return add(type, arena.allocateFrom(ValueLayout.JAVA_BYTE, value));
        }

        /** A value already off-heap (key bytes): passed by address, never copied to the heap. */
        Template segment(long type, MemorySegment value) {
            return add(type, value);
        }

        private Template add(long type, MemorySegment value) {
            types.add(new long[] {type});
            values.add(value);
            return this;
        }

        long count() {
            return types.size();
        }

        MemorySegment array() {
            MemorySegment array = arena.allocate(ATTRIBUTE_BYTES * Math.max(1, types.size()), 8);
            for (int i = 0; i < types.size(); i++) {
                long base = i * ATTRIBUTE_BYTES;
                array.set(ULONG, base, types.get(i)[0]);
                array.set(ValueLayout.ADDRESS, base + 8, values.get(i));
                array.set(ULONG, base + 16, values.get(i).byteSize());
            }
            return array;
        }
    }
}
