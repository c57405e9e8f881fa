package dev.latchkey;

import java.time.Duration;
import java.util.Optional;
import java.util.Set;

/**
 * What one request did to a session: attributes set, attributes removed, a touch of the
 * last-accessed time, a new max-inactive interval. A commit applies only this delta to the state
 * it reads from disk under the session's lock, so concurrent requests that change different
 * attributes of one session all keep their changes.
 *
 * <p>Obtain a builder from {@link SessionStore#change()}: the builder checks and encodes each value
 * when it is set, by the rules of that store's {@link StoreConfig}, so that a value that cannot be
 * stored is refused at once and later mutations of the caller's object do not leak into the change.
 *
 * <p>Thread-safety: a built change is immutable and may be committed any number of times, from any
 * thread. A builder is not thread-safe.
 */
public interface SessionChange {

    /**
     * Returns the names of the attributes this change sets.
     *
     * @return an immutable set
     */
    Set<String> setNames();

    /**
     * Returns the names of the attributes this change removes.
     *
     * @return an immutable set, disjoint from {@link #setNames()}
     */
    Set<String> removedNames();

    /**
     * Tells whether this change sets the last-accessed time to the commit's time.
     *
     * @return whether the change touches the session
     */
    boolean touches();

    /**
     * Returns the max-inactive interval this change sets, if any.
     *
     * @return the new interval, or empty to keep the session's current one
     */
    Optional<Duration> maxInactiveInterval();

    /**
     * Tells whether committing this change would change nothing.
     *
     * @return true if no attribute is set or removed, there is no touch and no new interval
     */
    default boolean isEmpty() {
        return setNames().isEmpty() && removedNames().isEmpty() && !touches()
                && maxInactiveInterval().isEmpty();
    }

    /**
     * Collects one change. Later calls for the same attribute name replace earlier ones.
     *
     * <p>Not thread-safe; meant for one request's thread.
     */
    interface Builder {

        /**
         * Sets an attribute. The value is checked and encoded now: changing the object afterwards
         * does not change what is committed.
         *
         * <p>Storable values: {@code null} (which removes the attribute, as in the Servlet API),
         * {@link String}, {@link Boolean}, {@link Integer}, {@link Long}, {@link Short},
         * {@link Byte}, {@link Double}, {@link Float}, {@link java.math.BigInteger},
         * {@link java.math.BigDecimal}, {@link Character}, lists of such values and of lists and
         * maps, maps from {@link String} keys to such values; and, at the top level only (not
         * inside a list or map: wrap such data in an allowed class), instances of the classes that
         * {@link StoreConfig.Builder#allowTypes} or {@link StoreConfig.Builder#allowPackages}
         * name, stored as JSON by Jackson with their class name beside them. The exact class of a
         * top-level value survives a round trip; numbers nested in lists and maps come back as
         * {@code Integer}, {@code Long}, {@code BigInteger} or {@code Double} as JSON reads them,
         * lists as {@code ArrayList} and maps as {@code LinkedHashMap}.
         *
         * @param name the attribute name: 1 to 256 characters
         * @param value the value, or {@code null} to remove the attribute
         * @return this builder
         * @throws IllegalArgumentException if the name is empty, too long or not valid Unicode
         *     text (a lone surrogate), or the value (or a value nested in it) is of a type this
         *     store does not allow, or its lists, maps and objects nest more than 64 levels deep
         *     (or it refers to itself), or its JSON would not read back as written (a number of
         *     more than 1,000 digits; a number beyond the range of a double inside a list or map);
         *     the message names the attribute and the type
         * @throws NullPointerException if the name is null
         */
        Builder set(String name, Object value);

        /**
         * Removes an attribute (a no-op on commit if the session has no such attribute).
         *
         * @param name the attribute name
         * @return this builder
         * @throws IllegalArgumentException if the name is empty, too long or not valid Unicode text
         * @throws NullPointerException if the name is null
         */
        Builder remove(String name);

        /**
         * Sets the session's last-accessed time to the store clock's time at commit.
         *
         * @return this builder
         */
        Builder touch();

        /**
         * Sets how long the session lives without being touched.
         *
         * @param interval the new interval; zero or negative means never expire; a positive
         *     interval is kept to the millisecond (at least 1 ms), and may be at most
         *     {@link StoreConfig#MAX_INACTIVE_INTERVAL_LIMIT} (10,000 years; every
         *     {@code int} number of seconds, as the Servlet API passes, fits)
         * @return this builder
         * @throws IllegalArgumentException if the interval is longer than 10,000 years
         * @throws NullPointerException if the interval is null
         */
        Builder maxInactiveInterval(Duration interval);

        /**
         * Records which state of the session this change was made from, for the
         * {@linkplain StoreStats#concurrentMerges() concurrent-merge counter}: a commit that finds
         * a later revision on disk than this one counts as a merge with a concurrent change. It
         * does not change what the commit does (a commit always applies its delta to the state on
         * disk). Optional; the last call wins.
         *
         * @param loaded the session as the request read it (from {@code find} or a commit)
         * @return this builder
         * @throws NullPointerException if loaded is null
         */
        Builder basedOn(Session loaded);

        /**
         * Returns the change collected so far. The builder may be used further; the returned
         * change does not see later calls.
         *
         * @return an immutable change
         */
        SessionChange build();
    }
}
