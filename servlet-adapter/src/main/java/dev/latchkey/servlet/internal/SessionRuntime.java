package dev.latchkey.servlet.internal;

import dev.latchkey.LatchkeyException;
import dev.latchkey.LockInterruptedException;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.StoreException;
import dev.latchkey.servlet.CookieSecure;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.SessionCookieConfig;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The running filter: its open store, settings and listeners, and the per-request flow (wrap,
 * lock in exclusive mode, run the chain, commit, release).
 *
 * <p>Thread-safety: thread-safe; each request gets its own {@link RequestContext}.
 */
public final class SessionRuntime {
    private static final Logger LOG = LoggerFactory.getLogger(SessionRuntime.class);

    private final Settings settings;
    private final SessionStore store;
    private final ServletContext servletContext;
    private final Listeners listeners;
    private final String contextAttribute;
    private final AtomicBoolean warnedSameSiteNone = new AtomicBoolean();
    /** The filter's own sweep thread, or null (no sweep, or the caller's executor). */
    private final SweepThread sweepThread;
    private final AtomicBoolean warnedTwoInstances = new AtomicBoolean();

    private SessionRuntime(Settings settings, SessionStore store, ServletContext servletContext,
            SweepThread sweepThread) {
        this.settings = settings;
        this.store = store;
        this.sweepThread = sweepThread;
        this.servletContext = servletContext;
        this.listeners = new Listeners(settings.listeners());
        // keyed by the directory: a second filter instance on the same directory in the same
        // chain finds the first one's state instead of waiting for its lock (exclusive mode)
        this.contextAttribute = RequestContext.class.getName() + "@" + settings.directory();
    }

    /**
     * Opens the store for a filter.
     *
     * @param settings the validated settings
     * @param config the container's filter configuration
     * @return the running filter
     * @throws ServletException if the directory cannot be used or the cookie name collides with
     *     the container's session cookie
     */
    public static SessionRuntime start(Settings settings, FilterConfig config)
            throws ServletException {
        ServletContext context = config.getServletContext();
        SessionCookieConfig containerCookie = context == null ? null
                : context.getSessionCookieConfig();
        String containerName = containerCookie == null || containerCookie.getName() == null
                ? "JSESSIONID" : containerCookie.getName();
        if (containerName.equalsIgnoreCase(settings.cookieName())) {
            throw InitParams.fail(config, "latchkey.cookieName", settings.cookieName(),
                    "collides with the container's session cookie name", null);
        }
        StoreConfig.Builder b = StoreConfig.builder(settings.directory())
                .lockTimeout(settings.lockTimeout())
                .defaultMaxInactiveInterval(settings.maxInactiveInterval())
                .clock(settings.clock());
        if (!settings.allowedTypes().isEmpty()) {
            b.allowTypes(settings.allowedTypes().toArray(new Class<?>[0]));
        }
        if (settings.macKeyFile() != null) {
            b.macKeyFile(settings.macKeyFile());
        }
        if (!settings.previousMacKeyFiles().isEmpty()) {
            b.previousMacKeyFiles(settings.previousMacKeyFiles().toArray(new Path[0]));
        }
        SweepThread sweepThread = null;
        if (!settings.sweepInterval().isZero()) {
            ScheduledExecutorService executor = settings.sweepExecutor();
            if (executor == null) {
                sweepThread = new SweepThread();
                executor = sweepThread.executor;
            }
            b.backgroundSweep(executor, settings.sweepInterval());
        }
        StoreConfig storeConfig = b.build();
        SessionStore store;
        try {
            store = SessionStore.open(storeConfig);
        } catch (RuntimeException e) {
            if (sweepThread != null) {
                sweepThread.stop();
            }
            throw openFailure(config, settings, storeConfig, e);
        }
        LOG.info("Latchkey sessions in {} ({}, {}, {})", settings.directory(),
                settings.concurrency(), settings.saveMode(), settings.sweepInterval().isZero()
                        ? "no sweep in this process"
                        : "sweep every " + settings.sweepInterval().toMillis() + " ms");
        if ("None".equals(settings.cookieSameSite())
                && settings.cookieSecure() != CookieSecure.ALWAYS) {
            boolean auto = settings.cookieSecure() == CookieSecure.AUTO;
            LOG.warn("the session cookie is SameSite=None but latchkey.cookieSecure"
                    + " (Builder.cookieSecure) is {}: browsers drop SameSite=None cookies without"
                    + " Secure, so {}; set cookieSecure to true", auto ? "auto" : "false", auto
                            ? "requests that are not secure (plain HTTP, or TLS ended at a proxy the"
                                    + " container does not trust) lose their session"
                            : "no session survives its first response");
        }
        return new SessionRuntime(settings, store, context, sweepThread);
    }

