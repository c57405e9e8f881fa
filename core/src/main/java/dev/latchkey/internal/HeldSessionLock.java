package dev.latchkey.internal;

import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.SessionLock;
import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;

/**
 * A {@link SessionLock}: a held stripe plus the id it guards. Every operation runs the store's
 * locked variant, which re-reads the session from disk (the lock keeps other writers out, but not
 * the clock: the session may expire while held).
 *
 * <p>Not thread-safe: one thread at a time, any thread; except {@link #close()}, which any number
 * of threads may call at once, also while an operation runs (the stripe is released exactly once).
 * A close during an operation only marks the handle closed: releasing the stripe then would let
 * another writer in mid-commit (its acknowledged commit would be overwritten), and a
 * {@code changeId} would take the new id's stripe after the close and keep it forever. The
 * running operation releases the stripes as it ends. Waiting in close for the operation instead
 * was rejected: close may come from a timeout's thread while the operation waits for a lock (up
 * to the lock timeout) or for a slow disk, and must not block it.
 */
final class HeldSessionLock implements SessionLock {
    private static final int IDLE = 0;
    private static final int RUNNING = 1;
    private static final int CLOSED = 2;

    private final FileSessionStore store;
    private volatile String id;
    private volatile LockTable.Held held; // null: a malformed id, nothing to guard
    /**
     * RUNNING while an operation runs, CLOSED once closed (both bits: closed during an
     * operation, which then releases). Compare-and-set makes the release happen exactly once.
     */
    private final AtomicInteger state = new AtomicInteger(IDLE);

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
        return run(() -> store.readLocked(id));
    }

    @Override
    public Optional<Session> commit(SessionChange change) {
        ChangeImpl delta = ChangeImpl.of(change);
        return run(() -> store.commitLocked(id, delta, held));
    }

    @Override
    public Optional<Session> update(String name, UnaryOperator<Object> function) {
        ValueCodec.checkName(name);
        Objects.requireNonNull(function, "function");
        return run(() -> store.updateLocked(id, name, function, held));
    }

    @Override
    public boolean invalidate() {
        return run(() -> store.invalidateLocked(id));
    }

    @Override
    public Optional<Session> changeId() {
        return run(this::changeIdRunning);
    }

    /** Runs one operation of the handle; a close meanwhile takes effect as it ends. */
    private <T> T run(Supplier<T> operation) {
        if (!state.compareAndSet(IDLE, RUNNING)) {
            throw new IllegalStateException((state.get() & CLOSED) != 0
                    ? "this session lock was closed"
                    : "this session lock is used by another thread at this moment; use a handle"
                    + " from one thread at a time");
        }
        try {
            return operation.get();
        } finally {
            if (!state.compareAndSet(RUNNING, IDLE)) {
                state.set(CLOSED); // closed meanwhile: the close left the release to us
                release();
            }
        }
    }

    private Optional<Session> changeIdRunning() {
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
        while (true) {
            int now = state.get();
            if ((now & CLOSED) != 0) {
                return;
            }
            if (state.compareAndSet(now, now | CLOSED)) {
                if (now == IDLE) {
                    release();
                } // else the running operation releases as it ends
                return;
            }
        }
    }

    private void release() {
        LockTable.Held had = held;
        if (had != null) {
            had.release();
        }
    }

    @Override
    public String toString() {
        return "SessionLock[" + FileSessionStore.describe(id)
                + ((state.get() & CLOSED) != 0 ? ", released]" : "]");
    }
}
