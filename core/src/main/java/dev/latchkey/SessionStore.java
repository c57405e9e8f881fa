package dev.latchkey;

import dev.latchkey.internal.FileSessionStore;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * Sessions kept in one directory, shared safely by every thread of this JVM and by every process
 * that opens the same directory.
 *
 * <h2>Authority</h2>
 * The directory is authoritative: a session exists exactly while its file exists; a missing file
 * means no session; a session past its {@linkplain Session#expiryTime() expiry time} by this
 * store's clock is expired and is treated as missing by every operation. Nothing is cached in
 * memory between calls, so a change published by one process is seen by the next call of every
 * other.
 *
 * <h2>Concurrency</h2>
 * Each session is guarded by an exclusive lock that excludes threads of this JVM and other
 * processes alike. Writers ({@link #commit}, {@link #update}, {@link #invalidate},
 * {@link #changeId}, {@link #lock}) take it, re-read the session from disk, apply their change and
 * publish the new state atomically before releasing it. Readers ({@link #find}) take no lock: a
 * published file is never modified in place, so a reader sees one whole state, never a partial or
 * mixed one, and a shared-memory sequence per lock stripe tells a reader that found no file
 * whether a publish was under way. Every operation is linearizable with respect to every other,
 * in any process.
 *
 * <ul>
 *   <li>Two commits that change different attributes of one session both keep their changes: a
 *       commit applies only its {@link SessionChange}, not the state its request loaded.</li>
 *   <li>Two commits that set the same attribute: the later one wins. Use {@link #update} for a
 *       read-modify-write of one attribute, or {@link #lock} for a whole unit of work.</li>
 *   <li>No resurrection: a commit of a session that was invalidated, moved by {@link #changeId}
 *       or expired changes nothing and returns empty. Ids are never reused, so "missing, checked
 *       under the lock" is final; no tombstone is needed.</li>
 * </ul>
 *
 * <h2>Ids</h2>
 * Ids come from {@link java.security.SecureRandom}. An id given by a caller is checked (43
 * characters of the URL-safe base64 alphabet) before it touches any path: a malformed id is simply
 * "no session" for every operation.
 *
 * <p>Thread-safety: implementations are thread-safe. Blocking: writers block up to the configured
 * {@linkplain StoreConfig#lockTimeout() lock timeout} for the session's lock and then throw
 * {@link LockTimeoutException}; readers do not wait for locks (see {@link #find} for two rare
 * exceptions).
 */
public interface SessionStore extends AutoCloseable {

    /**
     * Opens the store that the configuration describes, creating its directory if it is missing.
     * Any number of stores, in this JVM or in other processes, may be open on one directory.
     *
     * @param config the configuration
     * @return an open store; close it when done
     * @throws StoreException if the directory cannot be created, is not a directory, or cannot be
     *     read and written; or if a MAC key file (see {@link StoreConfig.Builder#macKeyFile}) is
     *     missing (other than the default one, which is created), unreadable, too short or too
     *     long, a symbolic link, open to other users, or inside the session directory
     * @throws NullPointerException if config is null
     */
    static SessionStore open(StoreConfig config) {
        Objects.requireNonNull(config, "config");
        return FileSessionStore.open(config, config.macKey(), config.previousMacKeys());
    }

    /**
     * Returns a builder for a change, bound to this store's rules for values.
     *
     * @return a new, empty builder
     */
    SessionChange.Builder change();

    /**
     * Creates a session with a fresh id and the configured default max-inactive interval.
     *
     * @return the new session
     * @throws StoreException if the file system fails
     * @throws IllegalStateException if the store is closed
     */
    default Session create() {
        return create(change().build());
    }

    /**
     * Creates a session with a fresh id and applies an initial change to it before it is first
     * published, so no reader ever sees it without that change.
     *
     * @param initial attributes and max-inactive interval of the new session
     * @return the new session
     * @throws StoreException if the file system fails
     * @throws IllegalArgumentException if the change was built by a store of another kind, or
     *     the session would exceed the size limit of 16 MiB
     * @throws IllegalStateException if the store is closed
     */
    Session create(SessionChange initial);

    /**
     * Reads a session without waiting for its lock, also when the answer is "no session" and
     * another thread or process holds the lock. Two rare cases read under the lock instead: a
     * damaged file (which is then moved aside) and a stripe whose publish was cut short by a
     * process that died; then the call may wait up to the lock timeout.
     *
     * @param id the session id, possibly from an untrusted source
     * @return the session as last published, or empty if it is missing, expired, malformed or
     *     damaged (a damaged file is moved aside and logged at WARN)
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException only in the two rare cases above, if the lock stays busy for
     *     the whole lock timeout
     * @throws StoreException if the file system fails
     * @throws IllegalStateException if the store is closed
     * @throws NullPointerException if id is null
     */
    Optional<Session> find(String id);

    /**
     * Applies a change to a session: takes its lock, re-reads it, applies only the change,
     * publishes the result atomically and releases the lock.
     *
     * @param id the session id
     * @param change the change
     * @return the state after the change, or empty if the session is missing or expired (nothing is
     *     written then: no resurrection)
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException if the lock was not had within the lock timeout
     * @throws StoreException if the file system fails; the previous state is intact
     * @throws IllegalArgumentException if the change was built by a store of another kind, or
     *     the session would exceed the size limit of 16 MiB (nothing is written then)
     * @throws IllegalStateException if the store is closed
     */
    Optional<Session> commit(String id, SessionChange change);

    /**
     * Applies a read-modify-write function to one attribute under the session's lock, so that N
     * processes that each increment a counter k times end at exactly N×k. The function runs while
     * the lock is held: keep it short and free of side effects (it runs once per call).
     *
     * @param id the session id
     * @param name the attribute name
     * @param function maps the current value ({@code null} if absent) to the new one ({@code null}
     *     removes the attribute)
     * @return the state after the update, or empty if the session is missing or expired (the
     *     function is not called then)
     * @throws IllegalArgumentException if the function returns a value that cannot be stored, or
     *     the session would exceed the size limit of 16 MiB (nothing is written then)
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException if the lock was not had within the lock timeout
     * @throws StoreException if the file system fails
     * @throws IllegalStateException if the store is closed
     */
    Optional<Session> update(String id, String name, UnaryOperator<Object> function);

    /**
     * Acquires a session's lock for a whole unit of work, waiting up to the configured lock
     * timeout. The session need not exist: the handle's {@link SessionLock#session()} tells.
     *
     * @param id the session id
     * @return the held lock; close it to release
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException if the lock was not had within the lock timeout
     * @throws IllegalStateException if the store is closed
     */
    default SessionLock lock(String id) {
        return lock(id, config().lockTimeout());
    }

    /**
     * Acquires a session's lock for a whole unit of work, waiting up to the given timeout.
     *
     * @param id the session id
     * @param timeout how long to wait; zero means try once; at most
     *     {@link StoreConfig#MAX_LOCK_TIMEOUT}
     * @return the held lock; close it to release
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException if the lock was not had within the timeout
     * @throws IllegalArgumentException if the timeout is negative or over a day
     * @throws IllegalStateException if the store is closed
     */
    SessionLock lock(String id, Duration timeout);

    /**
     * Removes a session. Idempotent. After it returns, no operation of any process finds the
     * session, and no commit brings it back.
     *
     * @param id the session id
     * @return true if this call removed a live session
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException if the lock was not had within the lock timeout
     * @throws StoreException if the file system fails
     * @throws IllegalStateException if the store is closed
     */
    boolean invalidate(String id);

    /**
     * Moves a session to a fresh id (session-fixation defence), keeping its attributes, times and
     * interval. Under both ids' locks, the new state is written aside, the old id is removed, and
     * then the new state is published under the new id; until the call returns only the caller
     * knows the new id, and after it returns the old id is dead for every process: no find sees
     * it, no commit revives it. A process that dies inside the call, at any instant, never leaves
     * both ids alive: either the old id is still live (and the new one names nothing), or only
     * the new one is, or, in a window of microseconds, neither (the session is lost).
     *
     * @param id the current id
     * @return the session under its new id, or empty if it is missing or expired
     * @throws LockInterruptedException if the thread is interrupted while it waits for a lock
     *     (its interrupt status stays set)
     * @throws LockTimeoutException if a lock was not had within the lock timeout
     * @throws StoreException if the file system fails; if it fails after the old id was removed,
     *     the message says the session is lost
     * @throws IllegalStateException if the store is closed
     */
    Optional<Session> changeId(String id);

    /**
     * Repairs what crashed processes left in the directory, now rather than when each session is
     * next written. Any process may run it at any time, also while others serve requests and while
     * another recovery runs: it changes a session only under that session's lock, by the same
     * repair the next writer of the session would apply (see {@code docs/design.md}, "Failure
     * model"). It walks every subdirectory of {@code sessions/} and, for each id that has an
     * {@code ID.old} or {@code ID.tmp} beside it, takes the lock and
     * <ul>
     *   <li>publishes the state of a lone {@code ID.old} again as {@code ID} (a process died
     *       between the two renames of a publish);</li>
     *   <li>removes a stale {@code ID.old} beside an {@code ID}, and every {@code ID.tmp} (the
     *       unpublished state of a commit that never returned);</li>
     *   <li>moves a damaged file it reads to {@code quarantine/}.</li>
     * </ul>
     * It also lists the expiry index once, and for each session that can expire but has no entry
     * there (written before the index existed, or its entry deleted by hand: no sweep would find
     * it) takes the lock, reads the session and adds the entry of its current expiry time
     * ({@link RecoveryReport#markersAdded()}); the next sweeps then remove it once it has expired.
     * It then makes even every lock stripe's publish sequence that a dead process left odd.
     * Sessions that have leftovers or lack an index entry are read; the others are not (sessions
     * that never expire have no entry, so each scan reads them). Removing expired sessions is
     * the sweep's business, not this scan's.
     *
     * <p>Correctness never depends on running it: every operation reads a crash's leftovers
     * correctly and the next writer of a session repairs them. It tidies the directory, and the
     * report tells an operator that crashes happened. {@link #open} does not run it: opening must
     * stay cheap for every worker that starts, and the scan costs one directory listing per
     * subdirectory (4,096 at most) and per expiry bucket, plus one lock and one read per session
     * with leftovers or without an index entry. Run it once at
     * deployment or startup from one process, or from a maintenance job.
     *
     * <p>Failures do not stop the scan: each is collected in {@link RecoveryReport#errors()} and
     * the scan goes on with the next session or directory.
     *
     * @return what was found and done
     * @throws IllegalStateException if the store is closed
     */
    RecoveryReport recover();

    /**
     * Returns a snapshot of this store's counters (commits, merges with concurrent changes, lock
     * waits and timeouts, quarantined files, swept sessions, repairs). Cheap, takes no lock, and
     * works after {@link #close()} too.
     *
     * @return the counters since this store was opened
     */
    StoreStats stats();

    /**
     * Removes the files of sessions that have expired, up to a limit, and returns at once. Safe to
     * call from any thread and any process at any time, concurrently with every other operation
     * and with other sweeps: each candidate is checked again under its lock, so a sweep never
     * removes a session that is unexpired by this store's clock, and skips a session whose lock
     * is held at that instant (it is in use) without waiting for it. A sweep never removes a live
     * session to save space.
     *
     * <p>Candidates come from an expiry index kept beside the sessions, not from a scan of the
     * directory: the work is proportional to the number of expired sessions, not to the number
     * of sessions, and no unexpired session file is read. A session is removed by the first sweep
     * at least one granule after its expiry time; the granule is 1/16 of its max-inactive
     * interval rounded down to 1 s, 10 s, 1 min, 10 min, 1 h or 1 day (1 s for intervals under
     * 16 s). Until then an expired session is already missing for every operation; the sweep only
     * reclaims its files. A session that never expires is never examined.
     *
     * <p>To remove everything that is due, call it until {@link SweepResult#more()} is false, or
     * enable the {@linkplain StoreConfig.Builder#backgroundSweep background sweep}. Those calls
     * form a <em>pass</em> of this store: its first call after the store opened or after a pass
     * ended, and the calls that resume it, up to the one that says no more. Each call goes on
     * after the last entry the one before it visited, in an order of entries by due time and
     * then by session id. A pass visits every entry that is due from its first call to its last
     * exactly once (whatever comes of it: removed, or left in place because the session is in
     * use or its file is refused or unreadable), so entries that stay in place cannot stall it,
     * and it ends. An entry that appears during the pass (a writer whose clock lags, a crash's
     * leftover) is visited by the pass if it sorts after the point the pass has reached when a
     * call looks at its due time; otherwise by the next pass. Calls of one store in several
     * threads at once may visit an entry twice, never skip one; sweeps in other stores and
     * processes keep passes of their own.
     *
     * @param limit the most index entries to visit: every entry looked at counts, also one left
     *     in place (a session in use, a file this store refuses); empty buckets of the index that
     *     it removes have a bound of the same size. The next call resumes after the last entry
     *     that this one visited, so entries that stay cannot stall the sweep
     * @return what the sweep did
     * @throws IllegalArgumentException if limit is less than 1
     * @throws StoreException if the index cannot be listed or a file cannot be removed; what was
     *     removed before stays removed, and a later sweep resumes
     * @throws IllegalStateException if the store is closed
     */
    SweepResult sweep(int limit);

    /**
     * Returns the configuration this store was opened with.
     *
     * @return the configuration
     */
    StoreConfig config();

    /**
     * Closes this store. Locks held through {@link SessionLock}s of this store stay held until those
     * handles are closed. Idempotent. Other stores open on the same directory are unaffected.
     */
    @Override
    void close();
}