    /** The failure to open the store, naming the init-param it comes from. */
    private static ServletException openFailure(FilterConfig config, Settings settings,
            StoreConfig storeConfig, RuntimeException failure) {
        if (failure instanceof StoreException e) {
            String param = settings.previousMacKeyFiles().contains(e.path())
                    ? "latchkey.previousMacKeyFiles"
                    : storeConfig.macKeyFile().map(f -> f.equals(e.path())).orElse(false)
                            ? "latchkey.macKeyFile" : "latchkey.directory";
            String value = param.equals("latchkey.directory")
                    ? settings.directory().toString() : String.valueOf(e.path());
            return InitParams.fail(config, param, value, "cannot be used: " + e.getMessage(), e);
        }
        if (failure instanceof LatchkeyException e) {
            return InitParams.fail(config, "latchkey.directory", settings.directory().toString(),
                    "cannot be used: " + e.getMessage(), e);
        }
        throw failure;
    }

    /**
     * The filter's own sweep executor: one daemon thread named {@code latchkey-sweep}, made on
     * the first task, ended by {@link #stop}.
     */
    private static final class SweepThread implements ThreadFactory {
        private static final long STOP_WAIT_SECONDS = 10;
        final ScheduledExecutorService executor = Executors.newSingleThreadScheduledExecutor(this);
        private final List<Thread> threads = new CopyOnWriteArrayList<>();

        @Override
        public Thread newThread(Runnable task) {
            Thread t = new Thread(task, "latchkey-sweep");
            t.setDaemon(true);
            threads.add(t);
            return t;
        }

        /** Shuts the executor down and waits (bounded) until its thread has ended. */
        void stop() {
            executor.shutdown();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(STOP_WAIT_SECONDS);
            boolean interrupted = false;
            try {
                for (Thread t : threads) {
                    while (t.isAlive()) {
                        long left = deadline - System.nanoTime();
                        if (left <= 0) {
                            LOG.warn("the latchkey-sweep thread did not end within {} s after"
                                    + " destroy(); interrupting it", STOP_WAIT_SECONDS);
                            executor.shutdownNow();
                            return;
                        }
                        try {
                            t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left)));
                        } catch (InterruptedException e) {
                            interrupted = true; // keep waiting; restore the status at the end
                        }
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }
    }

    /**
     * Returns the settings.
     *
     * @return the settings
     */
    public Settings settings() {
        return settings;
    }

    SessionStore store() {
        return store;
    }

    ServletContext servletContext() {
        return servletContext;
    }

    Listeners listeners() {
        return listeners;
    }

    /** A SameSite=None cookie went out without Secure (cookieSecure auto): warns once. */
    void sameSiteNoneWithoutSecure() {
        if (warnedSameSiteNone.compareAndSet(false, true)) {
            LOG.warn("a non-secure request got a SameSite=None session cookie without Secure, which"
                    + " browsers drop; set latchkey.cookieSecure (Builder.cookieSecure) to true, or"
                    + " make the container see the original scheme behind a TLS proxy (reported"
                    + " once)");
        }
    }

