package dev.latchkey;

import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A session's lock, held for a whole unit of work: the PHP model, in which the requests of one
 * session run one at a time. While it is held, no other thread or process commits, updates,
 * invalidates or locks the session; readers ({@link SessionStore#find(String)}) still see the last
 * published state.
 *
 * <p>Obtain one from {@link SessionStore#lock(String)}; release it with {@link #close()}, in a
 * try-with-resources block. The lock is not reentrant: while a thread holds it, that thread must
 * use this handle, not the store, for the session, or it waits for itself until the lock timeout.
 * The lock is a byte range of a lock file shared by a fixed number of stripes, so an unrelated
 * session that hashes to the same stripe also waits (one chance in 65,536).
 *
 * <p>Thread-safety: the handle may be used and closed from a thread other than the one that
 * acquired it (asynchronous requests), but by one thread at a time; only {@link #close()} may be
 * called by several threads at once (a request's thread and a timeout's, say).
 */
public interface SessionLock extends AutoCloseable {

    /**
     * Returns the id of the session this handle guards; it changes after {@link #changeId()}.
     *
     * @return the current id
     */
    String id();

    /**
     * Reads the session under the lock.
     *
     * @return the current state, or empty if the session does not exist or has expired
     * @throws IllegalStateException if the handle is closed
     * @throws StoreException if the file system fails
     */
    Optional<Session> session();

    /**
     * Applies a change, as {@link SessionStore#commit(String, SessionChange)} does, without
     * releasing the lock.
     *
     * @param change the change
     * @return the state after the change, or empty if the session does not exist or has expired
     *     (nothing is written then)
     * @throws IllegalArgumentException if the session would exceed the size limit of 16 MiB
     * @throws IllegalStateException if the handle is closed
     * @throws StoreException if the file system fails
     */
    Optional<Session> commit(SessionChange change);

    /**
     * Applies a function to one attribute, as
     * {@link SessionStore#update(String, String, UnaryOperator)} does, without releasing the lock.
     *
     * @param name the attribute name
     * @param function maps the current value ({@code null} if absent) to the new one ({@code null}
     *     removes the attribute)
     * @return the state after the update, or empty if the session does not exist or has expired
     * @throws IllegalArgumentException if the function returns a value that cannot be stored, or
     *     the session would exceed the size limit of 16 MiB
     * @throws IllegalStateException if the handle is closed
     * @throws StoreException if the file system fails
     */
    Optional<Session> update(String name, UnaryOperator<Object> function);

    /**
     * Removes the session, as {@link SessionStore#invalidate(String)} does.
     *
     * @return true if a session was removed
     * @throws IllegalStateException if the handle is closed
     * @throws StoreException if the file system fails
     */
    boolean invalidate();

    /**
     * Moves the session to a fresh id, as {@link SessionStore#changeId(String)} does. The handle
     * then guards the new id and no longer the old one.
     *
     * @return the session under its new id, or empty if it does not exist or has expired
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException if the new id's lock stripe could not be had in time
     * @throws IllegalStateException if the handle is closed
     * @throws StoreException if the file system fails
     */
    Optional<Session> changeId();

    /**
     * Releases the lock. Idempotent, and safe to call from several threads at once: the lock is
     * released exactly once. Never blocks: called (from a timeout's thread, say) while an
     * operation of this handle runs in another thread, it only marks the handle closed; that
     * operation runs to its end with the lock held (a commit is published whole, a
     * {@link #changeId()} keeps the new id's lock until it is done) and releases every lock of the
     * handle as it returns. Every later call but {@link #id()} and this one throws
     * {@link IllegalStateException}.
     */
    @Override
    void close();
}
