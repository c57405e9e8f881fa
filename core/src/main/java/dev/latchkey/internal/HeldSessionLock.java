package dev.latchkey.internal;

import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.SessionLock;
import java.util.Objects;
import java.util.Optional;
import java.util.function.UnaryOperator;

/**
 * A {@link SessionLock}: a held stripe plus the id it guards. Every operation runs the store's
 * locked variant, which re-reads the session from disk (the lock keeps other writers out, but not
 * the clock: the session may expire while held).
 *
 * <p>Not thread-safe: one thread at a time, any thread.
 */
final class HeldSessionLock implements SessionLock {
    /** Tries to find a new id whose stripe is not below the held one, keeping lock order. */
    private static final int ORDERED_ID_TRIES = 64;

    private final FileSessionStore store;
    private String id;
    private LockTable.Held held; // null: a malformed id, nothing to guard
    private boolean closed;

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
        return store.commitLocked(id, delta);
    }

    @Override
    public Optional<Session> update(String name, UnaryOperator<Object> function) {
        ValueCodec.checkName(name);
        Objects.requireNonNull(function, "function");
        requireOpen();
        return store.updateLocked(id, name, function);
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
        // stripes are taken in ascending order everywhere; prefer a new id that keeps that order
        String newId = SessionIds.generate();
        for (int i = 0; i < ORDERED_ID_TRIES
                && FileSessionStore.stripe(newId) < held.stripe(); i++) {
            newId = SessionIds.generate();
        }
        LockTable.Held next = FileSessionStore.stripe(newId) == held.stripe() ? null
                : store.acquire(newId);
        Optional<Session> moved;
        try {
            moved = store.moveLocked(id, newId);
        } catch (RuntimeException e) {
            if (next != null) {
                next.release();
            }
            throw e;
        }
        if (next != null) {
            held.release();
            held = next;
        }
        id = newId;
        return moved;
    }

    @Override
    public void close() {
        if (!closed) {
            closed = true;
            if (held != null) {
                held.release();
            }
        }
    }

    private void requireOpen() {
        if (closed) {
            throw new IllegalStateException("this session lock was closed");
        }
    }

    @Override
    public String toString() {
        return "SessionLock[" + FileSessionStore.describe(id) + (closed ? ", released]" : "]");
    }
}
