package io.sectorcrypt.cli;

import java.util.Locale;

/** Sizes as people write them: 4096, 64M, 1G, 2T, 512K (powers of 1024; KiB/MiB/GiB/TiB too). */
final class Sizes {
    private Sizes() {
    }

    /** Parses {@code text} for {@code option}; throws a {@link CliException} naming the option. */
    static long parse(String option, String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        int shift = 0;
        String[][] suffixes = {{"TIB", "40"}, {"GIB", "30"}, {"MIB", "20"}, {"KIB", "10"}, {"T", "40"}, {"G", "30"},
            {"M", "20"}, {"K", "10"}, {"B", "0"}};
        for (String[] s : suffixes) {
            if (t.endsWith(s[0])) {
                shift = Integer.parseInt(s[1]);
                t = t.substring(0, t.length() - s[0].length());
                break;
            }
        }
        long n;
        try {
            n = Long.parseLong(t);
        } catch (NumberFormatException e) {
            n = t.chars().allMatch(Character::isDigit) && !t.isEmpty() ? Long.MAX_VALUE : -1;
        }
        if (n > (Long.MAX_VALUE >> shift)) {
            throw new CliException(option + " '" + text + "' is too large (at most 2^63 - 1 bytes)");
        }
        if (n <= 0) {
            throw new CliException(option + " '" + text + "' is not a size: a positive number of bytes, or with K, M,"
                    + " G or T (powers of 1024), e.g. 64M");
        }
        return n << shift;
    }
}
