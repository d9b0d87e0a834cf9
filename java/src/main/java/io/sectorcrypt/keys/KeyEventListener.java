package io.sectorcrypt.keys;

/**
 * Receives {@link KeyEvent}s, on the thread that caused them (a maintenance run, an attach,
 * an I/O call that found its key unavailable): keep it quick, hand long work elsewhere. An
 * exception thrown here is logged and otherwise ignored.
 */
@FunctionalInterface
public interface KeyEventListener {
    void onEvent(KeyEvent event);
}
