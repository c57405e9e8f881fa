package dev.latchkey.servlet.internal;

/**
 * Exclusive mode: {@code getSession()} was asked to create a session for a request whose session
 * was invalidated or given a new id by another request while this one waited for its lock. The
 * filter answers it with the lock timeout status unless the response is committed.
 */
final class SessionVanishedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    SessionVanishedException() {
        super("cannot create a session: the session this request asked for was invalidated or"
                + " given a new id (changeSessionId) by another request while this one waited for"
                + " its lock; a new session would replace the cookie that request sent (a login's"
                + " new id). The client should retry with its current cookie");
    }
}
