package dev.latchkey;

import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * An immutable snapshot of one session as it was on disk at one instant.
 *
 * <p>A snapshot never changes; to change the session, build a {@link SessionChange} and
 * {@linkplain SessionStore#commit(String, SessionChange) commit} it. Values are decoded from their
 * stored form on every call of {@link #attribute(String)} and {@link #attributes()}, so a caller
 * that mutates a returned list or map changes only its own copy.
 *
 * <p>Thread-safety: instances are immutable and safe to share between threads.
 */
public interface Session {

    /**
     * Returns the session id: 43 characters of URL-safe base64 text carrying 256 random bits.
     *
     * @return the id
     */
    String id();

    /**
     * Returns when the session was created.
     *
     * @return the creation time, to the millisecond
     */
    Instant creationTime();

    /**
     * Returns when a commit last {@linkplain SessionChange.Builder#touch() touched} the session
     * (the creation time until then).
     *
     * @return the last-accessed time, to the millisecond
     */
    Instant lastAccessedTime();

    /**
     * Returns how long the session lives without being touched. Zero or negative means the session
     * never expires.
     *
     * @return the max-inactive interval
     */
    Duration maxInactiveInterval();

    /**
     * Returns when the session expires if it is not touched again.
     *
     * @return last-accessed time plus max-inactive interval, or empty if it never expires
     */
    Optional<Instant> expiryTime();

    /**
     * Returns a number that grows with every commit that changes this session (a commit of an
     * empty change writes nothing). Two snapshots of one session with the same revision have the
     * same content.
     *
     * @return the revision, 0 for a session that was never changed after its creation
     */
    long revision();

    /**
     * Returns the names of the attributes.
     *
     * @return an immutable set of names, in no particular order
     */
    Set<String> attributeNames();

    /**
     * Returns one attribute's value, decoded from its stored form.
     *
     * @param name the attribute name
     * @return a fresh copy of the value, or {@code null} if there is no such attribute
     * @throws IllegalStateException if the value is of a type that this store's configuration does
     *     not allow (another process, configured differently, stored it)
     */
    Object attribute(String name);

    /**
     * Returns all attributes, decoded from their stored form.
     *
     * @return a fresh, immutable map from name to value
     * @throws IllegalStateException as {@link #attribute(String)}
     */
    Map<String, Object> attributes();
}
