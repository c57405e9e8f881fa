package dev.latchkey.servlet.internal;

import dev.latchkey.LockInterruptedException;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.servlet.Concurrency;
import dev.latchkey.servlet.CookieSecure;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletRequestWrapper;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One request's view of its session: which id the client sent, the session object handed to the
 * application, the lock held in exclusive mode (taken when the application first asks for the
 * session, released by {@link #finish()}), and the commit points.
 *
 * <p>Thread-safety: every method synchronizes on this object, and so does every method of the
 * {@link LatchkeySession} it hands out, so the threads of one asynchronous request may share them.
 * Hazard: listener callbacks run while this monitor is held; a listener that blocks on another
 * thread of the same request deadlocks.
 */
final class RequestContext {
    private static final Logger LOG = LoggerFactory.getLogger(RequestContext.class);
    private static final String SET_COOKIE = "Set-Cookie";

    private final SessionRuntime rt;
    private final HttpServletRequest original;
    private final HttpServletResponse originalResponse;
    private final SessionRequest request;
    private final SessionResponse response;
    private final List<String> requestedIds = new ArrayList<>();

    private boolean resolved;
    private Session loaded;
    private String requestedId;
    private boolean requestedValid;
    private LatchkeySession session;
    private SessionLock lock;
    private String cookieHeader;
    private String cookieValue;
    /**
     * Exclusive mode: the session's lock was not had, in time or at all (see {@link #interrupted});
     * no session for this request.
     */
    private boolean refused;
    /**
     * The thread was interrupted while it waited for a session lock (when the application asked
     * for the session, or at a commit): no session for this request from then on, and nothing more
     * is committed (an interrupted thread's file operations fail anyway).
     */
    private boolean interrupted;
    /** The lock timeout of {@link #refused} was answered with the configured status. */
    private boolean refusalAnswered;
    /**
     * Exclusive mode: the requested session existed when this request began waiting for its lock
     * and was gone when it got it (another request invalidated it or changed its id meanwhile).
     * A new session would replace the cookie that request just sent (a login's new id), so this
     * request cannot create one.
     */
    private boolean vanished;
    /** A top-level dispatch (REQUEST or ASYNC) of this request is running in the filter. */
    private boolean dispatching;
    /**
     * Threads running an {@code AsyncContext.start} task of a refused request, and whether the
     * task called {@code complete()}: deferred until the task returns, so that a lock timeout
     * thrown through the task's own {@code finally { complete(); }} is still answered.
     */
    private final Map<Thread, Boolean> asyncRunners = new HashMap<>();
    /**
     * Where an earlier, finished dispatch of the same request left the cookie (a new id, or "" if
     * it invalidated the session), or null: an error page sees the session its request ended with.
     */
    private final String carried;
    /**
     * changeSessionId() is running: a call from one of its sessionIdChanged callbacks would move
     * the session again and call the listeners again, without end.
     */
    private boolean changingId;
    private boolean asyncListening;
    private CommittingAsyncContext asyncWrapper;
    private boolean finished;

    /**
     * Starts a request's session state.
     *
     * @param previous the finished context of an earlier dispatch of the same request (an error
     *     page after the request ended), or null
     */
    RequestContext(SessionRuntime rt, HttpServletRequest req, HttpServletResponse resp,
            RequestContext previous) {
        this.rt = rt;
        this.carried = previous == null ? null : previous.endingCookie();
        this.original = req;
        this.originalResponse = resp;
        Cookie[] cookies = req.getCookies();
        if (cookies != null) {
            for (Cookie c : cookies) {
                if (c.getName().equals(rt.settings().cookieName()) && c.getValue() != null
                        && !c.getValue().isEmpty()) {
                    requestedIds.add(c.getValue());
                }
            }
        }
        this.response = new SessionResponse(resp, this);
        this.request = new SessionRequest(req, this);
    }

    SessionRequest request() {
        return request;
    }

    SessionResponse response() {
        return response;
    }

    SessionStore store() {
        return rt.store();
    }

    SessionRuntime runtime() {
        return rt;
    }

    /** Whether req is (or wraps) this context's request wrapper. */
    boolean isWrapping(ServletRequest req) {
        ServletRequest r = req;
        while (r != null) {
            if (r == request) {
                return true;
            }
            r = r instanceof ServletRequestWrapper w ? w.getRequest() : null;
        }
        return false;
    }

    HttpServletRequest wrap(HttpServletRequest req) {
        return new SessionRequest(req, this);
    }

    HttpServletResponse wrap(HttpServletResponse resp) {
        return new SessionResponse(resp, this);
    }

    private void resolve() {
        if (resolved) {
            return;
        }
        resolved = true;
        requestedId = requestedIds.isEmpty() ? null : requestedIds.get(0);
        List<String> ids = carried == null ? requestedIds
                : carried.isEmpty() ? List.of() : List.of(carried);
        for (String id : ids) {
            Optional<Session> s = lockingMode() ? lockAndRead(id) : store().find(id);
            if (s.isPresent()) {
                loaded = s.get();
                if (requestedIds.contains(id)) {
                    requestedId = id;
                    requestedValid = true;
                }
                return;
            }
        }
    }

    /** Exclusive mode, and the request still running: the session's lock is held from first use. */
    private boolean lockingMode() {
        return rt.settings().concurrency() == Concurrency.EXCLUSIVE && !finished;
    }

    /**
     * Exclusive mode: locks the session for the rest of the request and reads it. On a lock
     * timeout, the request is refused: it has no session from then on and cannot create one.
     */
    private Optional<Session> lockAndRead(String id) {
        if (store().find(id).isEmpty()) {
            return Optional.empty();
        }
        SessionLock held;
        try {
            held = store().lock(id);
        } catch (LockTimeoutException e) {
            refused = true;
            throw e;
        } catch (LockInterruptedException e) {
            refused = true;
            interrupted = true;
            throw e;
        }
        Optional<Session> s = held.session();
        if (s.isPresent()) {
            lock = held;
        } else {
            held.close();
            vanished = true; // it existed before the wait: changed or invalidated meanwhile
        }
        return s;
    }

    synchronized LatchkeySession getSession(boolean create) {
        if (session != null && session.isValid()) {
            return session;
        }
        if (session == null) {
            resolve();
            if (loaded != null) {
                session = new LatchkeySession(this, loaded, false);
                loaded = null;
                return session;
            }
        }
        if (!create) {
            return null;
        }
        if (interrupted) {
            throw new IllegalStateException("cannot create a session: this request's thread was"
                    + " interrupted while it waited for a session lock, and a new session would"
                    + " replace the client's cookie");
        }
        if (refused) {
            throw new IllegalStateException("cannot create a session: this request could not get"
                    + " the lock of its session within latchkey.lockTimeout, and a new session"
                    + " would replace the client's cookie");
        }
        if (vanished) {
            throw new SessionVanishedException();
        }
        if (finished) {
            throw new IllegalStateException("cannot create a session: the request is complete");
        }
        if (originalResponse.isCommitted()) {
            throw new IllegalStateException(
                    "cannot create a session after the response has been committed");
        }
        Session created = store().create();
        if (rt.settings().concurrency() == Concurrency.EXCLUSIVE) {
            closeLock();
            lock = store().lock(created.id());
        }
        session = new LatchkeySession(this, created, true);
        issueCookie(created.id(), false);
        rt.listeners().created(session);
        return session;
    }

    synchronized String changeSessionId() {
        if (changingId) {
            // only the thread running the id change holds this monitor: a listener of that change
            throw new IllegalStateException("changeSessionId: called from a sessionIdChanged"
                    + " listener of the id change under way, which would change the id again and"
                    + " call the listeners again without end; the session already has its new id:"
                    + " use e.getSession().getId()");
        }
        changingId = true;
        try {
            return changeId();
        } finally {
            changingId = false;
        }
    }

    private String changeId() {
        LatchkeySession s = getSession(false);
        if (s == null) {
            throw new IllegalStateException("changeSessionId: the request has no session");
        }
        if (originalResponse.isCommitted()) {
            throw new IllegalStateException("changeSessionId: the response is already committed,"
                    + " so the new id could not reach the client");
        }
        String oldId = s.getId();
        Optional<Session> moved = lock != null ? lock.changeId() : store().changeId(oldId);
        if (moved.isEmpty()) {
            s.gone();
            throw new IllegalStateException("changeSessionId: the session no longer exists");
        }
        s.moved(moved.get());
        issueCookie(moved.get().id(), false);
        rt.listeners().idChanged(s, oldId);
        return moved.get().id();
    }

    synchronized String requestedSessionId() {
        resolve();
        return requestedId;
    }

    synchronized boolean requestedSessionIdValid() {
        resolve();
        if (requestedId == null) {
            return false;
        }
        if (session != null) {
            return session.isValid() && session.getId().equals(requestedId);
        }
        return requestedValid;
    }

    /**
     * Invalidates s, which the caller checked is this request's valid session. As the Servlet
     * specification words it, {@code sessionDestroyed} is told the session is "about to be
     * invalidated": listeners run first, with every attribute still readable, then the attributes
     * are unbound, then the session leaves the store. Listener exceptions are logged by
     * {@link Listeners}; the removal happens whatever the listeners do.
     */
    synchronized void invalidate(LatchkeySession s) {
        try {
            rt.listeners().destroyed(s);
            s.unbindAll();
        } finally {
            removeInvalidated(s);
        }
    }

    private void removeInvalidated(LatchkeySession s) {
        try {
            if (lock != null) {
                lock.invalidate();
            } else {
                store().invalidate(s.getId());
            }
        } finally {
            s.gone();
            closeLock();
            if (!originalResponse.isCommitted()) {
                issueCookie("", true);
            }
        }
    }

    /**
     * Commits the session's pending changes, if any. Called at every commit point: response
     * commit, include, async completion and the end of the filter.
     */
    synchronized void commit() {
        if (session == null || !session.isValid() || interrupted) {
            return;
        }
        SessionChange change = session.pendingChange();
        if (change.isEmpty()) {
            return;
        }
        Optional<Session> after;
        try {
            after = lock != null ? lock.commit(change) : store().commit(session.getId(), change);
        } catch (LockInterruptedException e) {
            interrupted = true; // merge mode: nothing was written
            throw e;
        }
        if (after.isPresent()) {
            session.committed(after.get());
        } else {
            // invalidated, moved or expired by someone else meanwhile: no resurrection, and no
            // forwarding to a new id (whoever knows the old id could write into the new session)
            session.gone();
            reportDropped(session.getId(), change);
        }
    }

    /** A commit found no session: says which changes are lost (names only, never values). */
    private static void reportDropped(String id, SessionChange change) {
        if (change.setNames().isEmpty() && change.removedNames().isEmpty()
                && change.maxInactiveInterval().isEmpty()) {
            LOG.debug("session {}… is gone; this request's access-time touch is dropped",
                    id.substring(0, Math.min(6, id.length())));
            return;
        }
        LOG.warn("session {}… was invalidated, given a new id (changeSessionId) or expired while"
                + " this request was running; its changes are dropped: set {}, removed {}{}."
                + " Changing the id or invalidating while other requests of the same session are"
                + " in flight drops their later changes (see docs/servlet.md, \"Login flows\")",
                id.substring(0, Math.min(6, id.length())), new TreeSet<>(change.setNames()),
                new TreeSet<>(change.removedNames()),
                change.maxInactiveInterval().isPresent() ? ", max inactive interval" : "");
    }

    /** Last commit and lock release. Idempotent. */
    synchronized void finish() {
        if (finished) {
            return;
        }
        try {
            commit();
        } finally {
            finished = true;
            closeLock();
        }
    }

    synchronized boolean isFinished() {
        return finished;
    }

    /**
     * Whether this request's session lock was not had (exclusive mode): not in time, or its
     * thread was interrupted while waiting ({@link #isInterrupted()}).
     */
    synchronized boolean isRefused() {
        return refused;
    }

    /** Whether this request's thread was interrupted while it waited for a session lock. */
    synchronized boolean isInterrupted() {
        return interrupted;
    }

    /**
     * Whether this request has no session and may not create one: refused for a lock timeout,
     * its session vanished while it waited for the lock (exclusive mode), or its thread was
     * interrupted while it waited for a lock.
     */
    synchronized boolean isSessionless() {
        return refused || vanished || interrupted;
    }

    /** Records that the lock timeout was answered; false if it was already. */
    synchronized boolean answerRefusal() {
        if (refusalAnswered) {
            return false;
        }
        refusalAnswered = true;
        return true;
    }

    synchronized boolean isRefusalAnswered() {
        return refusalAnswered;
    }

    /**
     * Starts a top-level dispatch in the filter.
     *
     * @return false if one is running already (a second filter instance on the directory, or a
     *     nested ASYNC-typed pass through the filter): the caller must not end the request
     */
    synchronized boolean enterDispatch() {
        if (dispatching) {
            return false;
        }
        dispatching = true;
        return true;
    }

    synchronized void exitDispatch() {
        dispatching = false;
    }

    /** The current thread starts running an AsyncContext.start task. */
    synchronized void enterAsyncRun() {
        asyncRunners.put(Thread.currentThread(), Boolean.FALSE);
    }

    /**
     * The current thread's AsyncContext.start task returned or threw.
     *
     * @return whether it called complete(), which was deferred to now
     */
    synchronized boolean exitAsyncRun() {
        return Boolean.TRUE.equals(asyncRunners.remove(Thread.currentThread()));
    }

    /**
     * complete() is called: defers it if the request is refused and the caller is a start() task
     * (which may be about to throw the LockTimeoutException that the filter answers).
     */
    synchronized boolean deferComplete() {
        if (!refused || !asyncRunners.containsKey(Thread.currentThread())) {
            return false;
        }
        asyncRunners.put(Thread.currentThread(), Boolean.TRUE);
        return true;
    }

    HttpServletResponse originalResponse() {
        return originalResponse;
    }

    /** The session id this request leaves in the client's cookie: see {@link #carried}. */
    private synchronized String endingCookie() {
        return cookieValue != null ? cookieValue : carried;
    }

    /**
     * Tells whether the request went asynchronous; if so, makes sure {@link #finish()} runs when
     * it completes.
     */
    synchronized boolean isAsync() {
        if (finished) {
            return false;
        }
        if (original.isAsyncStarted()) {
            listen(original.getAsyncContext());
            return true;
        }
        return false;
    }

    synchronized AsyncContext startedAsync(AsyncContext ac) {
        listen(ac);
        return asyncContext(ac);
    }

    /** The committing wrapper of the container's async context (one per context). */
    synchronized AsyncContext asyncContext(AsyncContext ac) {
        if (ac == null) {
            return null;
        }
        if (asyncWrapper == null || asyncWrapper.delegate() != ac) {
            asyncWrapper = new CommittingAsyncContext(ac, this);
        }
        return asyncWrapper;
    }

    private void listen(AsyncContext ac) {
        if (asyncListening) {
            return;
        }
        asyncListening = true;
        ac.addListener(new AsyncListener() {
            @Override
            public void onComplete(AsyncEvent event) {
                finish();
            }

            @Override
            public void onTimeout(AsyncEvent event) {
                // onComplete follows
            }

            @Override
            public void onError(AsyncEvent event) {
                // onComplete follows
            }

            @Override
            public void onStartAsync(AsyncEvent event) {
                event.getAsyncContext().addListener(this);
            }
        });
    }

    /** After response.reset(): the cookie header was dropped with the others; put it back. */
    synchronized void afterReset() {
        if (cookieHeader != null && !originalResponse.isCommitted()) {
            originalResponse.addHeader(SET_COOKIE, cookieHeader);
        }
    }

    private void issueCookie(String value, boolean expire) {
        Settings s = rt.settings();
        StringBuilder h = new StringBuilder(s.cookieName()).append('=').append(value);
        String path = s.cookiePath();
        if (path == null) {
            String contextPath = original.getContextPath();
            path = contextPath == null || contextPath.isEmpty() ? "/" : contextPath;
        }
        h.append("; Path=").append(path);
        if (s.cookieDomain() != null) {
            h.append("; Domain=").append(s.cookieDomain());
        }
        if (expire) {
            h.append("; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        }
        boolean secure = switch (s.cookieSecure()) {
            case ALWAYS -> true;
            case NEVER -> false;
            case AUTO -> original.isSecure();
        };
        if (secure) {
            h.append("; Secure");
        } else if (s.cookieSecure() == CookieSecure.AUTO && "None".equals(s.cookieSameSite())) {
            rt.sameSiteNoneWithoutSecure();
        }
        h.append("; HttpOnly; SameSite=").append(s.cookieSameSite());
        cookieHeader = h.toString();
        cookieValue = value;
        originalResponse.addHeader(SET_COOKIE, cookieHeader);
    }

    private void closeLock() {
        if (lock != null) {
            SessionLock l = lock;
            lock = null;
            l.close();
        }
    }
}
