package dev.latchkey.examples;

import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.Cookie;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.regex.Pattern;

/**
 * A deliberately unsafe session filter, for the demo's {@code --store=naive} run only: the
 * mechanism of Tomcat's {@code FileStore} and Flask-Session's file backend. The request's
 * {@link HttpSession} loads the whole session file at first use; at the end of the request, if
 * anything was set, the whole map is written back in place. There is no lock and no merge, so two
 * overlapping requests of one session each write back what they read plus their own change, and
 * the later write silently drops the earlier one's. A request that reads while another truncates
 * and rewrites the file finds no valid session. Never use this.
 *
 * <p>Thread-safe (each request has its own session object).
 */
final class NaiveSessionFilter implements Filter {
    static final String COOKIE = "NAIVESESSION";
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{43}");

    private final NaiveFileStore store;
    private final SecureRandom random = new SecureRandom();

    NaiveSessionFilter(Path directory) throws IOException {
        Files.createDirectories(directory);
        this.store = new NaiveFileStore(directory);
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        NaiveRequest wrapped = new NaiveRequest((HttpServletRequest) request,
                (HttpServletResponse) response);
        chain.doFilter(wrapped, response);
        NaiveSession s = wrapped.session;
        if (s != null && s.modified && !s.invalid) {
            store.save(s.id, s.attributes); // the whole session, as read at first use + changes
        }
    }

    private final class NaiveRequest extends HttpServletRequestWrapper {
        private final HttpServletResponse response;
        private NaiveSession session;
        private boolean loaded;

        NaiveRequest(HttpServletRequest request, HttpServletResponse response) {
            super(request);
            this.response = response;
        }

        @Override
        public HttpSession getSession() {
            return getSession(true);
        }

        @Override
        public HttpSession getSession(boolean create) {
            if (session != null && session.invalid) {
                session = null;
            }
            String requested = getRequestedSessionId();
            if (!loaded) {
                loaded = true;
                if (requested != null) {
                    try {
                        session = new NaiveSession(requested, store.load(requested), false,
                                getServletContext());
                    } catch (IOException missingOrTorn) {
                        session = null; // like the common stores: unreadable means no session
                    }
                }
            }
            if (session == null && create) {
                byte[] bytes = new byte[32];
                random.nextBytes(bytes);
                String id = Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
                session = new NaiveSession(id, new LinkedHashMap<>(), true, getServletContext());
                session.modified = true;
                Cookie cookie = new Cookie(COOKIE, id);
                cookie.setPath("/");
                cookie.setHttpOnly(true);
                response.addCookie(cookie);
            }
            return session;
        }

        @Override
        public String getRequestedSessionId() {
            Cookie[] cookies = getCookies();
            if (cookies != null) {
                for (Cookie c : cookies) {
                    if (c.getName().equals(COOKIE) && ID.matcher(c.getValue()).matches()) {
                        return c.getValue();
                    }
                }
            }
            return null;
        }

        @Override
        public boolean isRequestedSessionIdValid() {
            HttpSession s = getSession(false);
            return s != null && s.getId().equals(getRequestedSessionId());
        }

        @Override
        public String changeSessionId() {
            throw new UnsupportedOperationException("the naive demo store cannot change ids");
        }
    }

    private final class NaiveSession implements HttpSession {
        private final String id;
        private final Map<String, Object> attributes;
        private final boolean isNew;
        private final ServletContext context;
        private final long created = System.currentTimeMillis();
        private boolean modified;
        private boolean invalid;
        private int maxInactive = 1800;

        NaiveSession(String id, Map<String, Object> attributes, boolean isNew,
                ServletContext context) {
            this.id = id;
            this.attributes = Collections.synchronizedMap(attributes);
            this.isNew = isNew;
            this.context = context;
        }

        @Override
        public long getCreationTime() {
            return created;
        }

        @Override
        public String getId() {
            return id;
        }

        @Override
        public long getLastAccessedTime() {
            return created;
        }

        @Override
        public ServletContext getServletContext() {
            return context;
        }

        @Override
        public void setMaxInactiveInterval(int interval) {
            maxInactive = interval;
        }

        @Override
        public int getMaxInactiveInterval() {
            return maxInactive;
        }

        @Override
        public Object getAttribute(String name) {
            return attributes.get(name);
        }

        @Override
        public Enumeration<String> getAttributeNames() {
            return Collections.enumeration(attributes.keySet());
        }

        @Override
        public void setAttribute(String name, Object value) {
            if (value == null) {
                removeAttribute(name);
                return;
            }
            attributes.put(name, value);
            modified = true;
        }

        @Override
        public void removeAttribute(String name) {
            attributes.remove(name);
            modified = true;
        }

        @Override
        public void invalidate() {
            invalid = true;
            try {
                store.delete(id);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public boolean isNew() {
            return isNew;
        }
    }
}
