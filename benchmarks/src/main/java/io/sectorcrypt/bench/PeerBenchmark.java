package io.sectorcrypt.bench;

import io.sectorcrypt.jca.SectorCryptProvider;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.security.GeneralSecurityException;
import java.util.concurrent.TimeUnit;
import javax.crypto.Cipher;
import javax.crypto.spec.IvParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What a user would otherwise pick, one sector per operation, same key, same data sizes,
 * same JVM: OpenSSL's EVP XTS through FFM (IV reset per sector), ACCP's and our JCA
 * {@code AES/XTS/NoPadding} (init with the sector's tweak, then doFinal: the JCA way), and
 * XTS on Bouncy Castle's AESEngine. Score = sectors per second.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "--sun-misc-unsafe-memory-access=allow"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class PeerBenchmark {
    @Param({"openssl", "accp", "sectorcrypt-jca", "bouncycastle"})
    public String peer;

    @Param({"512", "4096"})
    public int sectorSize;

    @Param({"true"})
    public boolean encrypt;

    private Arena arena;
    private MemorySegment segment;
    private byte[] array;
    private OpenSslXts openssl;
    private Cipher jca;
    private SecretKeySpec jcaKey;
    private BouncyCastleXts bc;
    private long sector;
    private final byte[] tweak = new byte[16];

    @Setup(Level.Trial)
    public void setUp() throws Exception {
        byte[] key = BenchKeys.key(64);
        arena = Arena.ofShared();
        segment = arena.allocate(sectorSize, 4096);
        array = new byte[sectorSize];
        switch (peer) {
            case "openssl" -> openssl = new OpenSslXts(key, encrypt);
            case "accp", "sectorcrypt-jca" -> {
                jca = peer.equals("accp") ? AccpPeer.cipher()
                        : Cipher.getInstance("AES/XTS/NoPadding", new SectorCryptProvider());
                jcaKey = new SecretKeySpec(key, "AES");
            }
            case "bouncycastle" -> bc = new BouncyCastleXts(key, encrypt);
            default -> throw new IllegalArgumentException("unknown peer " + peer);
        }
        JitWarmUp.untilCompiled(this::sector);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        if (openssl != null) {
            openssl.close();
        }
        arena.close();
    }

    @Benchmark
    public Object sector() throws GeneralSecurityException {
        long s = sector++;
        switch (peer) {
            case "openssl" -> openssl.sector(segment, segment, s);
            case "bouncycastle" -> bc.sector(array, 0, sectorSize, s);
            default -> {
                for (int i = 0; i < 8; i++) {
                    tweak[i] = (byte) (s >>> (8 * i));
                }
                jca.init(encrypt ? Cipher.ENCRYPT_MODE : Cipher.DECRYPT_MODE, jcaKey, new IvParameterSpec(tweak));
                return jca.doFinal(array, 0, sectorSize, array, 0);
            }
        }
        return null;
    }
}
