package io.sectorcrypt.crypto;

import java.util.Arrays;
import javax.crypto.SecretKey;

/**
 * A secret key handed to a JCA cipher for one operation, zeroed by {@link #destroy()}:
 * {@link javax.crypto.spec.SecretKeySpec} offers no public way to wipe its copy.
 */
public final class DestroyableKey implements SecretKey {
    private static final long serialVersionUID = 1L;

    private final String algorithm;
    private final byte[] material;
    private volatile boolean destroyed;

    /** Copies {@code material}; the caller zeroes its own array. */
    public DestroyableKey(byte[] material, String algorithm) {
        this.material = material.clone();
        this.algorithm = algorithm;
    }

    @Override
    public String getAlgorithm() {
        return algorithm;
    }

    @Override
    public String getFormat() {
        return "RAW";
    }

    @Override
    public byte[] getEncoded() {
        if (destroyed) {
            throw new IllegalStateException("key destroyed");
        }
        return material.clone();
    }

    @Override
    public void destroy() {
        Arrays.fill(material, (byte) 0);
        destroyed = true;
    }

    @Override
    public boolean isDestroyed() {
        return destroyed;
    }

    @Override
    public String toString() {
        return "DestroyableKey[" + algorithm + ", " + material.length + " bytes]";
    }
}
