package dev.latchkey;

/**
 * The thread was interrupted while it waited for a session's lock. Nothing was changed, and the
 * thread's interrupt status is still set (the store does not swallow it). Unlike a
 * {@link LockTimeoutException}, this says nothing about the lock: no holder was waited out, and
 * raising the lock timeout does not help. It usually means the container is shutting down or the
 * request was cancelled.
 */
public final class LockInterruptedException extends LatchkeyException {
    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception.
     *
     * @param message which lock the thread was waiting for
     */
    public LockInterruptedException(String message) {
        super(message + " (the thread was interrupted; its interrupt status is kept)", null);
    }
}