    /**
     * Runs one request through the rest of the chain with Latchkey sessions.
     *
     * @param request the request
     * @param response the response
     * @param chain the rest of the chain
     * @throws IOException from the chain
     * @throws ServletException from the chain
     */
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        if (!(request instanceof HttpServletRequest req)
                || !(response instanceof HttpServletResponse resp)) {
            chain.doFilter(request, response);
            return;
        }
        Object existing = req.getAttribute(contextAttribute);
        RequestContext previous = null;
        if (existing instanceof RequestContext ctx) {
            if (ctx.runtime() != this) {
                warnTwoInstances();
            }
            if (!ctx.isFinished() || ctx.isSessionless()) {
                // a forward, include, async or error dispatch inside a request we already serve;
                // or the error page of a request refused for a lock timeout (or whose session
                // vanished while it waited), which keeps having no session (and holds no lock)
                // rather than create one over the client's cookie
                boolean wrapped = ctx.isWrapping(req);
                ServletRequest r = wrapped ? request : ctx.wrap(req);
                ServletResponse s = wrapped ? response : ctx.wrap(resp);
                if (req.getDispatcherType() == DispatcherType.ASYNC && !ctx.isFinished()
                        && ctx.enterDispatch()) {
                    // a top-level async dispatch: ends the request as the first dispatch would
                    // have, unless it goes asynchronous again; on Jetty the async cycle's
                    // onComplete comes only after the response is sent, too late to commit
                    ctx.runtime().dispatch(ctx, r, s, resp, chain);
                } else {
                    chain.doFilter(r, s);
                }
                return;
            }
            previous = ctx; // an error page after the request ended: a new context, same cookie
        }
        RequestContext ctx = new RequestContext(this, req, resp, previous);
        req.setAttribute(contextAttribute, ctx);
        ctx.enterDispatch();
        dispatch(ctx, ctx.request(), ctx.response(), resp, chain);
    }

    /**
     * Runs a top-level dispatch (the request's first, or an async dispatch): answers a lock
     * timeout the application did not catch, and ends the request unless it went asynchronous.
     */
    private void dispatch(RequestContext ctx, ServletRequest request, ServletResponse response,
            HttpServletResponse resp, FilterChain chain) throws IOException, ServletException {
        Throwable failure = null;
        boolean answered = false;
        try {
            chain.doFilter(request, response);
        } catch (IOException | ServletException | RuntimeException | Error e) {
            if (resp.isCommitted() || ctx.isAsync() || !answer(ctx, resp, e)) {
                failure = e;
                throw e;
            }
            answered = true;
        } finally {
            ctx.exitDispatch();
            if (!ctx.isAsync()) {
                if (ctx.isRefused() && !answered && !ctx.isRefusalAnswered() && failure == null) {
                    if (ctx.isInterrupted()) {
                        LOG.warn("the request's thread was interrupted while it waited for the"
                                + " session lock when the application asked for the session (the"
                                + " container is stopping, or the request was cancelled); the"
                                + " application handled the exception itself; the request had no"
                                + " session");
                    } else {
                        LOG.warn("could not get a session lock within {} ms when the application"
                                + " asked for the session; the application handled the exception"
                                + " itself; raise latchkey.lockTimeout (Builder.lockTimeout) or"
                                + " shorten the work done while a session is locked",
                                settings.lockTimeout().toMillis());
                    }
                }
                endRequest(ctx, resp, failure);
            }
        }
    }

    /**
     * Answers e if it is this request's refusal: a lock timeout when the application asked for
     * the session, or a session that vanished while the request waited for its lock, with the lock
     * timeout status; a wait for a lock that the thread's interrupt ended (when the application
     * asked for the session, or at a commit point), with 503. The caller checked that the
     * response is not committed.
     *
     * @return whether e was answered
     */
    private boolean answer(RequestContext ctx, HttpServletResponse resp, Throwable e)
            throws IOException {
        LatchkeyException failure = lockFailureIn(e);
        if (failure instanceof LockInterruptedException && !ctx.isRefused()) {
            // a commit point (flush, include, ...) in merge mode, or changeSessionId, waited
            warnLockFailure("in a call of the application (a commit point such as a flush, or"
                    + " changeSessionId)", failure);
            sendLockFailure(resp, failure);
            return true;
        }
        if (failure != null && ctx.isRefused()) {
            if (!ctx.answerRefusal()) {
                return false;
            }
            // exclusive mode: the session's lock was not had when the app asked for the session
            warnLockFailure("when the application asked for the session", failure);
            sendLockFailure(resp, failure);
            return true;
        }
        if (ctx.isSessionless() && vanishedIn(e)) {
            LOG.warn("answering {}: the session this request asked for was invalidated or given a"
                    + " new id by another request while this one waited for its lock, and a new"
                    + " session would replace the cookie that request sent; see docs/servlet.md,"
                    + " \"Login flows\"", settings.lockTimeoutStatus());
            resp.sendError(settings.lockTimeoutStatus());
            return true;
        }
        return false;
    }

    private static boolean vanishedIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof SessionVanishedException) {
                return true;
            }
        }
        return false;
    }

    /**
     * Runs an {@code AsyncContext.start} task: a lock timeout it lets escape (when it first asks
     * for the session) is answered with the lock timeout status, as on the request's thread,
     * instead of reaching the container's thread pool and leaving the client an empty 200.
     */
    void runAsync(RequestContext ctx, CommittingAsyncContext ac, Runnable task) {
        ctx.enterAsyncRun();
        try {
            task.run();
        } catch (RuntimeException | Error e) {
            boolean completed = ctx.exitAsyncRun();
            LatchkeyException timeout = ctx.isRefused() ? lockFailureIn(e) : null;
            if (timeout == null || !ctx.answerRefusal()) {
                if (completed) {
                    ac.completeNow();
                }
                throw e;
            }
            HttpServletResponse resp = ctx.originalResponse();
            if (resp.isCommitted()) {
                // the status is sent: the client gets what was written so far, cut short
                warnLockFailure("on an asynchronous thread after the response was committed"
                        + " (the client gets a truncated response)", timeout);
            } else {
                warnLockFailure("on an asynchronous thread when the application asked for the"
                        + " session", timeout);
                try {
                    sendLockFailure(resp, timeout);
                } catch (IOException | IllegalStateException io) {
                    timeout.addSuppressed(io);
                }
            }
            ac.completeNow();
            return;
        }
        if (ctx.exitAsyncRun()) {
            ac.completeNow();
        }
    }

    /**
     * {@code AsyncContext.complete()}: a commit that cannot get the lock in time (merge mode) is
     * answered with the lock timeout status if the response is not committed.
     */
    void completeAsync(RequestContext ctx, HttpServletResponse resp) {
        try {
            ctx.finish();
        } catch (LockTimeoutException | LockInterruptedException e) {
            if (resp.isCommitted()) {
                throw e;
            }
            warnLockFailure("at the commit of complete()", e);
            try {
                sendLockFailure(resp, e);
            } catch (IOException | IllegalStateException io) {
                e.addSuppressed(io);
                throw e;
            }
        }
    }

    private void warnTwoInstances() {
        if (warnedTwoInstances.compareAndSet(false, true)) {
            LOG.warn("two LatchkeyFilter instances on the session directory {} run in one request"
                    + " (declared twice: web.xml and code, or two registrations); the inner one"
                    + " uses the outer one's session state and settings. Register the filter once"
                    + " (reported once)", settings.directory());
        }
    }

    /** The lock timeout or lock-wait interrupt in e's causes, or null. */
    private static LatchkeyException lockFailureIn(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof LockTimeoutException || t instanceof LockInterruptedException) {
                return (LatchkeyException) t;
            }
        }
        return null;
    }

    /**
     * Answers a lock failure: a timeout with the configured status (the session is busy); an
     * interrupted wait with 503 (nothing was busy: the container is stopping, or the request was
     * cancelled). The interrupt asked for this request to stop, and answering ends it: the
     * interrupt status is cleared here, because a container cannot deliver the answer from an
     * interrupted thread (Tomcat 11 drops the connection instead, and the client retries).
     */
    private void sendLockFailure(HttpServletResponse resp, LatchkeyException failure)
            throws IOException {
        if (failure instanceof LockInterruptedException) {
            Thread.interrupted(); // consumed: this request, which it was meant to stop, ends now
            resp.sendError(HttpServletResponse.SC_SERVICE_UNAVAILABLE);
        } else {
            resp.sendError(settings.lockTimeoutStatus());
        }
    }

    private void endRequest(RequestContext ctx, HttpServletResponse resp, Throwable failure)
            throws IOException {
        try {
            ctx.finish();
        } catch (LockTimeoutException | LockInterruptedException e) {
            if (failure != null) {
                failure.addSuppressed(e);
            } else if (!resp.isCommitted()) {
                warnLockFailure("at the commit", e);
                sendLockFailure(resp, e);
            } else {
                throw e;
            }
        } catch (RuntimeException | Error e) {
            if (failure != null) {
                failure.addSuppressed(e);
            } else {
                throw e;
            }
        }
    }

    /** Logs a lock timeout ({@link #warnLockTimeout}) or an interrupted wait for a lock. */
    private void warnLockFailure(String when, LatchkeyException e) {
        if (e instanceof LockTimeoutException timeout) {
            warnLockTimeout(when, timeout);
        } else {
            LOG.warn("a request's thread was interrupted while it waited for a session lock {},"
                    + " answering 503 and ending the request, which clears the interrupt (the"
                    + " container is stopping, or the request was cancelled; the request has no"
                    + " session from then on and its later changes are not saved): {}", when,
                    e.getMessage());
        }
    }

    /**
     * Logs a lock timeout naming this filter's setting: the core exception's own advice names
     * {@code StoreConfig}, which a servlet user does not configure.
     */
    private void warnLockTimeout(String when, LockTimeoutException e) {
        String what = e.getMessage();
        int advice = what.indexOf(" (waited ");
        if (advice >= 0) {
            what = what.substring(0, advice);
        }
        LOG.warn("could not get a session lock within {} ms {}, answering {}: {}; raise"
                + " latchkey.lockTimeout (Builder.lockTimeout) or shorten the work done while a"
                + " session is locked", settings.lockTimeout().toMillis(), when,
                settings.lockTimeoutStatus(), what);
    }

    /** Closes the store, then stops the filter's own sweep thread (if it has one). */
    public void close() {
        try {
            store.close(); // cancels the sweep task; a run under way stops at its next marker
        } finally {
            if (sweepThread != null) {
                sweepThread.stop();
            }
        }
    }
}
