package dev.latchkey.servlet;

import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.Servlet;
import jakarta.servlet.ServletConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * The app under test: one operation per path, answering "key=value" lines. "probe" reads the
 * session directory directly through a store of the test, bypassing the filter, to tell what was
 * committed at a given moment.
 */
final class AppServlet implements Servlet {
    final SessionStore probe;
    final Queue<String> events = new ConcurrentLinkedQueue<>();
    volatile CountDownLatch entered = new CountDownLatch(0);
    volatile CountDownLatch release = new CountDownLatch(0);
    /** The thread of the last "/asksession" request, set before it asks for its session. */
    volatile Thread asking;
    /** The request the app serves now (the last one to enter), for listeners that need it. */
    volatile HttpServletRequest serving;
    private ServletConfig config;

    AppServlet(SessionStore probe) {
        this.probe = probe;
    }

    @Override
    public void init(ServletConfig config) {
        this.config = config;
    }

    @Override
    public ServletConfig getServletConfig() {
        return config;
    }

    @Override
    public String getServletInfo() {
        return "app";
    }

    @Override
    public void destroy() {
    }

    /** Counts down {@link #entered}, then waits (bounded) until the test counts down release. */
    private void holdUntilReleased() {
        entered.countDown();
        try {
            if (!release.await(10, TimeUnit.SECONDS)) {
                throw new IllegalStateException("never released");
            }
        } catch (InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    private String stored(String id, String name) {
        Optional<Session> s = probe.find(id);
        return s.isEmpty() ? "<no session>" : String.valueOf(s.get().attribute(name));
    }

    @Override
    public void service(ServletRequest sreq, ServletResponse sresp)
            throws ServletException, IOException {
        HttpServletRequest req = (HttpServletRequest) sreq;
        HttpServletResponse resp = (HttpServletResponse) sresp;
        serving = req;
        Object included = req.getAttribute("jakarta.servlet.include.path_info");
        String op = included != null ? included.toString()
                : req.getPathInfo() == null ? "/" : req.getPathInfo();
        String n = req.getParameter("n");
        String v = req.getParameter("v");
        resp.setContentType("text/plain;charset=UTF-8");
        switch (op) {
            case "/info" -> {
                HttpSession s = req.getSession(!"false".equals(req.getParameter("create")));
                PrintWriter w = resp.getWriter();
                if (s != null) {
                    w.println("id=" + s.getId());
                    w.println("new=" + s.isNew());
                    w.println("created=" + s.getCreationTime());
                    w.println("accessed=" + s.getLastAccessedTime());
                    w.println("interval=" + s.getMaxInactiveInterval());
                    w.println("context=" + (s.getServletContext() == req.getServletContext()));
                } else {
                    w.println("session=none");
                }
                w.println("requested=" + req.getRequestedSessionId());
                w.println("requestedValid=" + req.isRequestedSessionIdValid());
                w.println("fromCookie=" + req.isRequestedSessionIdFromCookie());
                w.println("fromUrl=" + req.isRequestedSessionIdFromURL());
            }
            case "/set" -> {
                Object value = req.getParameter("int") != null ? (Object) Integer.valueOf(v) : v;
                req.getSession().setAttribute(n, value);
                resp.getWriter().println("ok");
            }
            case "/get" -> {
                HttpSession s = req.getSession(false);
                resp.getWriter().println(s == null ? "session=none" : "value=" + s.getAttribute(n));
            }
            case "/remove" -> {
                req.getSession().removeAttribute(n);
                resp.getWriter().println("ok");
            }
            case "/names" -> {
                List<String> names = new ArrayList<>();
                req.getSession().getAttributeNames().asIterator().forEachRemaining(names::add);
                names.sort(null);
                resp.getWriter().println("names=" + names);
            }
            case "/interval" -> {
                req.getSession().setMaxInactiveInterval(Integer.parseInt(v));
                resp.getWriter().println("ok");
            }
            case "/invalidate" -> {
                HttpSession s = req.getSession();
                s.invalidate();
                PrintWriter w = resp.getWriter();
                try {
                    s.getAttribute("x");
                    w.println("after=no exception");
                } catch (IllegalStateException e) {
                    w.println("after=ISE");
                }
                w.println("next=" + req.getSession(false));
                w.println("stored=" + stored(s.getId(), "x"));
                if (req.getParameter("recreate") != null) {
                    w.println("newId=" + req.getSession().getId());
                }
            }
            case "/changeid" -> {
                String old = req.getSession().getId();
                String now = req.changeSessionId();
                PrintWriter w = resp.getWriter();
                w.println("old=" + old);
                w.println("new=" + now);
                w.println("sessionId=" + req.getSession().getId());
            }
            case "/bad" -> {
                try {
                    req.getSession().setAttribute("bad", new StringBuilder("x"));
                    resp.getWriter().println("iae=none");
                } catch (IllegalArgumentException e) {
                    resp.getWriter().println("iae=" + e.getMessage());
                }
                resp.getWriter().println("value=" + req.getSession().getAttribute("bad"));
            }
            case "/redirect" -> {
                HttpSession s = req.getSession();
                s.setAttribute(n, v);
                resp.sendRedirect("get?n=" + n);
                events.add("atRedirect=" + stored(s.getId(), n));
            }
            case "/senderror" -> {
                HttpSession s = req.getSession();
                s.setAttribute(n, v);
                resp.sendError(409);
                events.add("atError=" + stored(s.getId(), n));
            }
            case "/flush" -> {
                HttpSession s = req.getSession();
                s.setAttribute(n, v);
                resp.flushBuffer();
                events.add("atFlush=" + stored(s.getId(), n));
                s.setAttribute(n + "2", v + "2");
                resp.getWriter().println("ok");
            }
            case "/length" -> {
                HttpSession s = req.getSession();
                s.setAttribute(n, v);
                byte[] body = "ok\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
                resp.setContentLength(body.length);
                resp.getOutputStream().write(body);
                events.add("atLength=" + stored(s.getId(), n));
            }
            case "/lengthvia" -> {
                // the content length declared through the other header methods
                HttpSession s = req.getSession();
                s.setAttribute(n, v);
                byte[] body = "ok\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
                String how = req.getParameter("how");
                switch (how) {
                    case "setInt" -> resp.setIntHeader("Content-Length", body.length);
                    case "addInt" -> resp.addIntHeader("content-length", body.length);
                    case "setInt0" -> resp.setIntHeader("Content-Length", 0);
                    case "set0" -> resp.setHeader("Content-Length", "0");
                    default -> throw new IllegalArgumentException(how);
                }
                if (!how.endsWith("0")) {
                    resp.getOutputStream().write(body);
                }
                events.add(how + "=" + stored(s.getId(), n));
            }
            case "/redirect61" -> {
                // Servlet 6.1 only (Tomcat 11): the overloads with a status and/or clearBuffer
                HttpSession s = req.getSession();
                s.setAttribute(n, v);
                String how = req.getParameter("how");
                switch (how) {
                    case "status" -> resp.sendRedirect("get?n=" + n, 303);
                    case "clear" -> resp.sendRedirect("get?n=" + n, false);
                    case "statusClear" -> resp.sendRedirect("get?n=" + n, 307, true);
                    default -> throw new IllegalArgumentException(how);
                }
                events.add(how + "=" + stored(s.getId(), n));
            }
            case "/namesget" -> {
                HttpSession s = req.getSession();
                List<String> names = new ArrayList<>();
                s.getAttributeNames().asIterator().forEachRemaining(names::add);
                names.sort(null);
                Object first = s.getAttribute(n);
                Object second = s.getAttribute(n);
                resp.getWriter().println("names=" + names);
                resp.getWriter().println("value=" + first + "," + second);
            }
            case "/include" -> {
                req.getSession().setAttribute(n, v);
                req.getRequestDispatcher("/probe?n=" + n).include(req, resp);
            }
            case "/probe" -> resp.getWriter().println("stored="
                    + stored(req.getSession().getId(), n));
            case "/async" -> {
                HttpSession s = req.getSession();
                AsyncContext ac = req.startAsync();
                CountDownLatch returned = new CountDownLatch(1);
                ac.start(() -> {
                    try {
                        returned.await(5, TimeUnit.SECONDS);
                        // give the request thread time to leave the filter: the commit must not
                        // have happened there
                        Thread.sleep(50);
                        s.setAttribute(n, v);
                        ac.getResponse().getWriter().println("async=done");
                        ac.complete();
                        events.add("atComplete=" + stored(s.getId(), n));
                    } catch (InterruptedException | IOException e) {
                        throw new IllegalStateException(e);
                    }
                });
                returned.countDown();
            }
            case "/asyncdispatch" -> // the dispatched part sets the attribute; no complete()
                    req.startAsync().dispatch("/set?n=" + n + "&v=" + v);
            case "/asyncsession" -> {
                // asks for the session on a container thread of AsyncContext.start
                AsyncContext ac = req.startAsync();
                ac.start(() -> {
                    try {
                        HttpSession s = ((HttpServletRequest) ac.getRequest()).getSession(false);
                        ac.getResponse().getWriter().println("session=" + s);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    } finally {
                        ac.complete();
                    }
                });
            }
            case "/login" -> {
                // holds the session (its lock in exclusive mode) until released, then changes id
                HttpSession s = req.getSession();
                holdUntilReleased();
                String id = req.changeSessionId();
                s.setAttribute("user", v);
                resp.getWriter().println("id=" + id);
            }
            case "/asksession" -> {
                asking = Thread.currentThread();
                HttpSession s = req.getSession();
                resp.getWriter().println("id=" + s.getId());
                resp.getWriter().println("user=" + s.getAttribute("user"));
            }
            case "/wait" -> {
                HttpSession s = req.getSession();
                s.setAttribute(n, v);
                holdUntilReleased();
                resp.getWriter().println("ok");
            }
            case "/incr" -> {
                HttpSession s = req.getSession();
                Integer c = (Integer) s.getAttribute(n);
                Thread.onSpinWait();
                s.setAttribute(n, c == null ? 1 : c + 1);
                resp.getWriter().println("ok");
            }
            case "/listsetup" -> {
                req.getSession().setAttribute(n, new ArrayList<>(List.of("a")));
                resp.getWriter().println("ok");
            }
            case "/mutate" -> {
                @SuppressWarnings("unchecked")
                List<Object> list = (List<Object>) req.getSession().getAttribute(n);
                list.add(v);
                resp.getWriter().println("ok");
            }
            case "/spoil" -> {
                // in-place changes that make values unstorable, found only at commit
                HttpSession s = req.getSession();
                @SuppressWarnings("unchecked")
                List<Object> read = (List<Object>) s.getAttribute(n);
                read.add(new StringBuilder("read"));
                List<Object> fresh = new ArrayList<>(List.of("a"));
                s.setAttribute(n + "2", fresh);
                fresh.add(new StringBuilder("set"));
                s.setAttribute("other", v);
                resp.getWriter().println("ok");
            }
            case "/plain" -> resp.getWriter().println("plain=1"); // never asks for the session
            case "/fail" -> {
                // changes the session, then fails: the error page must see this session
                req.getSession().setAttribute(n, v);
                if ("throw".equals(req.getParameter("how"))) {
                    throw new ServletException("the app failed (test)");
                }
                resp.sendError(500);
            }
            case "/errorpage" -> { // the error page for 500 and 503, like a JSP with session=true
                HttpSession s = req.getSession(false);
                PrintWriter w = resp.getWriter();
                w.println("error=" + req.getAttribute("jakarta.servlet.error.status_code"));
                w.println("interrupted=" + Thread.currentThread().isInterrupted());
                w.println("session=" + (s == null ? "none" : s.getId()));
                try {
                    w.println("created=" + req.getSession().getId());
                } catch (IllegalStateException e) {
                    w.println("created=ISE");
                }
            }
            case "/bind" -> {
                req.getSession().setAttribute(n, new Tracked(v));
                resp.getWriter().println("ok");
            }
            default -> resp.sendError(404);
        }
    }
}
