package io.sectorcrypt.volume;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

/**
 * Every record the library logs, at every level, with its parameters, while open: for tests
 * that show no secret reaches a log. Tests add their own strings (messages, toString) to
 * {@link #seen()} to search them all at once.
 */
final class LogCapture extends Handler implements AutoCloseable {
    private final Logger root = Logger.getLogger("io.sectorcrypt");
    private final Level level = root.getLevel();
    private final List<String> seen = Collections.synchronizedList(new ArrayList<>());

    private LogCapture() {
        root.addHandler(this);
        root.setLevel(Level.ALL);
    }

    static LogCapture start() {
        return new LogCapture();
    }

    /** What was logged so far, and what the test added. */
    List<String> seen() {
        return seen;
    }

    @Override
    public void publish(LogRecord r) {
        seen.add(String.valueOf(r.getMessage()));
        if (r.getParameters() != null) {
            for (Object p : r.getParameters()) {
                seen.add(String.valueOf(p));
            }
        }
    }

    @Override
    public void flush() {
    }

    /** Stops capturing and restores the level. */
    @Override
    public void close() {
        root.removeHandler(this);
        root.setLevel(level);
    }
}
