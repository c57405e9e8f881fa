package dev.latchkey.internal;

import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.SessionLock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.UnaryOperator;

/**
 * A {@link SessionLock}: a held stripe plus the id it guards. Every operation runs the store's
 * locked variant, which re-reads the session from disk (the lock keeps other writers out, but not
 * the clock: the session may expire while held).
 *
 * <p>Not thread-safe: one thread at a time, any thread; except {@link #close()}, which any number
 * of threads may call at once (the stripe is released exactly once).
 */
final class HeldSessionLock implements SessionLock {
    private final FileSessionStore store;
    private String id;
    private LockTable.Held held; // null: a malformed id, nothing to guard
    /** Set once: two threads that close at once release the stripe once (compare-and-set). */
    private final AtomicBoolean closed = new AtomicBoolean();

    HeldSessionLock(FileSessionStore store, String id, LockTable.Held held) {
        this.store = store;
        this.id = id;
        this.held = held;
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public Optional<Session> session() {
        requireOpen();
        return store.readLocked(id);
    }

    @Override
    public Optional<Session> commit(SessionChange change) {
        ChangeImpl delta = ChangeImpl.of(change);
        requireOpen();
        return store.commitLocked(id, delta, held);
    }

    @Override
    public Optional<Session> update(String name, UnaryOperator<Object> function) {
        ValueCodec.checkName(name);
        Objects.requireNonNull(function, "function");
        requireOpen();
        return store.updateLocked(id, name, function, held);
    }

    @Override
    public boolean invalidate() {
        requireOpen();
        return store.invalidateLocked(id);
    }

    @Override
    public Optional<Session> changeId() {
        requireOpen();
        if (held == null || store.readLocked(id).isEmpty()) {
            return Optional.empty();
        }
        String newId = SessionIds.generate();
        LockTable.Held next = acquireForNewId(newId);
        while (next == NOT_HAD) {
            newId = SessionIds.generate();
            next = acquireForNewId(newId);
        }
        Optional<Session> moved;
        try {
            moved = store.moveLocked(id, newId);
        } catch (RuntimeException e) {
            if (next != held) {
                next.release();
            }
            throw e;
        }
        if (next != held) {
            held.release();
            held = next;
        }
        id = newId;
        return moved;
    }

    /** Marks a stripe below the held one that was busy: pick another id. */
    private static final LockTable.Held NOT_HAD = null;

    /**
     * Takes the stripe of a candidate new id without risking a deadlock: a stripe above the held
     * one is waited for (every thread takes stripes in ascending order, so this wait cannot close
     * a cycle); a stripe below it is only tried, never waited for; the held stripe itself needs
     * nothing.
     *
     * @return the held new stripe, {@link #held} if it is the same, or {@link #NOT_HAD} if a lower
     *     stripe was busy
     */
    private LockTable.Held acquireForNewId(String newId) {
        int stripe = FileSessionStore.stripe(newId);
        if (stripe == held.stripe()) {
            return held;
        }
        if (stripe > held.stripe()) {
            return store.acquire(newId, store.config().lockTimeout());
        }
        LockTable.Held had = store.tryAcquire(newId);
        return had == null ? NOT_HAD : had;
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            if (held != null) {
                held.release();
            }
        }
    }

    private void requireOpen() {
        if (closed.get()) {
            throw new IllegalStateException("this session lock was closed");
        }
    }

    @Override
    public String toString() {
        return "SessionLock[" + FileSessionStore.describe(id)
                + (closed.get() ? ", released]" : "]");
    }
}
