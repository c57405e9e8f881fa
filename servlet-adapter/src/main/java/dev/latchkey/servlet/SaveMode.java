package dev.latchkey.servlet;

/**
 * Which attributes a request writes back to the store. Whatever the mode, a commit writes only the
 * attributes it names (a delta): attributes that other requests changed meanwhile and that this
 * request does not name keep their newer values.
 *
 * <p>Init-param values: {@code on_set_attribute}, {@code on_get_attribute}, {@code always}
 * (case-insensitive; {@code -} may replace {@code _}).
 */
public enum SaveMode {

    /**
     * Writes only the attributes set or removed through {@code setAttribute} /
     * {@code removeAttribute} during the request (their value as it is at commit time, so an object
     * that was set and then changed in place within the same request is saved as changed). The
     * default. Concurrent requests of one session that change different attributes all keep their
     * changes; an object read with {@code getAttribute} and changed in place is NOT saved.
     */
    ON_SET_ATTRIBUTE,

    /**
     * Also writes back every attribute read with {@code getAttribute}, for applications that change
     * mutable values (lists, maps, beans) in place without calling {@code setAttribute} again. A
     * request that only read an attribute may then overwrite a newer value that a concurrent request
     * wrote to it: pair this mode with {@link Concurrency#EXCLUSIVE} if that matters.
     */
    ON_GET_ATTRIBUTE,

    /**
     * Writes back every attribute of the session at each commit. The most tolerant of in-place
     * mutation and the most expensive; in {@link Concurrency#MERGE} mode it makes the last
     * committer win for every attribute, so concurrent requests can lose each other's changes.
     */
    ALWAYS
}
