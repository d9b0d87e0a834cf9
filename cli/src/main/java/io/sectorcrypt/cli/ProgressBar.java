package io.sectorcrypt.cli;

import java.io.PrintWriter;

/** A one-line progress bar on a terminal, redrawn at most ten times a second. */
class ProgressBar {
    /** Draws nothing: for output that is not a terminal. */
    static final ProgressBar NONE = new ProgressBar(null);

    private static final int WIDTH = 30;
    private final PrintWriter err;
    private final long start = System.nanoTime();
    private long lastDraw;
    private boolean drawn;

    ProgressBar(PrintWriter err) {
        this.err = err;
    }

    void update(long done, long total) {
        if (err == null) {
            return;
        }
        long now = System.nanoTime();
        if (now - lastDraw < 100_000_000L && done != total) {
            return;
        }
        lastDraw = now;
        double seconds = Math.max(1e-9, (now - start) / 1e9);
        String rate = String.format("%.2f GB/s", done / seconds / 1e9);
        if (total > 0) {
            int filled = (int) (WIDTH * done / total);
            err.printf("\r[%s%s] %3d%% %s / %s %s", "#".repeat(filled), " ".repeat(WIDTH - filled),
                    100 * done / total, mib(done), mib(total), rate);
        } else {
            err.printf("\r%s %s", mib(done), rate);
        }
        err.flush();
        drawn = true;
    }

    void finish() {
        if (err != null && drawn) {
            err.println();
            err.flush();
        }
    }

    private static String mib(long bytes) {
        return String.format("%.1f MiB", bytes / 1048576.0);
    }
}
