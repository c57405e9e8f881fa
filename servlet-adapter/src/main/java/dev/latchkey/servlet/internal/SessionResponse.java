package dev.latchkey.servlet.internal;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * The response the application sees: before anything commits it (flush, redirect, error, the
 * declared content length or the buffer size reached, close), the session's changes are
 * committed, so a client that follows a redirect or reacts to a flushed page sees them. URLs are
 * never rewritten with a session id.
 *
 * <p>Compiled against Servlet 6.0, this class also declares Servlet 6.1's
 * {@code sendRedirect(String, int)}, {@code sendRedirect(String, boolean)} and
 * {@code sendRedirect(String, int, boolean)} without {@code @Override}: on a 6.1 container they
 * override {@link HttpServletResponseWrapper}'s versions, which would otherwise forward straight to
 * the wrapped response and skip the commit. On a 6.0 container nothing calls them.
 *
 * <p>Thread-safety: as the wrapped response (one thread at a time).
 */
final class SessionResponse extends HttpServletResponseWrapper {
    private static final String CONTENT_LENGTH = "Content-Length";
    /** Servlet 6.1's HttpServletResponse.sendRedirect overloads, or null on a 6.0 API. */
    private static final MethodHandle REDIRECT_STATUS = redirect(String.class, int.class);
    private static final MethodHandle REDIRECT_CLEAR = redirect(String.class, boolean.class);
    private static final MethodHandle REDIRECT_STATUS_CLEAR =
            redirect(String.class, int.class, boolean.class);

    private final RequestContext ctx;
    private long contentLength = -1;
    private long written;
    private boolean crossed;
    private ServletOutputStream out;
    private PrintWriter writer;

    SessionResponse(HttpServletResponse response, RequestContext ctx) {
        super(response);
        this.ctx = ctx;
    }

    /**
     * Commits the session, once, when writing n more bytes could commit the response (buffer full
     * or declared length reached). Writers count 3 bytes per char, the most UTF-8 needs, so the
     * session is committed early rather than late.
     */
    private void beforeWrite(long n) {
        long after = written + n;
        if (!crossed && ((contentLength >= 0 && after >= contentLength)
                || after > getBufferSize())) {
            crossed = true;
            if (!isCommitted()) {
                ctx.commit();
            }
        }
        written = after;
    }

    @Override
    public void flushBuffer() throws IOException {
        ctx.commit();
        super.flushBuffer();
    }

    @Override
    public void sendRedirect(String location) throws IOException {
        ctx.commit();
        super.sendRedirect(location);
    }

    /**
     * Servlet 6.1's redirect with a status: commits the session, then redirects.
     *
     * @param location the target
     * @param sc the redirect status
     * @throws IOException from the container
     */
    public void sendRedirect(String location, int sc) throws IOException {
        ctx.commit();
        invoke(REDIRECT_STATUS, location, sc, null);
    }

    /**
     * Servlet 6.1's redirect that may keep the buffered body: commits the session, then redirects.
     *
     * @param location the target
     * @param clearBuffer whether to discard the buffered body
     * @throws IOException from the container
     */
    public void sendRedirect(String location, boolean clearBuffer) throws IOException {
        ctx.commit();
        invoke(REDIRECT_CLEAR, location, null, clearBuffer);
    }

    /**
     * Servlet 6.1's redirect with a status that may keep the buffered body: commits the session,
     * then redirects.
     *
     * @param location the target
     * @param sc the redirect status
     * @param clearBuffer whether to discard the buffered body
     * @throws IOException from the container
     */
    public void sendRedirect(String location, int sc, boolean clearBuffer) throws IOException {
        ctx.commit();
        invoke(REDIRECT_STATUS_CLEAR, location, sc, clearBuffer);
    }

    private static MethodHandle redirect(Class<?>... parameters) {
        try {
            return MethodHandles.publicLookup().findVirtual(HttpServletResponse.class,
                    "sendRedirect", MethodType.methodType(void.class, parameters));
        } catch (NoSuchMethodException | IllegalAccessException e) {
            return null; // a Servlet 6.0 API: no container calls the overload then
        }
    }

    /** Calls a 6.1 overload on the wrapped response, with the arguments that are not null. */
    private void invoke(MethodHandle h, String location, Integer sc, Boolean clearBuffer)
            throws IOException {
        if (h == null) {
            throw new UnsupportedOperationException("this servlet API has no such sendRedirect");
        }
        HttpServletResponse wrapped = (HttpServletResponse) getResponse();
        try {
            if (sc != null && clearBuffer != null) {
                h.invokeExact(wrapped, location, sc.intValue(), clearBuffer.booleanValue());
            } else if (sc != null) {
                h.invokeExact(wrapped, location, sc.intValue());
            } else {
                h.invokeExact(wrapped, location, clearBuffer.booleanValue());
            }
        } catch (IOException | RuntimeException | Error e) {
            throw e;
        } catch (Throwable e) {
            throw new IllegalStateException("sendRedirect failed", e);
        }
    }

