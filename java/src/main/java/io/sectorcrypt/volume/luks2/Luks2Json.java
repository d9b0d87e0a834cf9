package io.sectorcrypt.volume.luks2;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Base64;

/**
 * Strict readers of the JSON field kinds the LUKS2 on-disk format defines (section 3:
 * string, integer, {@code string-uint64}, base64), each refusing with one
 * {@link Luks2FormatException} that names the object and the field. No reader allocates more
 * than its bound before it has checked the length.
 */
final class Luks2Json {
    /** Longest string field a keyslot or digest holds that we read (names, hashes, ciphers). */
    static final int MAX_NAME_CHARS = 64;

    private Luks2Json() {
    }

    /** The object at {@code field}. */
    static JsonNode object(JsonNode parent, String field, String where) {
        JsonNode node = field(parent, field, where);
        if (!node.isObject()) {
            throw new Luks2FormatException(where + "." + field + " must be a JSON object");
        }
        return node;
    }

    /** A string of at most {@value #MAX_NAME_CHARS} characters. */
    static String string(JsonNode parent, String field, String where) {
        JsonNode node = field(parent, field, where);
        if (!node.isTextual()) {
            throw new Luks2FormatException(where + "." + field + " must be a JSON string");
        }
        String value = node.textValue();
        if (value.length() > MAX_NAME_CHARS) {
            throw new Luks2FormatException(where + "." + field + " is longer than " + MAX_NAME_CHARS + " characters");
        }
        return value;
    }

    /** A string that must equal {@code expected}. */
    static void expect(JsonNode parent, String field, String where, String expected) {
        String value = string(parent, field, where);
        if (!value.equals(expected)) {
            throw new Luks2FormatException(where + "." + field + " is '" + printable(value) + "'; only '" + expected
                    + "' is supported");
        }
    }

    /** A JSON integer (not a string, not a fraction) in {@code [min, max]}. */
    static long integer(JsonNode parent, String field, String where, long min, long max) {
        JsonNode node = field(parent, field, where);
        if (!node.isIntegralNumber() || !node.canConvertToLong()) {
            throw new Luks2FormatException(where + "." + field + " must be a JSON integer");
        }
        long value = node.longValue();
        if (value < min || value > max) {
            throw new Luks2FormatException(where + "." + field + " is " + value + ", outside " + min + ".." + max);
        }
        return value;
    }

    /**
     * A {@code string-uint64} (section 3: a decimal number in a JSON string, as JSON numbers
     * lose precision past 2^53), here at most {@link Long#MAX_VALUE}.
     */
    static long uint64(JsonNode parent, String field, String where) {
        JsonNode node = field(parent, field, where);
        if (!node.isTextual()) {
            throw new Luks2FormatException(where + "." + field + " must be a decimal number in a JSON string");
        }
        String text = node.textValue();
        if (text.isEmpty() || text.length() > 19 || !text.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new Luks2FormatException(where + "." + field + " must be a decimal number below 2^63, not '"
                    + printable(text) + "'");
        }
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw new Luks2FormatException(where + "." + field + " must be a decimal number below 2^63", e);
        }
    }

    /** Base64 (RFC 4648 section 4, the standard alphabet) of {@code minBytes..maxBytes} bytes. */
    static byte[] base64(JsonNode parent, String field, String where, int minBytes, int maxBytes) {
        JsonNode node = field(parent, field, where);
        if (!node.isTextual()) {
            throw new Luks2FormatException(where + "." + field + " must be base64 in a JSON string");
        }
        String text = node.textValue();
        // Bound the text before decoding: 4 characters per 3 bytes, padded.
        if (text.length() > (maxBytes + 2) / 3 * 4) {
            throw new Luks2FormatException(where + "." + field + " is longer than " + maxBytes + " bytes");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(text);
        } catch (IllegalArgumentException e) {
            throw new Luks2FormatException(where + "." + field + " is not valid base64", e);
        }
        if (bytes.length < minBytes || bytes.length > maxBytes) {
            throw new Luks2FormatException(where + "." + field + " is " + bytes.length + " bytes, outside "
                    + minBytes + ".." + maxBytes);
        }
        return bytes;
    }

    /** A value for an error message: printable ASCII only, at most 32 characters. */
    static String printable(String value) {
        return printable(value, 32);
    }

    /** A value for an error message: printable ASCII only, at most {@code maxChars} characters. */
    static String printable(String value, int maxChars) {
        if (value == null) {
            return "null";
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < value.length() && i < maxChars; i++) {
            char c = value.charAt(i);
            b.append(c >= 0x20 && c < 0x7f ? c : '?');
        }
        return value.length() > maxChars ? b + "..." : b.toString();
    }

    private static JsonNode field(JsonNode parent, String field, String where) {
        JsonNode node = parent.get(field);
        if (node == null || node.isNull()) {
            throw new Luks2FormatException(where + "." + field + " is missing");
        }
        return node;
    }
}
