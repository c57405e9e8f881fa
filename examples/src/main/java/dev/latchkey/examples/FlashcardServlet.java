package dev.latchkey.examples;

import com.fasterxml.jackson.databind.ObjectMapper;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.sql.SQLException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The flashcard app, on plain servlets. It knows nothing about where sessions live: behind
 * {@code LatchkeyFilter} they are Latchkey sessions, behind {@link NaiveSessionFilter} naive ones.
 *
 * <ul>
 *   <li>{@code POST /login?user=ID&name=NAME}: the session holds the user id and name, and starts
 *       the counters.</li>
 *   <li>{@code POST /deck?deck=NAME}: choose the current deck ({@code deckChanges} + 1).</li>
 *   <li>{@code POST /cards?front=TEXT&rid=ID}: add a card to the current deck, in the database of
 *       the user whose id the session holds ({@code cardsAdded} + 1, {@code lastCardId}).</li>
 *   <li>{@code GET /cards}: my cards.</li>
 *   <li>{@code GET /counters}: the session's counters, as JSON.</li>
 * </ul>
 *
 * <p>Every answer is JSON with {@code worker} (which process served it) and {@code user} (the
 * user id read from the session); 401 without a logged-in session. The counters are
 * read-modify-writes of one attribute each, as apps do.
 */
final class FlashcardServlet extends HttpServlet {
    private static final long serialVersionUID = 1L;
    private static final ObjectMapper JSON = new ObjectMapper();

    private final transient UserDatabases databases;
    private final int worker;

    FlashcardServlet(UserDatabases databases, int worker) {
        this.databases = databases;
        this.worker = worker;
    }

    @Override
    protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        if (path.equals("/login")) {
            int user = Integer.parseInt(req.getParameter("user"));
            HttpSession session = req.getSession();
            session.setAttribute("userId", user);
            session.setAttribute("userName", req.getParameter("name"));
            session.setAttribute("deck", "default");
            session.setAttribute("cardsAdded", 0);
            session.setAttribute("deckChanges", 0);
            answer(resp, 200, body(user));
            return;
        }
        HttpSession session = req.getSession(false);
        Integer user = userOf(session);
        if (user == null) {
            answer(resp, 401, Map.of("worker", worker, "error", "not logged in"));
            return;
        }
        switch (path) {
            case "/deck" -> {
                String deck = req.getParameter("deck");
                session.setAttribute("deck", deck);
                session.setAttribute("deckChanges", count(session, "deckChanges") + 1);
                Map<String, Object> out = body(user);
                out.put("deck", deck);
                answer(resp, 200, out);
            }
            case "/cards" -> {
                String deck = (String) session.getAttribute("deck");
                long id;
                try {
                    id = databases.add(user, deck, req.getParameter("front"),
                            req.getParameter("rid"));
                } catch (SQLException e) {
                    answer(resp, 500, Map.of("worker", worker, "error", e.toString()));
                    return;
                }
                session.setAttribute("cardsAdded", count(session, "cardsAdded") + 1);
                session.setAttribute("lastCardId", id);
                Map<String, Object> out = body(user);
                out.put("cardId", id);
                answer(resp, 200, out);
            }
            default -> answer(resp, 404, Map.of("worker", worker, "error", "no such page"));
        }
    }

    @Override
    protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
        String path = req.getPathInfo() == null ? "" : req.getPathInfo();
        HttpSession session = req.getSession(false);
        Integer user = userOf(session);
        if (user == null) {
            answer(resp, 401, Map.of("worker", worker, "error", "not logged in"));
            return;
        }
        Map<String, Object> out = body(user);
        switch (path) {
            case "/counters" -> {
                out.put("cardsAdded", count(session, "cardsAdded"));
                out.put("deckChanges", count(session, "deckChanges"));
                out.put("deck", session.getAttribute("deck"));
                out.put("lastCardId", session.getAttribute("lastCardId"));
            }
            case "/cards" -> {
                List<UserDatabases.Card> cards;
                try {
                    cards = databases.list(user);
                } catch (SQLException e) {
                    answer(resp, 500, Map.of("worker", worker, "error", e.toString()));
                    return;
                }
                out.put("cards", cards);
            }
            default -> {
                answer(resp, 404, Map.of("worker", worker, "error", "no such page"));
                return;
            }
        }
        answer(resp, 200, out);
    }

    private static Integer userOf(HttpSession session) {
        Object v = session == null ? null : session.getAttribute("userId");
        return v instanceof Number n ? Integer.valueOf(n.intValue()) : null;
    }

    private static int count(HttpSession session, String name) {
        Object v = session.getAttribute(name);
        return v == null ? 0 : ((Number) v).intValue();
    }

    private Map<String, Object> body(int user) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("worker", worker);
        out.put("user", user);
        return out;
    }

    /** Writes a small JSON answer without flushing: the session is saved before it is sent. */
    private static void answer(HttpServletResponse resp, int status, Map<String, ?> body)
            throws IOException {
        byte[] bytes = JSON.writeValueAsBytes(body);
        resp.setStatus(status);
        resp.setContentType("application/json");
        resp.getOutputStream().write(bytes);
    }
}
