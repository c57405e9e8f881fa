package dev.latchkey.servlet;

/**
 * How requests of one session run relative to each other, in this process and in every other
 * process that serves the same directory.
 *
 * <p>Init-param values: {@code merge}, {@code exclusive} (case-insensitive).
 */
public enum Concurrency {

    /**
     * Requests run concurrently; each commits only its own delta under the session's lock, so
     * changes to different attributes are all kept and, for the same attribute, the later commit
     * wins. No request ever waits for another one's whole duration. The default, and the right
     * choice for most applications.
     */
    MERGE,

    /**
     * The session's lock is taken when the request first asks for its session and held until the
     * request ends (the PHP model): the session-using parts of a session's requests run one at a
     * time, across threads and processes; a request that never asks never waits. If the lock is
     * not had within the lock timeout, that first {@code getSession} throws
     * {@link dev.latchkey.LockTimeoutException}, which the filter turns into the configured status
     * (503 by default) unless the response is committed; the request then has no session and
     * cannot create one. A thread interrupted while it waits gets
     * {@link dev.latchkey.LockInterruptedException} instead, answered 503 the same way. Pick it when the application does read-modify-write sequences across
     * several attributes or changes values in place; it costs throughput for sessions that send
     * parallel requests (pages with many concurrent XHRs).
     */
    EXCLUSIVE
}
