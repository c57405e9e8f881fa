package dev.latchkey;

import java.time.Duration;

/**
 * A session's lock could not be acquired within the configured lock timeout: another thread or
 * process held it for longer. Nothing was changed. The usual cause is a long unit of work held
 * through {@link SessionStore#lock(String)}; a request that sees this may be retried or answered
 * with "service unavailable".
 */
public final class LockTimeoutException extends LatchkeyException {
    private static final long serialVersionUID = 1L;

    private final transient Duration timeout;

    /**
     * Creates an exception.
     *
     * @param message which lock could not be had
     * @param timeout how long the caller waited
     */
    public LockTimeoutException(String message, Duration timeout) {
        super(message + " (waited " + timeout.toMillis() + " ms; raise StoreConfig.lockTimeout or"
                + " shorten the work done while a session is locked)", null);
        this.timeout = timeout;
    }

    /**
     * Returns how long the caller waited before giving up.
     *
     * @return the timeout that elapsed, or {@code null} if this exception was deserialized
     */
    public Duration timeout() {
        return timeout;
    }
}
