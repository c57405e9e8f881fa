package dev.latchkey.servlet.internal;

import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpServletResponseWrapper;
import java.io.IOException;
import java.io.PrintWriter;

/**
 * The response the application sees: before anything commits it (flush, redirect, error, the
 * declared content length or the buffer size reached, close), the session's changes are
 * committed, so a client that follows a redirect or reacts to a flushed page sees them. URLs are
 * never rewritten with a session id.
 *
 * <p>Thread-safety: as the wrapped response (one thread at a time).
 */
final class SessionResponse extends HttpServletResponseWrapper {
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
        super.setContentLength(len);
        this.contentLength = len;
        if (len == 0) {
            ctx.commit();
        }
    }

    @Override
    public void setContentLengthLong(long len) {
        super.setContentLengthLong(len);
        this.contentLength = len;
        if (len == 0) {
            ctx.commit();
        }
    }

    @Override
    public void setHeader(String name, String value) {
        super.setHeader(name, value);
        contentLengthHeader(name, value);
    }

    @Override
    public void addHeader(String name, String value) {
        super.addHeader(name, value);
        contentLengthHeader(name, value);
    }

    private void contentLengthHeader(String name, String value) {
        if ("Content-Length".equalsIgnoreCase(name) && value != null) {
            try {
                contentLength = Long.parseLong(value.strip());
            } catch (NumberFormatException e) {
                // the container decides what a malformed length means; we just don't track it
            }
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
