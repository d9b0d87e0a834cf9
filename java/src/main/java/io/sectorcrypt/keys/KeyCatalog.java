package io.sectorcrypt.keys;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A vault's keys, in memory: metadata (type, versions, state, expiry, deletion, access
 * policy) and, per version, an opaque {@code material} the vault interprets: the key bytes
 * sealed on their own in {@link LocalKeyVault} (which stores this catalog encrypted as well,
 * and keeps it in memory between operations), an object id in
 * {@link Pkcs11KeyVault} (whose keys stay in the token). Not thread-safe: vaults use it
 * under their lock.
 *
 * <p>Serialised form: "SCKC", a format byte (1), then per key its name, type code, deletion
 * time, versions (number, enabled, created, expiry, material) and grants (identity,
 * permission bits); times as epoch milliseconds, -1 for none.
 */
final class KeyCatalog {
    private static final int MAGIC = 0x53434B43; // "SCKC"
    private static final int FORMAT = 1;

    static final class Version {
        final int number;
        boolean enabled = true;
        final Instant created;
        Instant expires;
        byte[] material;

        Version(int number, Instant created, Instant expires, byte[] material) {
            this.number = number;
            this.created = created;
            this.expires = expires;
            this.material = material;
        }

        KeyVersion view(String name, KeyType type) {
            return new KeyVersion(name, number, type, enabled, created, expires);
        }
    }

    static final class Entry {
        final String name;
        final KeyType type;
        Instant deletedAt;
        final List<Version> versions = new ArrayList<>();
        final TreeMap<String, EnumSet<Permission>> access = new TreeMap<>();

        Entry(String name, KeyType type) {
            this.name = name;
            this.type = type;
        }

        Version version(int number) {
            for (Version v : versions) {
                if (v.number == number) {
                    return v;
                }
            }
            return null;
        }

        KeyInfo view() {
            Map<String, Set<Permission>> grants = new LinkedHashMap<>();
            access.forEach((id, p) -> grants.put(id, Set.copyOf(p)));
            return new KeyInfo(name, type, versions.stream().map(v -> v.view(name, type)).toList(), deletedAt, grants);
        }
    }

    final TreeMap<String, Entry> keys = new TreeMap<>();

    byte[] encode() {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bytes)) {
            out.writeInt(MAGIC);
            out.writeByte(FORMAT);
            out.writeInt(keys.size());
            for (Entry e : keys.values()) {
                out.writeUTF(e.name);
                out.writeByte(e.type.code());
                writeTime(out, e.deletedAt);
                out.writeInt(e.versions.size());
                for (Version v : e.versions) {
                    out.writeInt(v.number);
                    out.writeBoolean(v.enabled);
                    writeTime(out, v.created);
                    writeTime(out, v.expires);
                    out.writeInt(v.material.length);
                    out.write(v.material);
                }
                out.writeInt(e.access.size());
                for (Map.Entry<String, EnumSet<Permission>> grant : e.access.entrySet()) {
                    out.writeUTF(grant.getKey());
                    int bits = 0;
                    for (Permission p : grant.getValue()) {
                        bits |= 1 << p.ordinal();
                    }
                    out.writeByte(bits);
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return bytes.toByteArray();
    }

    /** Parses {@link #encode()}'s output; the caller has already authenticated it. */
    static KeyCatalog decode(byte[] encoded) throws IOException {
        KeyCatalog catalog = new KeyCatalog();
        try (DataInputStream in = new DataInputStream(new ByteArrayInputStream(encoded))) {
            if (in.readInt() != MAGIC || in.readByte() != FORMAT) {
                throw new IOException("not a key catalog of format " + FORMAT);
            }
            int count = in.readInt();
            for (int i = 0; i < count; i++) {
                Entry e = new Entry(in.readUTF(), KeyType.ofCode(in.readByte()));
                e.deletedAt = readTime(in);
                int versions = in.readInt();
                for (int j = 0; j < versions; j++) {
                    int number = in.readInt();
                    boolean enabled = in.readBoolean();
                    Instant created = readTime(in);
                    Instant expires = readTime(in);
                    byte[] material = new byte[in.readInt()];
                    in.readFully(material);
                    Version v = new Version(number, created, expires, material);
                    v.enabled = enabled;
                    e.versions.add(v);
                }
                int grants = in.readInt();
                for (int j = 0; j < grants; j++) {
                    String identity = in.readUTF();
                    int bits = in.readByte();
                    EnumSet<Permission> permissions = EnumSet.noneOf(Permission.class);
                    for (Permission p : Permission.values()) {
                        if ((bits & (1 << p.ordinal())) != 0) {
                            permissions.add(p);
                        }
                    }
                    e.access.put(identity, permissions);
                }
                catalog.keys.put(e.name, e);
            }
            if (in.available() != 0) {
                throw new IOException("trailing bytes after the key catalog");
            }
        } catch (IllegalArgumentException | java.io.EOFException e) {
            throw new IOException("the key catalog is malformed", e);
        }
        return catalog;
    }

    private static void writeTime(DataOutputStream out, Instant t) throws IOException {
        out.writeLong(t == null ? -1 : t.toEpochMilli());
    }

    private static Instant readTime(DataInputStream in) throws IOException {
        long millis = in.readLong();
        return millis < 0 ? null : Instant.ofEpochMilli(millis);
    }
}