    @Override
    public void sendError(int sc) throws IOException {
        ctx.commit();
        super.sendError(sc);
    }

    @Override
    public void sendError(int sc, String msg) throws IOException {
        ctx.commit();
        super.sendError(sc, msg);
    }

    @Override
    public void setContentLength(int len) {
        declaredLength(len);
        super.setContentLength(len);
    }

    @Override
    public void setContentLengthLong(long len) {
        declaredLength(len);
        super.setContentLengthLong(len);
    }

    @Override
    public void setHeader(String name, String value) {
        contentLengthHeader(name, value);
        super.setHeader(name, value);
    }

    @Override
    public void addHeader(String name, String value) {
        contentLengthHeader(name, value);
        super.addHeader(name, value);
    }

    @Override
    public void setIntHeader(String name, int value) {
        if (CONTENT_LENGTH.equalsIgnoreCase(name)) {
            declaredLength(value);
        }
        super.setIntHeader(name, value);
    }

    @Override
    public void addIntHeader(String name, int value) {
        if (CONTENT_LENGTH.equalsIgnoreCase(name)) {
            declaredLength(value);
        }
        super.addIntHeader(name, value);
    }

    private void contentLengthHeader(String name, String value) {
        if (CONTENT_LENGTH.equalsIgnoreCase(name) && value != null) {
            try {
                declaredLength(Long.parseLong(value.strip()));
            } catch (NumberFormatException e) {
                // the container decides what a malformed length means; we just don't track it
            }
        }
    }

    /**
     * Records a declared content length, however it was declared; a length of zero means the
     * response is complete, so the session is committed at once.
     */
    private void declaredLength(long len) {
        contentLength = len;
        if (len == 0) {
            ctx.commit();
        }
    }

    @Override
    public void reset() {
        super.reset();
        contentLength = -1;
        written = 0;
        crossed = false;
        ctx.afterReset();
    }

    @Override
    public void resetBuffer() {
        super.resetBuffer();
        written = 0;
        crossed = false;
    }

    @Override
    public String encodeURL(String url) {
        return url;
    }

    @Override
    public String encodeRedirectURL(String url) {
        return url;
    }

    @Override
    public ServletOutputStream getOutputStream() throws IOException {
        if (out == null) {
            out = new CommittingOutputStream(super.getOutputStream());
        }
        return out;
    }

    @Override
    public PrintWriter getWriter() throws IOException {
        if (writer == null) {
            writer = new CommittingWriter(super.getWriter());
        }
        return writer;
    }

    private final class CommittingOutputStream extends ServletOutputStream {
        private final ServletOutputStream delegate;

        CommittingOutputStream(ServletOutputStream delegate) {
            this.delegate = delegate;
        }

        @Override
        public boolean isReady() {
            return delegate.isReady();
        }

        @Override
        public void setWriteListener(WriteListener listener) {
            delegate.setWriteListener(listener);
        }

        @Override
        public void write(int b) throws IOException {
            beforeWrite(1);
            delegate.write(b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            beforeWrite(len);
            delegate.write(b, off, len);
        }

        @Override
        public void flush() throws IOException {
            ctx.commit();
            delegate.flush();
        }

        @Override
        public void close() throws IOException {
            ctx.commit();
            delegate.close();
        }
    }

    private final class CommittingWriter extends PrintWriter {
        private final PrintWriter delegate;

        CommittingWriter(PrintWriter delegate) {
            super(delegate);
            this.delegate = delegate;
        }

        @Override
        public void write(int c) {
            beforeWrite(3);
            delegate.write(c);
        }

        @Override
        public void write(char[] buf, int off, int len) {
            beforeWrite(3L * len);
            delegate.write(buf, off, len);
        }

        @Override
        public void write(String s, int off, int len) {
            beforeWrite(3L * len);
            delegate.write(s, off, len);
        }

        @Override
        public void println() {
            beforeWrite(3L * System.lineSeparator().length());
            delegate.println();
        }

        @Override
        public void flush() {
            ctx.commit();
            delegate.flush();
        }

        @Override
        public void close() {
            ctx.commit();
            delegate.close();
        }

        @Override
        public boolean checkError() {
            return delegate.checkError();
        }
    }
}
