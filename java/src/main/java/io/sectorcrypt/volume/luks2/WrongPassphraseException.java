package io.sectorcrypt.volume.luks2;

/**
 * The key a passphrase opened from a keyslot does not match the volume key digest (LUKS2
 * on-disk format, section 4.3): the passphrase is wrong for this keyslot. Says nothing more,
 * so that it reveals nothing about the passphrase or the key.
 */
public final class WrongPassphraseException extends Exception {
    private static final long serialVersionUID = 1L;

    public WrongPassphraseException(String message) {
        super(message);
    }
}
