package io.sectorcrypt.keys;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;

/** What an identity may do with a key: read its metadata, wrap with it, unwrap with it. */
public enum Permission {
    GET("get"), WRAP_KEY("wrapKey"), UNWRAP_KEY("unwrapKey");

    private final String label;

    Permission(String label) {
        this.label = label;
    }

    /** "get", "wrapKey", "unwrapKey". */
    public String label() {
        return label;
    }

    /** All three: what an encryption set's identity needs. */
    public static Set<Permission> all() {
        return EnumSet.allOf(Permission.class);
    }

    /** Parses "get", "wrapKey" or "unwrapKey" (any case). */
    public static Permission parse(String name) {
        for (Permission p : values()) {
            if (p.label.toLowerCase(Locale.ROOT).equals(name.strip().toLowerCase(Locale.ROOT))) {
                return p;
            }
        }
        throw new IllegalArgumentException("unknown permission '" + name + "'; choose get, wrapKey or unwrapKey");
    }
}
