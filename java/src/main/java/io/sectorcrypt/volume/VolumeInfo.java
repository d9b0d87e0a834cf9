package io.sectorcrypt.volume;

import io.sectorcrypt.keys.DiskKeys;
import io.sectorcrypt.volume.luks2.Luks2Header;
import io.sectorcrypt.volume.luks2.Luks2Metadata;
import java.util.List;
import java.util.Map;

/**
 * What a volume's header says, without key material: for {@code volume info} and scripts.
 *
 * @param size        data bytes
 * @param dataOffset  where the ciphertext starts in the data file or device, bytes
 * @param headerBytes one copy of the header (binary header and JSON area), bytes
 * @param seqid       the header's update counter
 * @param cipher      segment 0's cipher: the data cipher, or the inner layer's on a DOUBLE disk
 * @param outerCipher the outer layer's cipher on a DOUBLE disk ({@code capi:hctr2(aes)-plain64}),
 *                    else null
 * @param setId       the encryption set (null for a LUKS2 disk without our envelope)
 * @param layers      per key layer: its role and its wrapped copies, newest first
 */
public record VolumeInfo(String path, String uuid, String label, boolean detachedHeader, long size, int sectorSize,
        long dataOffset, long headerBytes, long seqid, String cipher, String outerCipher, String setId, List<Layer> layers,
        List<Integer> keyslots, Map<Integer, String> tokens) {
    /** One wrapped copy of a DEK: the algorithm and the key version that unwraps it. */
    public record WrappedCopy(String algorithm, String vault, String key, int version) {
    }

    public record Layer(String role, List<WrappedCopy> wrapped) {
    }

    /**
     * A temporary disk ({@link EncryptedVolume#isTemporary()}): no header, so {@code headerBytes}
     * and {@code seqid} are 0, {@code setId} is null, no layers, keyslots or tokens; the data
     * starts at 0; {@code uuid} is the disk id it was made with.
     */
    static VolumeInfo temporary(String path, String diskId, long size, int sectorSize) {
        return new VolumeInfo(path, diskId, "", false, size, sectorSize, 0, 0, 0, Luks2Metadata.CIPHER, null, null,
                List.of(), List.of(), Map.of());
    }

    static VolumeInfo of(String path, boolean detached, Luks2Header header, long size) {
        Luks2Metadata m = header.metadata();
        Luks2Metadata.CryptSegment seg = m.segment();
        DiskKeys keys = m.envelope().orElse(null);
        List<Layer> layers = keys == null ? List.of() : keys.layers().stream().map(l -> new Layer(
                l.role().label(), l.copies().stream().map(w -> new WrappedCopy(w.algorithm()
                        .label(), w.vaultId(), w.keyName(), w.keyVersion())).toList())).toList();
        return new VolumeInfo(path, header.uuid(), header.binary().label(), detached, size, seg.sectorSize(),
                seg.offset(), header.binary().hdrSize(), header.binary().seqid(), Luks2Metadata.CIPHER,
                OuterLayerToken.read(m, path).isPresent() ? OuterLayerToken.OUTER_CIPHER : null, keys == null ? null : keys.setId(), layers, m.keyslots(), m.tokenTypes());
    }
}
