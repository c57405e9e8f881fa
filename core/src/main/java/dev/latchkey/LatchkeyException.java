package dev.latchkey;

/**
 * The root of the exceptions that Latchkey throws for failures that are not the caller's misuse
 * (misuse is reported with the standard {@link IllegalArgumentException},
 * {@link IllegalStateException} and {@link NullPointerException}).
 */
public abstract class LatchkeyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception.
     *
     * @param message what went wrong and what to do about it
     * @param cause the underlying failure, or {@code null}
     */
    protected LatchkeyException(String message, Throwable cause) {
        super(message, cause);
    }
}
