package io.sectorcrypt.keys;

import java.util.regex.Pattern;

/**
 * The one rule for key names, vault ids, set ids, disk ids and identities; public so a caller
 * can refuse a bad name before the costly part of an operation (unlocking a vault).
 */
public final class Names {
    /** Letters, digits, '.', '_', '-', '@', ':'; starting with a letter or digit. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._@:-]*");
    /** The longest key name, identity, disk id or encryption set id. */
    public static final int MAX_KEY_NAME = 127;
    /** The longest vault id. */
    public static final int MAX_VAULT_ID = 64;

    private Names() {
    }

    /** Returns {@code value} if it is a valid name of at most {@code max} characters; else says why. */
    public static String check(String what, String value, int max) {
        if (value == null || value.isEmpty()) {
            throw new IllegalArgumentException(what + " is empty");
        }
        if (value.length() > max) {
            throw new IllegalArgumentException(what + " is longer than " + max + " characters");
        }
        if (!NAME.matcher(value).matches()) {
            throw new IllegalArgumentException(what + " '" + value + "' may hold only letters, digits and . _ @ : -"
                    + " and must start with a letter or digit");
        }
        return value;
    }

    public static String keyName(String name) {
        return check("key name", name, MAX_KEY_NAME);
    }

    public static String vaultId(String id) {
        return check("vault id", id, MAX_VAULT_ID);
    }

    public static String identity(String identity) {
        return check("identity", identity, MAX_KEY_NAME);
    }
}
