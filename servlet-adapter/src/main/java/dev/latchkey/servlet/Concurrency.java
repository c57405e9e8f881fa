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
     * The session's lock is held for the whole request (the PHP model): requests of one session run
     * one at a time, across threads and processes. A request that cannot get the lock within the
     * lock timeout is answered with the configured status (503 by default) without running the
     * application. Pick it when the application does read-modify-write sequences across several
     * attributes or changes values in place; it costs throughput for sessions that send parallel
     * requests (pages with many concurrent XHRs).
     */
    EXCLUSIVE
}
