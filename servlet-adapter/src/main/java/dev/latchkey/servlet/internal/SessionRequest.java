package dev.latchkey.servlet.internal;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;

/**
 * The request the application sees: its session methods use Latchkey; {@code startAsync} keeps
 * the wrappers and defers the commit to completion; an include commits first.
 *
 * <p>Thread-safety: as the wrapped request; session state is guarded by the
 * {@link RequestContext}.
 */
final class SessionRequest extends HttpServletRequestWrapper {
    private final RequestContext ctx;

    SessionRequest(HttpServletRequest request, RequestContext ctx) {
        super(request);
        this.ctx = ctx;
    }

    @Override
    public HttpSession getSession(boolean create) {
        return ctx.getSession(create);
    }

    @Override
    public HttpSession getSession() {
        return ctx.getSession(true);
    }

    @Override
    public String changeSessionId() {
        return ctx.changeSessionId();
    }

    @Override
    public String getRequestedSessionId() {
        return ctx.requestedSessionId();
    }

    @Override
    public boolean isRequestedSessionIdValid() {
        return ctx.requestedSessionIdValid();
    }

    @Override
    public boolean isRequestedSessionIdFromCookie() {
        return ctx.requestedSessionId() != null;
    }

    @Override
    public boolean isRequestedSessionIdFromURL() {
        return false;
    }

    @Override
    public AsyncContext startAsync() {
        return ctx.startedAsync(super.startAsync(this, ctx.response()));
    }

    @Override
    public AsyncContext startAsync(ServletRequest request, ServletResponse response) {
        return ctx.startedAsync(super.startAsync(request, response));
    }

    @Override
    public AsyncContext getAsyncContext() {
        return ctx.asyncContext(super.getAsyncContext());
    }

    @Override
    public RequestDispatcher getRequestDispatcher(String path) {
        RequestDispatcher d = super.getRequestDispatcher(path);
        return d == null ? null : new CommittingDispatcher(d, ctx);
    }

    /** Commits the session before an include, so the included resource sees the changes. */
    private static final class CommittingDispatcher implements RequestDispatcher {
        private final RequestDispatcher delegate;
        private final RequestContext ctx;

        CommittingDispatcher(RequestDispatcher delegate, RequestContext ctx) {
            this.delegate = delegate;
            this.ctx = ctx;
        }

        @Override
        public void forward(ServletRequest request, ServletResponse response)
                throws ServletException, IOException {
            delegate.forward(request, response);
        }

        @Override
        public void include(ServletRequest request, ServletResponse response)
                throws ServletException, IOException {
            ctx.commit();
            delegate.include(request, response);
        }
    }
}
