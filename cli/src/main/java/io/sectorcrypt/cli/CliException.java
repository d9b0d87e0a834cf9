package io.sectorcrypt.cli;

/** A failure the user can fix; its message is printed as is, without a stack trace. */
final class CliException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    CliException(String message) {
        super(message, null, false, false);
    }

    CliException(String message, Throwable cause) {
        super(message, cause, false, false);
    }
}
