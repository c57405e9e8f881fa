package dev.latchkey.servlet.internal;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;

/**
 * An {@link AsyncContext} whose {@link #complete()} commits the session before the container
 * finishes the response, so the client's next request sees the changes, and whose
 * {@link #start(Runnable)} answers a lock timeout escaping the task as the filter does on the
 * request's thread.
 *
 * <p>Thread-safety: as the wrapped context.
 */
final class CommittingAsyncContext implements AsyncContext {
    private final AsyncContext delegate;
    private final RequestContext ctx;

    CommittingAsyncContext(AsyncContext delegate, RequestContext ctx) {
        this.delegate = delegate;
        this.ctx = ctx;
    }

    AsyncContext delegate() {
        return delegate;
    }

    @Override
    public ServletRequest getRequest() {
        return delegate.getRequest();
    }

    @Override
    public ServletResponse getResponse() {
        return delegate.getResponse();
    }

    @Override
    public boolean hasOriginalRequestAndResponse() {
        return delegate.hasOriginalRequestAndResponse();
    }

    @Override
    public void dispatch() {
        delegate.dispatch();
    }

    @Override
    public void dispatch(String path) {
        delegate.dispatch(path);
    }

    @Override
    public void dispatch(ServletContext context, String path) {
        delegate.dispatch(context, path);
    }

    @Override
    public void complete() {
        if (ctx.deferComplete()) {
            return; // a start() task of a refused request: completed when the task ends
        }
        completeNow();
    }

    /** Commits, then completes the container's context. */
    void completeNow() {
        try {
            ctx.runtime().completeAsync(ctx, ctx.originalResponse());
        } finally {
            delegate.complete();
        }
    }

    /**
     * Runs the task on a container thread; a lock timeout it lets escape is answered with the
     * lock timeout status (see {@link SessionRuntime#runAsync}).
     */
    @Override
    public void start(Runnable run) {
        delegate.start(() -> ctx.runtime().runAsync(ctx, this, run));
    }

    @Override
    public void addListener(AsyncListener listener) {
        delegate.addListener(listener);
    }

    @Override
    public void addListener(AsyncListener listener, ServletRequest request,
            ServletResponse response) {
        delegate.addListener(listener, request, response);
    }

    @Override
    public <T extends AsyncListener> T createListener(Class<T> clazz) throws ServletException {
        return delegate.createListener(clazz);
    }

    @Override
    public void setTimeout(long timeout) {
        delegate.setTimeout(timeout);
    }

    @Override
    public long getTimeout() {
        return delegate.getTimeout();
    }
}
