package io.sectorcrypt.server;

import io.sectorcrypt.volume.EncryptedVolume;
import java.nio.charset.StandardCharsets;
import java.util.Objects;

/**
 * One export of an {@link NbdServer}: a name clients ask for and the volume behind it. The
 * export is read-only exactly when the volume was opened read-only. The server never opens
 * or closes the volume: its owner does, after {@link NbdServer#close()}.
 *
 * @param name        what clients ask for (NBD_OPT_GO, NBD_OPT_EXPORT_NAME): 1 to 4096 bytes of
 *                    UTF-8 ("Conventions": strings), no NUL
 * @param description a line for humans (NBD_INFO_DESCRIPTION, NBD_OPT_LIST), at most 4096 bytes
 *                    of UTF-8, or null for none
 * @param volume      the open volume
 */
public record NbdExport(String name, String description, EncryptedVolume volume) {
    /**
     * @throws IllegalArgumentException if the name is empty, has a NUL or is too long, or the
     *         description is too long
     */
    public NbdExport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(volume, "volume");
        checkString("an export name", name);
        if (name.isEmpty() || name.indexOf('\0') >= 0) {
            throw new IllegalArgumentException("an export name must be non-empty and have no NUL: '" + name + "'");
        }
        if (description != null) {
            checkString("an export description", description);
        }
    }

    /** An export without a description. */
    public NbdExport(String name, EncryptedVolume volume) {
        this(name, null, volume);
    }

    private static void checkString(String what, String s) {
        int bytes = s.getBytes(StandardCharsets.UTF_8).length;
        if (bytes > Nbd.MAX_STRING_BYTES) {
            throw new IllegalArgumentException(what + " is " + bytes + " bytes of UTF-8; the NBD protocol allows at most "
                    + Nbd.MAX_STRING_BYTES);
        }
    }

    /**
     * The transmission flags this export announces ("Transmission flags"): only what it does.
     * FLUSH and FUA sync the volume's file; TRIM discards; WRITE_ZEROES writes encrypted
     * zeros, so NO_HOLE (never a hole) holds whether asked or not. CAN_MULTI_CONN: every
     * connection to an export shares its one {@link EncryptedVolume}, which has no cache of
     * its own (a reply is sent after the positional write returned), and its flush forces the
     * one file every connection writes to; so a flush or FUA on any connection covers the
     * writes completed on all of them, as the flag requires. A read-only export refuses
     * writes, so it does not offer the commands that write.
     */
    int transmissionFlags() {
        int flags = Nbd.NBD_FLAG_HAS_FLAGS | Nbd.NBD_FLAG_SEND_FLUSH | Nbd.NBD_FLAG_CAN_MULTI_CONN;
        if (volume.isReadOnly()) {
            return flags | Nbd.NBD_FLAG_READ_ONLY;
        }
        return flags | Nbd.NBD_FLAG_SEND_FUA | Nbd.NBD_FLAG_SEND_TRIM | Nbd.NBD_FLAG_SEND_WRITE_ZEROES;
    }
}
