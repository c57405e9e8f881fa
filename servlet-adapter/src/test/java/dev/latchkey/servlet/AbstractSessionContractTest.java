package dev.latchkey.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.internal.LogCapture;
import jakarta.servlet.http.HttpSessionAttributeListener;
import jakarta.servlet.http.HttpSessionBindingEvent;
import jakarta.servlet.http.HttpSessionEvent;
import jakarta.servlet.http.HttpSessionIdListener;
import jakarta.servlet.http.HttpSessionListener;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HttpSession contract over real HTTP, run against each embedded container by a subclass.
 * Each test starts its own container on port 0 with its own session directory and fake clock.
 */
abstract class AbstractSessionContractTest {
    private static final Instant T0 = Instant.parse("2026-01-01T00:00:00Z");

    @TempDir
    Path tmp;

    private final MutableClock clock = new MutableClock(T0);
    private Container container;
    private SessionStore probe;
    AppServlet app;
    private URI base;
    private HttpClient client;
    private CookieManager cookies;

    /** The container under test. */
    abstract Container newContainer();

    @AfterEach
    void stop() throws Exception {
        if (container != null) {
            container.close();
        }
        if (probe != null) {
            probe.close();
        }
    }

    private Path dir() {
        return tmp.resolve("sessions");
    }

    void start(UnaryOperator<LatchkeyFilter.Builder> config) throws Exception {
        startWith(config.apply(LatchkeyFilter.builder(dir()).clock(clock)).build(), Map.of());
    }

    private void startWith(LatchkeyFilter filter, Map<String, String> initParams)
            throws Exception {
        probe = SessionStore.open(StoreConfig.builder(dir()).clock(clock)
                .allowTypes(Tracked.class).build());
        app = new AppServlet(probe);
        container = newContainer();
        base = container.start(tmp, filter, initParams, app);
        cookies = new CookieManager(null, CookiePolicy.ACCEPT_ALL);
        client = HttpClient.newBuilder().cookieHandler(cookies)
                .followRedirects(HttpClient.Redirect.NORMAL)
                .connectTimeout(Duration.ofSeconds(5)).build();
    }

    HttpResponse<String> send(String path, String... headers) throws Exception {
        return client.send(request(path, headers), HttpResponse.BodyHandlers.ofString());
    }

    CompletableFuture<HttpResponse<String>> sendAsync(String path, String... headers) {
        return client.sendAsync(request(path, headers), HttpResponse.BodyHandlers.ofString());
    }

    private HttpRequest request(String path, String... headers) {
        HttpRequest.Builder b = HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(20));
        if (headers.length > 0) {
            b.headers(headers);
        }
        return b.build();
    }

    Map<String, String> get(String path, String... headers) throws Exception {
        HttpResponse<String> r = send(path, headers);
        assertEquals(200, r.statusCode(), () -> path + " answered " + r.statusCode() + ": "
                + r.body());
        return parse(r.body());
    }

    static Map<String, String> parse(String body) {
        Map<String, String> m = new HashMap<>();
        for (String line : body.split("\r?\n")) {
            int eq = line.indexOf('=');
            if (eq > 0) {
                m.put(line.substring(0, eq), line.substring(eq + 1));
            }
        }
        return m;
    }

    /**
     * Sends a "/wait" (or "/login") request and returns once the app holds it: it has its
     * session (and, in exclusive mode, the session's lock) until {@link #releaseHeld}.
     */
    CompletableFuture<HttpResponse<String>> holdInApp(String path) throws InterruptedException {
        app.entered = new CountDownLatch(1);
        app.release = new CountDownLatch(1);
        CompletableFuture<HttpResponse<String>> held = sendAsync(path);
        assertTrue(app.entered.await(10, TimeUnit.SECONDS), path + " never reached the app");
        return held;
    }

    /** Lets the request held by {@link #holdInApp} go on, and checks it was served. */
    void releaseHeld(CompletableFuture<HttpResponse<String>> held) throws Exception {
        app.release.countDown();
        assertEquals(200, held.get(10, TimeUnit.SECONDS).statusCode());
    }

    /** The app records some events after the response may have reached the client. */
    void awaitEvents(int count) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (app.events.size() < count && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    private static List<String> setCookies(HttpResponse<?> r) {
        return r.headers().allValues("set-cookie");
    }

    // ---- creation and cookie ----

    @Test
    void getSession_createsSessionWithHttpOnlyLaxCookie() throws Exception {
        start(b -> b);
        HttpResponse<String> r = send("info");
        Map<String, String> info = parse(r.body());
        String id = info.get("id");
        assertEquals(43, id.length(), id);
        assertEquals("true", info.get("new"));
        assertEquals(String.valueOf(T0.toEpochMilli()), info.get("created"));
        assertEquals("1800", info.get("interval"));
        assertEquals("true", info.get("context"));
        assertEquals("null", info.get("requested"));
        assertEquals(List.of("LATCHKEY=" + id + "; Path=/app; HttpOnly; SameSite=Lax"),
                setCookies(r));
        assertTrue(probe.find(id).isPresent(), "the session is in the directory");
    }

    @Test
    void getSessionFalse_withoutCookie_returnsNullAndSetsNoCookie() throws Exception {
        start(b -> b);
        HttpResponse<String> r = send("info?create=false");
        assertEquals("none", parse(r.body()).get("session"));
        assertEquals(List.of(), setCookies(r));
    }

    @Test
    void cookie_configuredAttributes_areSent() throws Exception {
        start(b -> b.cookieName("SID").cookiePath("/").cookieDomain("example.test")
                .cookieSecure(true).cookieSameSite("strict"));
        HttpResponse<String> r = send("info");
        String id = parse(r.body()).get("id");
        assertEquals(List.of("SID=" + id + "; Path=/; Domain=example.test; Secure; HttpOnly;"
                + " SameSite=Strict"), setCookies(r));
    }

    @Test
    void initParams_configureDeclaredFilter() throws Exception {
        startWith(null, Map.of("latchkey.directory", dir().toString(),
                "latchkey.cookieName", "WEBXML", "latchkey.maxInactiveInterval", "120",
                "latchkey.cookieSameSite", "None", "latchkey.cookieSecure", "true"));
        HttpResponse<String> r = send("info");
        Map<String, String> info = parse(r.body());
        assertEquals("120", info.get("interval"));
        assertEquals(List.of("WEBXML=" + info.get("id") + "; Path=/app; Secure; HttpOnly;"
                + " SameSite=None"), setCookies(r));
    }

    @Test
    void sameSiteNone_withAutoSecureOnPlainHttp_warnsOnceWhenSuchCookieIsSent() throws Exception {
        try (LogCapture log = new LogCapture()) {
            start(b -> b.cookieSameSite("None").cookieSecure(CookieSecure.AUTO)); // as default
            assertEquals(1, log.warnings("SameSite=None", "cookieSecure").size(), "at init");
            for (int i = 0; i < 3; i++) {
                cookies.getCookieStore().removeAll();
                HttpResponse<String> r = send("info");
                assertTrue(setCookies(r).get(0).endsWith("; HttpOnly; SameSite=None"),
                        setCookies(r).toString());
            }
            assertEquals(1, log.warnings("SameSite=None", "non-secure request").size(),
                    "once, not per request");
        }
    }

    // ---- attributes ----

    @Test
    void attributes_roundTripAcrossRequests() throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        get("set?n=name&v=alice");
        get("set?n=count&v=7&int=1");
        Map<String, String> info = get("info");
        assertEquals(id, info.get("id"));
        assertEquals("false", info.get("new"));
        assertEquals(id, info.get("requested"));
        assertEquals("true", info.get("requestedValid"));
        assertEquals("true", info.get("fromCookie"));
        assertEquals("false", info.get("fromUrl"));
        assertEquals("alice", get("get?n=name").get("value"));
        assertEquals(7, probe.find(id).orElseThrow().attribute("count"));
        get("remove?n=name");
        assertEquals("null", get("get?n=name").get("value"));
        assertEquals("[count]", get("names").get("names"));
    }

    @Test
    void setAttribute_unstorableValue_throwsIllegalArgumentNamingAttribute() throws Exception {
        start(b -> b);
        Map<String, String> r = get("bad");
        assertTrue(r.get("iae").contains("'bad'"), r.get("iae"));
        assertTrue(r.get("iae").contains("java.lang.StringBuilder"), r.get("iae"));
        assertTrue(r.get("iae").contains("latchkey.allowedTypes")
                && r.get("iae").contains("LatchkeyFilter.Builder.allowTypes"),
                "says what a servlet app sets: " + r.get("iae"));
        assertEquals("null", r.get("value"));
    }

    @Test
    void undecodableStoredValue_isAbsentEverywhereWarnsOncePerRequestAndStaysStored()
            throws Exception {
        start(b -> b.saveMode(SaveMode.ALWAYS)); // Tracked is allowed in the probe, not here
        String id = get("info").get("id");
        get("set?n=x&v=1");
        probe.commit(id, probe.change().set("t", new Tracked("v")).build());
        try (LogCapture log = new LogCapture()) {
            Map<String, String> r = get("namesget?n=t");
            assertEquals("[x]", r.get("names"));
            assertEquals("null,null", r.get("value"));
            assertEquals(1, log.warnings("'t'").size(), "one WARN for the request");
            get("names");
            assertEquals(2, log.warnings("'t'").size(), "and one for the next");
        }
        get("set?n=x&v=2");
        assertEquals(new Tracked("v"), probe.find(id).orElseThrow().attribute("t"),
                "the stored value is untouched, even in save mode ALWAYS");
        get("remove?n=t");
        assertEquals(java.util.Set.of("x"), probe.find(id).orElseThrow().attributeNames(),
                "an explicit removeAttribute removes it");
    }

    @Test
    void lastAccessedTime_isThePreviousRequestsTime() throws Exception {
        start(b -> b);
        get("info");
        clock.advance(Duration.ofSeconds(10));
        assertEquals(String.valueOf(T0.toEpochMilli()), get("info").get("accessed"));
        clock.advance(Duration.ofSeconds(10));
        assertEquals(String.valueOf(T0.plusSeconds(10).toEpochMilli()),
                get("info").get("accessed"));
    }

    // ---- expiry and bad ids ----

    @Test
    void expiry_afterMaxInactiveInterval_yieldsNewSession() throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        get("interval?v=60");
        get("set?n=x&v=1");
        clock.advance(Duration.ofSeconds(59));
        assertEquals("1", get("get?n=x").get("value"), "touched at t+59");
        clock.advance(Duration.ofSeconds(61));
        assertEquals("none", get("get?n=x").get("session"));
        Map<String, String> info = get("info");
        assertNotEquals(id, info.get("id"));
        assertEquals("true", info.get("new"));
        assertEquals(id, info.get("requested"));
        assertEquals("false", info.get("requestedValid"));
    }

    /**
     * The filter's sweep removes an expired session's file although no request comes for it,
     * fires no listener for it, and stopping the container ends the sweep thread.
     */
    @Test
    void sweep_removesExpiredSessionFileWithoutARequest_andStopEndsTheThread() throws Exception {
        java.util.Set<Thread> before = LatchkeyFilterInitTest.sweepThreadsNow();
        Queue<String> events = new ConcurrentLinkedQueue<>();
        HttpSessionListener recorder = new HttpSessionListener() {
            @Override
            public void sessionCreated(HttpSessionEvent e) {
                events.add("created");
            }

            @Override
            public void sessionDestroyed(HttpSessionEvent e) {
                events.add("destroyed");
            }
        };
        start(b -> b.sweepInterval(Duration.ofMillis(20)).listener(recorder));
        assertEquals(1, LatchkeyFilterInitTest.sweepThreads(before).size(), "one sweep thread");
        String live = get("info").get("id");
        cookies.getCookieStore().removeAll();
        String id = get("info").get("id");
        get("interval?v=60");
        Path file = sessionFile(id);
        assertTrue(java.nio.file.Files.exists(file));

        clock.advance(Duration.ofSeconds(62)); // expired, and its granule (1 s) has passed
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (java.nio.file.Files.exists(file) && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        assertFalse(java.nio.file.Files.exists(file), "swept without any request");
        assertTrue(java.nio.file.Files.exists(sessionFile(live)), "the live session stays");
        assertTrue(probe.find(live).isPresent());
        assertEquals(List.of("created", "created"), List.copyOf(events),
                "a swept session fires no sessionDestroyed");

        container.close();
        container = null;
        assertEquals(List.of(), LatchkeyFilterInitTest.sweepThreads(before),
                "destroy() ended the sweep thread");
    }

    private Path sessionFile(String id) {
        return dir().resolve("sessions").resolve(id.substring(0, 2)).resolve(id);
    }

    @Test
    void maxInactiveInterval_zero_neverExpires() throws Exception {
        start(b -> b.maxInactiveInterval(Duration.ofSeconds(5)));
        get("interval?v=0");
        get("set?n=x&v=1");
        clock.advance(Duration.ofDays(400));
        assertEquals("1", get("get?n=x").get("value"));
    }

    @Test
    void unknownOrMalformedRequestedId_yieldsNewSessionNeverAnError() throws Exception {
        start(b -> b);
        String other = get("info").get("id");
        for (String bad : List.of("garbage", "A".repeat(43), "../../etc/passwd",
                other.substring(0, 42) + (other.charAt(42) == 'A' ? 'B' : 'A'), "%00%2F")) {
            cookies.getCookieStore().removeAll();
            HttpResponse<String> r = send("info", "Cookie", "LATCHKEY=" + bad);
            assertEquals(200, r.statusCode(), bad);
            Map<String, String> info = parse(r.body());
            assertEquals("true", info.get("new"), bad);
            assertNotEquals(other, info.get("id"), bad);
            assertEquals("false", info.get("requestedValid"), bad);
        }
    }

    // ---- invalidate and change id ----

    @Test
    void invalidate_removesSessionExpiresCookieAndLaterCallsThrow() throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        get("set?n=x&v=1");
        HttpResponse<String> r = send("invalidate");
        Map<String, String> out = parse(r.body());
        assertEquals("ISE", out.get("after"));
        assertEquals("null", out.get("next"));
        assertEquals("<no session>", out.get("stored"));
        assertTrue(probe.find(id).isEmpty());
        assertTrue(setCookies(r).stream().anyMatch(c -> c.startsWith("LATCHKEY=;")
                && c.contains("Max-Age=0")), setCookies(r).toString());
        assertEquals("none", get("get?n=x").get("session"));
    }

    @Test
    void invalidate_calledAgainFromSessionDestroyed_doesNotRecurse() throws Exception {
        Queue<String> events = new ConcurrentLinkedQueue<>();
        start(b -> b.allowTypes(Tracked.class).listener(new HttpSessionListener() {
            @Override
            public void sessionDestroyed(HttpSessionEvent e) {
                events.add("destroyed");
                e.getSession().invalidate(); // a logout helper reused by the listener: a no-op
                events.add("still valid=" + (e.getSession().getAttribute("t") != null));
            }
        }));
        String id = get("info").get("id");
        Tracked.EVENTS.clear();
        get("bind?n=t&v=invalidate-again"); // its valueUnbound calls invalidate() too
        HttpResponse<String> r = send("invalidate");
        assertEquals(200, r.statusCode(), () -> r.statusCode() + ": "
                + r.body().substring(0, Math.min(300, r.body().length())));
        assertEquals("ISE", parse(r.body()).get("after"));
        assertTrue(probe.find(id).isEmpty(), "session removed");
        assertEquals(List.of("destroyed", "still valid=true"), List.copyOf(events));
        assertEquals(List.of("bound:t:invalidate-again", "unbound:t:invalidate-again"),
                List.copyOf(Tracked.EVENTS));
        List<String> sent = setCookies(r);
        assertEquals(1, sent.size(), "one expiring cookie: " + sent);
        assertTrue(sent.get(0).startsWith("LATCHKEY=;") && sent.get(0).contains("Max-Age=0"),
                sent.toString());
    }

    @Test
    void invalidate_concurrentRequestThatLoadedSessionEarlier_doesNotResurrectIt()
            throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        try (LogCapture log = new LogCapture()) {
            CompletableFuture<HttpResponse<String>> loaded = holdInApp("wait?n=late&v=1");
            assertEquals("ISE", get("invalidate").get("after"));
            releaseHeld(loaded);
            assertTrue(probe.find(id).isEmpty(), "the late commit did not bring it back");
            assertEquals(1, log.warnings(id.substring(0, 6), "[late]").size(),
                    "the dropped change is reported, naming the attribute");
        }
    }

    @Test
    void changeSessionId_concurrentRequestCommittingLater_dropsItsChangesAndWarns()
            throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        get("set?n=kept&v=1");
        try (LogCapture log = new LogCapture()) {
            CompletableFuture<HttpResponse<String>> late = holdInApp("wait?n=late&v=secretvalue");
            String moved = get("changeid").get("new");
            releaseHeld(late);
            // as documented: no forwarding from the old id to the new one, no resurrection
            assertTrue(probe.find(id).isEmpty(), "the old id stays dead");
            assertEquals(java.util.Set.of("kept"),
                    probe.find(moved).orElseThrow().attributeNames(), "the late change is lost");
            List<String> warned = log.warnings("[late]");
            assertEquals(1, warned.size(), warned.toString());
            String w = warned.get(0);
            assertTrue(w.contains(id.substring(0, 6)), w);
            assertFalse(w.contains(id.substring(0, 7)), "only 6 characters of the id: " + w);
            assertFalse(w.contains("secretvalue"), "no values: " + w);
        }
        assertEquals("null", get("get?n=late").get("value"));
        assertEquals("1", get("get?n=kept").get("value"));
    }

    @Test
    void invalidate_thenGetSession_createsFreshSessionInSameRequest() throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        Map<String, String> out = get("invalidate?recreate=1");
        String fresh = out.get("newId");
        assertNotEquals(id, fresh);
        assertTrue(probe.find(fresh).isPresent());
        assertEquals(fresh, get("info").get("id"), "the last Set-Cookie wins");
    }

    @Test
    void changeSessionId_calledAgainFromSessionIdChanged_throwsInsteadOfRecursing()
            throws Exception {
        Queue<String> events = new ConcurrentLinkedQueue<>();
        start(b -> b.listener(new HttpSessionIdListener() {
            @Override
            public void sessionIdChanged(HttpSessionEvent e, String oldId) {
                events.add("changed");
                try { // e.g. a "rotate the id on privilege change" helper reused by an audit hook
                    app.serving.changeSessionId();
                    events.add("changed again");
                } catch (IllegalStateException nested) {
                    events.add("ISE: " + nested.getMessage());
                }
            }
        }));
        String id = get("info").get("id");
        get("set?n=x&v=kept");
        HttpResponse<String> r = send("changeid");
        assertEquals(200, r.statusCode(), () -> r.statusCode() + ": "
                + r.body().substring(0, Math.min(300, r.body().length())));
        String moved = parse(r.body()).get("new");
        assertNotEquals(id, moved);
        assertEquals(moved, parse(r.body()).get("sessionId"));
        List<String> seen = List.copyOf(events);
        assertEquals(2, seen.size(), seen.toString());
        assertEquals("changed", seen.get(0));
        assertTrue(seen.get(1).startsWith("ISE: changeSessionId: called from a sessionIdChanged")
                && seen.get(1).contains("e.getSession().getId()"), seen.get(1));
        assertEquals(List.of("LATCHKEY=" + moved + "; Path=/app; HttpOnly; SameSite=Lax"),
                setCookies(r), "one id change, one cookie");
        assertTrue(probe.find(id).isEmpty(), "the old id is dead");
        assertEquals("kept", probe.find(moved).orElseThrow().attribute("x"));
        assertEquals(moved, get("info").get("id"));
    }

    @Test
    void changeSessionId_movesSessionAndReissuesCookie() throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        get("set?n=x&v=kept");
        HttpResponse<String> r = send("changeid");
        Map<String, String> out = parse(r.body());
        assertEquals(id, out.get("old"));
        String moved = out.get("new");
        assertNotEquals(id, moved);
        assertEquals(moved, out.get("sessionId"));
        assertTrue(probe.find(id).isEmpty(), "old id is dead");
        assertTrue(setCookies(r).stream().anyMatch(c -> c.startsWith("LATCHKEY=" + moved + ";")));
        assertEquals(moved, get("info").get("id"));
        assertEquals("kept", get("get?n=x").get("value"));
    }

    // ---- commit points ----

    @Test
    void sendRedirect_commitsBeforeTheRedirectLeaves() throws Exception {
        start(b -> b);
        get("info");
        HttpResponse<String> r = send("redirect?n=r&v=there");
        assertEquals("value=there", r.body().strip());
        awaitEvents(1);
        assertEquals(List.of("atRedirect=there"), List.copyOf(app.events));
    }

    @Test
    void sendError_flushAndContentLength_commitFirst() throws Exception {
        start(b -> b);
        get("info");
        assertEquals(409, send("senderror?n=e&v=1").statusCode());
        get("flush?n=f&v=2");
        get("length?n=l&v=3");
        awaitEvents(3);
        assertEquals(List.of("atError=1", "atFlush=2", "atLength=3"), List.copyOf(app.events));
        assertEquals("22", get("get?n=f2").get("value"), "changed after the flush: committed too");
    }

    @Test
    void contentLength_declaredThroughIntOrStringHeader_commitsFirst() throws Exception {
        start(b -> b);
        get("info");
        for (String how : List.of("setInt", "addInt", "setInt0", "set0")) {
            app.events.clear();
            HttpResponse<String> r = send("lengthvia?n=" + how + "&v=yes&how=" + how);
            assertEquals(200, r.statusCode(), how);
            awaitEvents(1);
            assertEquals(List.of(how + "=yes"), List.copyOf(app.events),
                    "committed before the response could complete");
        }
    }

    @Test
    void include_commitsBeforeIncludedResourceRuns() throws Exception {
        start(b -> b);
        get("info");
        assertEquals("inc", get("include?n=i&v=inc").get("stored"));
    }

    @Test
    void async_commitsAtCompletion() throws Exception {
        start(b -> b);
        get("info");
        HttpResponse<String> r = send("async?n=a&v=late");
        assertEquals("async=done", r.body().strip());
        awaitEvents(1);
        assertEquals(List.of("atComplete=late"), List.copyOf(app.events),
                "committed by the time complete() returned");
        assertEquals("late", get("get?n=a").get("value"));
    }

    @Test
    void merge_asyncDispatch_changeIsCommittedBeforeClientHasResponse() throws Exception {
        start(b -> b);
        String id = get("info").get("id");
        for (int i = 0; i < 5; i++) {
            HttpResponse<String> r = send("asyncdispatch?n=b&v=" + i);
            assertEquals(200, r.statusCode(), r.body());
            assertEquals(String.valueOf(i), probe.find(id).orElseThrow().attribute("b"),
                    "committed before the response reached the client (round " + i + ")");
        }
    }

    @Test
    void exclusive_asyncDispatch_changeIsCommittedAndLockReleasedBeforeClientHasResponse()
            throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofSeconds(5)));
        String id = get("info").get("id");
        HttpResponse<String> r = send("asyncdispatch?n=b&v=x");
        assertEquals(200, r.statusCode(), r.body());
        assertEquals("x", probe.find(id).orElseThrow().attribute("b"));
        try (dev.latchkey.SessionLock held = probe.lock(id, Duration.ofMillis(200))) {
            assertEquals(id, held.id(), "the lock was released at the end of the dispatch");
        }
    }

    // ---- concurrency and save modes ----

    @Test
    void merge_concurrentRequestsSettingDifferentAttributes_allKept() throws Exception {
        start(b -> b);
        get("info");
        app.entered = new CountDownLatch(2);
        app.release = new CountDownLatch(1);
        CompletableFuture<HttpResponse<String>> a = sendAsync("wait?n=a&v=1");
        CompletableFuture<HttpResponse<String>> b = sendAsync("wait?n=b&v=2");
        assertTrue(app.entered.await(10, TimeUnit.SECONDS), "both requests run at once");
        app.release.countDown();
        assertEquals(200, a.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals(200, b.get(10, TimeUnit.SECONDS).statusCode());
        assertEquals("1", get("get?n=a").get("value"));
        assertEquals("2", get("get?n=b").get("value"));
    }

    @Test
    void exclusive_secondRequestOfSessionWaitsThenTimesOutWithConfiguredStatus()
            throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofMillis(300))
                .lockTimeoutStatus(429));
        get("info");
        CompletableFuture<HttpResponse<String>> first = holdInApp("wait?n=a&v=1");
        HttpResponse<String> second = send("set?n=b&v=2");
        assertEquals(429, second.statusCode());
        releaseHeld(first);
        assertEquals("1", get("get?n=a").get("value"));
        assertEquals("null", get("get?n=b").get("value"), "the refused request did not run");
    }

    @Test
    void exclusive_defaultStatusIs503AndTheWarningNamesTheServletSetting() throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofMillis(200)));
        get("info");
        CompletableFuture<HttpResponse<String>> first = holdInApp("wait?n=a&v=1");
        try (LogCapture log = new LogCapture()) {
            assertEquals(503, send("get?n=a").statusCode());
            List<String> warned = log.warnings("503");
            assertEquals(1, warned.size(), warned.toString());
            assertTrue(warned.get(0).contains("latchkey.lockTimeout")
                    && warned.get(0).contains("Builder.lockTimeout"), warned.get(0));
            assertFalse(warned.get(0).contains("StoreConfig"), warned.get(0));
        }
        releaseHeld(first);
        assertEquals("1", get("get?n=a").get("value"));
    }

    @Test
    void exclusive_lockTimeout_errorPageHasNoSessionAndLeavesCookieAndLocksAlone()
            throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofMillis(300)));
        String id = get("info").get("id");
        CompletableFuture<HttpResponse<String>> first = holdInApp("wait?n=a&v=1");
        HttpResponse<String> refused = send("get?n=a");
        releaseHeld(first);
        assertRefusedWithoutSession(refused, id, 503);
        assertEquals(id, get("info").get("id"));
        assertEquals("1", get("get?n=a").get("value"));
    }

    @Test
    void exclusive_lockTimeoutOnAsyncThread_isAnsweredWithLockTimeoutStatus() throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofMillis(300)));
        String id = get("info").get("id");
        CompletableFuture<HttpResponse<String>> first = holdInApp("wait?n=a&v=1");
        HttpResponse<String> refused;
        try (LogCapture log = new LogCapture()) {
            refused = send("asyncsession");
            assertEquals(1, log.warnings("latchkey.lockTimeout").size(),
                    log.warnings("").toString());
        }
        releaseHeld(first);
        assertEquals(503, refused.statusCode(), refused.body());
        assertEquals(List.of(), setCookies(refused), "the client's cookie is left alone");
        try (dev.latchkey.SessionLock held = probe.lock(id, Duration.ofSeconds(5))) {
            assertEquals(id, held.id());
        }
        assertEquals("1", get("get?n=a").get("value"));
    }

    @Test
    void exclusive_changeIdWhileSecondRequestWaits_secondGetsNoSessionAndLeavesNewCookieAlone()
            throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofSeconds(10)));
        String id = get("info").get("id");
        CompletableFuture<HttpResponse<String>> login = holdInApp("login?v=alice");
        app.asking = null;
        // sent with the old cookie, like an XHR fired before the login's answer arrived
        CompletableFuture<HttpResponse<String>> xhr = sendAsync("asksession",
                "Cookie", "LATCHKEY=" + id);
        awaitWaitingForLock();
        app.release.countDown();
        HttpResponse<String> in = login.get(10, TimeUnit.SECONDS);
        HttpResponse<String> late = xhr.get(10, TimeUnit.SECONDS);
        String moved = parse(in.body()).get("id");
        assertTrue(probe.find(moved).isPresent(), in.body());
        assertEquals(503, late.statusCode(), late.body());
        assertEquals("none", parse(late.body()).get("session"), late.body());
        assertEquals(List.of(), setCookies(late), "no fresh session over the login's cookie");
        assertEquals(1, sessionFiles(), "no session created");
        Map<String, String> after = get("asksession"); // the client now has the login's cookie
        assertEquals(moved, after.get("id"));
        assertEquals("alice", after.get("user"));
    }

    /**
     * A request thread interrupted while it waits for its session's lock (a container stopping,
     * a cancelled task) fails like a lock timeout, with 503: no session for it, none created over
     * the client's cookie, no lock left behind; the filter ends the request and so consumes the
     * interrupt, and the container delivers the answer.
     */
    @Test
    void exclusive_interruptedWhileWaitingForTheLock_is503WithoutSessionOrLeftLock()
            throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofSeconds(30))
                .lockTimeoutStatus(429)); // not the lock timeout's status: nothing timed out
        String id = get("info").get("id");
        CompletableFuture<HttpResponse<String>> first = holdInApp("wait?n=a&v=1");
        app.asking = null;
        HttpResponse<String> interrupted;
        try (LogCapture log = new LogCapture()) {
            CompletableFuture<HttpResponse<String>> waiting = sendAsync("asksession");
            try {
                awaitWaitingForLock();
                app.asking.interrupt();
                interrupted = waiting.get(20, TimeUnit.SECONDS);
            } finally {
                app.release.countDown();
            }
            assertEquals(1, log.warnings("interrupted", "answering 503").size(),
                    log.warnings("").toString());
        }
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
        assertRefusedWithoutSession(interrupted, id, 503);
        // answering ended the request the interrupt was meant to stop: a container cannot send
        // the answer from an interrupted thread (Tomcat drops the connection)
        assertEquals("false", parse(interrupted.body()).get("interrupted"),
                "the interrupt was consumed");
        assertEquals("1", get("get?n=a").get("value"));
        assertEquals(id, get("asksession").get("id"), "the next request has the session");
    }

    /** Merge mode: the end-of-request commit waits for the lock; an interrupt there is a 503. */
    @Test
    void merge_interruptedWhileTheCommitWaitsForTheLock_is503AndTheNextRequestIsServed()
            throws Exception {
        start(b -> b.lockTimeout(Duration.ofSeconds(30)));
        String id = get("info").get("id");
        app.asking = null;
        HttpResponse<String> interrupted;
        try (LogCapture log = new LogCapture()) {
            try (dev.latchkey.SessionLock held = probe.lock(id, Duration.ofSeconds(5))) {
                assertEquals(id, held.id());
                CompletableFuture<HttpResponse<String>> waiting = sendAsync("asksession");
                awaitWaitingForLock(); // its commit (the access-time touch) waits for the lock
                app.asking.interrupt();
                interrupted = waiting.get(20, TimeUnit.SECONDS);
            }
            assertEquals(1, log.warnings("interrupted", "at the commit", "answering 503").size(),
                    log.warnings("").toString());
        }
        assertEquals(503, interrupted.statusCode(), interrupted.body());
        Map<String, String> page = parse(interrupted.body());
        assertEquals("503", page.get("error"), "the error page ran: " + interrupted.body());
        assertEquals("false", page.get("interrupted"), "the interrupt was consumed");
        assertEquals(List.of(), setCookies(interrupted));
        assertEquals(String.valueOf(T0.toEpochMilli()),
                String.valueOf(probe.find(id).orElseThrow().lastAccessedTime().toEpochMilli()));
        assertEquals(id, get("asksession").get("id"), "the next request has the session");
    }

    @Test
    void exclusive_expiredCookie_stillYieldsFreshSession() throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE));
        String id = get("info").get("id");
        clock.advance(Duration.ofSeconds(1801));
        String fresh = get("info").get("id");
        assertNotEquals(id, fresh);
        assertTrue(probe.find(fresh).isPresent());
    }

    /**
     * What a request refused in exclusive mode leaves: the status, an error page that had no
     * session and could not create one, the client's cookie untouched, the session's lock free,
     * and no session but the client's.
     */
    private void assertRefusedWithoutSession(HttpResponse<String> refused, String id, int status)
            throws Exception {
        assertEquals(status, refused.statusCode(), refused.body());
        Map<String, String> page = parse(refused.body());
        assertEquals(String.valueOf(status), page.get("error"),
                "the error page ran: " + refused.body());
        assertEquals("none", page.get("session"));
        assertEquals("ISE", page.get("created"), "no session created over the client's cookie");
        assertEquals(List.of(), setCookies(refused), "the client's cookie is left alone");
        try (dev.latchkey.SessionLock held = probe.lock(id, Duration.ofSeconds(5))) {
            assertEquals(id, held.id(), "no dispatch of the refused request kept a lock");
        }
        assertEquals(1, sessionFiles(), "no new session");
    }

    /** How many session files the directory holds (not the expiry markers beside them). */
    private long sessionFiles() throws java.io.IOException {
        try (java.util.stream.Stream<Path> files = java.nio.file.Files.walk(dir()
                .resolve("sessions"))) {
            return files.filter(f -> f.getFileName().toString().length() == 43).count();
        }
    }

    /** Until the thread of the last "/asksession" request waits in the store for a lock. */
    private void awaitWaitingForLock() throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (System.nanoTime() < deadline) {
            Thread t = app.asking;
            if (t != null && t.getState() == Thread.State.TIMED_WAITING
                    && java.util.Arrays.stream(t.getStackTrace()).anyMatch(
                            f -> f.getClassName().equals("dev.latchkey.internal.LockTable"))) {
                return;
            }
            Thread.sleep(5);
        }
        throw new AssertionError("the second request never waited for the session's lock");
    }

    @Test
    void exclusive_requestThatNeverAsksForTheSession_doesNotWaitForItsLock() throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofMillis(300)));
        get("info");
        CompletableFuture<HttpResponse<String>> first = holdInApp("wait?n=a&v=1");
        try {
            assertEquals("1", get("plain").get("plain"), "served while the session is locked");
        } finally {
            app.release.countDown();
        }
        assertEquals(200, first.get(10, TimeUnit.SECONDS).statusCode());
    }

    @Test
    void errorPage_ofRequestThatCreatedSessionThenFailed_seesThatSessionAndItsChanges()
            throws Exception {
        start(b -> b.concurrency(Concurrency.EXCLUSIVE));
        for (String how : List.of("senderror", "throw")) {
            cookies.getCookieStore().removeAll();
            HttpResponse<String> r = send("fail?n=x&v=" + how + "&how=" + how);
            assertEquals(500, r.statusCode(), how);
            Map<String, String> page = parse(r.body());
            List<String> set = setCookies(r);
            assertEquals(1, set.size(), how + ": one cookie, not a second session: " + set);
            String id = set.get(0).substring("LATCHKEY=".length(), set.get(0).indexOf(';'));
            assertEquals(id, page.get("session"), how + ": " + r.body());
            assertEquals(id, page.get("created"), how);
            // documented: changes made before the app fails are committed
            assertEquals(how, probe.find(id).orElseThrow().attribute("x"), how);
            try (dev.latchkey.SessionLock held = probe.lock(id, Duration.ofSeconds(5))) {
                assertEquals(id, held.id(), how + ": the error page's lock was released");
            }
        }
    }

    @Test
    void saveMode_onSetAttribute_doesNotSaveInPlaceMutationOfReadValue() throws Exception {
        assertEquals("[a]", listAfterInPlaceAdd(SaveMode.ON_SET_ATTRIBUTE));
    }

    @Test
    void saveMode_onGetAttribute_savesInPlaceMutationOfReadValue() throws Exception {
        assertEquals("[a, b]", listAfterInPlaceAdd(SaveMode.ON_GET_ATTRIBUTE));
    }

    @Test
    void saveMode_always_savesInPlaceMutation() throws Exception {
        assertEquals("[a, b]", listAfterInPlaceAdd(SaveMode.ALWAYS));
    }

    /**
     * One request stores the list [a]; the next reads it and adds "b" in place, without calling
     * setAttribute again; returns the list a third request reads.
     */
    private String listAfterInPlaceAdd(SaveMode mode) throws Exception {
        start(b -> b.saveMode(mode));
        get("listsetup?n=l");
        get("mutate?n=l&v=b");
        return get("get?n=l").get("value");
    }

    @Test
    void unstorableValueFoundAtCommit_isSkippedWithWarnAndTheOtherChangesAreCommitted()
            throws Exception {
        start(b -> b.saveMode(SaveMode.ON_GET_ATTRIBUTE));
        get("listsetup?n=l");
        String id = cookies.getCookieStore().getCookies().get(0).getValue();
        try (LogCapture log = new LogCapture()) {
            HttpResponse<String> r = send("spoil?n=l&v=kept");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("ok", r.body().strip());
            assertEquals("kept", probe.find(id).orElseThrow().attribute("other"),
                    "the request's other changes are committed");
            assertEquals(List.of("a"), probe.find(id).orElseThrow().attribute("l"),
                    "the spoiled attribute keeps its stored value");
            assertFalse(probe.find(id).orElseThrow().attributeNames().contains("l2"));
            assertEquals(1, log.warnings("'l'", "not saved").size(), log.warnings("").toString());
            assertEquals(1, log.warnings("'l2'", "not saved").size());
        }
    }

    // ---- listeners ----

    @Test
    void listeners_getEventsOfThisProcess() throws Exception {
        Queue<String> events = new ConcurrentLinkedQueue<>();
        class Recorder implements HttpSessionListener, HttpSessionAttributeListener,
                HttpSessionIdListener {
            @Override
            public void sessionCreated(HttpSessionEvent e) {
                events.add("created");
            }

            @Override
            public void sessionDestroyed(HttpSessionEvent e) {
                events.add("destroyed");
            }

            @Override
            public void attributeAdded(HttpSessionBindingEvent e) {
                events.add("added:" + e.getName() + "=" + e.getValue());
            }

            @Override
            public void attributeReplaced(HttpSessionBindingEvent e) {
                events.add("replaced:" + e.getName() + "=" + e.getValue());
            }

            @Override
            public void attributeRemoved(HttpSessionBindingEvent e) {
                events.add("removed:" + e.getName() + "=" + e.getValue());
            }

            @Override
            public void sessionIdChanged(HttpSessionEvent e, String oldId) {
                events.add("idChanged:" + !oldId.equals(e.getSession().getId()));
            }
        }
        Tracked.EVENTS.clear();
        start(b -> b.listener(new Recorder()).allowTypes(Tracked.class));
        get("set?n=x&v=1");
        get("set?n=x&v=2");
        get("bind?n=t&v=one");
        get("bind?n=t&v=two");
        get("changeid");
        get("remove?n=x");
        get("invalidate");
        assertEquals(List.of("created", "added:x=1", "replaced:x=1", "added:t=Tracked[value=one]",
                "replaced:t=Tracked[value=one]", "idChanged:true", "removed:x=2", "destroyed",
                "removed:t=Tracked[value=two]"), List.copyOf(events));
        assertEquals(List.of("bound:t:one", "bound:t:two", "unbound:t:one", "unbound:t:two"),
                List.copyOf(Tracked.EVENTS));
    }

    @Test
    void listeners_thatThrow_areLoggedAndEveryOperationStillHappens() throws Exception {
        Queue<String> seen = new ConcurrentLinkedQueue<>();
        class Failing implements HttpSessionListener, HttpSessionAttributeListener,
                HttpSessionIdListener {
            @Override
            public void sessionCreated(HttpSessionEvent e) {
                throw new IllegalStateException("audit log down");
            }

            @Override
            public void sessionDestroyed(HttpSessionEvent e) {
                // "about to be invalidated": the attributes are still readable
                seen.add("destroyed:t=" + e.getSession().getAttribute("t"));
                throw new IllegalStateException("audit log down");
            }

            @Override
            public void attributeAdded(HttpSessionBindingEvent e) {
                throw new IllegalStateException("audit log down");
            }

            @Override
            public void attributeReplaced(HttpSessionBindingEvent e) {
                throw new IllegalStateException("audit log down");
            }

            @Override
            public void attributeRemoved(HttpSessionBindingEvent e) {
                throw new IllegalStateException("audit log down");
            }

            @Override
            public void sessionIdChanged(HttpSessionEvent e, String oldId) {
                throw new IllegalStateException("audit log down");
            }
        }
        start(b -> b.listener(new Failing()).allowTypes(Tracked.class));
        try (LogCapture log = new LogCapture()) {
            String id = get("info").get("id");
            assertTrue(probe.find(id).isPresent(), "created although sessionCreated threw");
            get("set?n=x&v=1");
            get("set?n=x&v=2");
            assertEquals("2", probe.find(id).orElseThrow().attribute("x"));
            get("bind?n=t&v=throw1");
            get("bind?n=t&v=throw2");
            assertEquals(new Tracked("throw2"), probe.find(id).orElseThrow().attribute("t"));
            String moved = get("changeid").get("new");
            assertTrue(probe.find(id).isEmpty() && probe.find(moved).isPresent(), "id changed");
            get("remove?n=x");
            assertEquals(java.util.Set.of("t"), probe.find(moved).orElseThrow().attributeNames());
            HttpResponse<String> r = send("invalidate");
            assertEquals(200, r.statusCode(), r.body());
            assertEquals("ISE", parse(r.body()).get("after"));
            assertTrue(probe.find(moved).isEmpty(), "logged out although the listeners threw");
            assertEquals("none", get("get?n=t").get("session"));
            assertEquals(List.of("destroyed:t=Tracked[value=throw2]"), List.copyOf(seen));
            // created, added, replaced; bound+added; bound+unbound+replaced; id changed; removed;
            // destroyed, then unbound+removed for t
            assertEquals(13, log.warnings("threw from").size(), log.warnings("threw").toString());
            assertEquals(4, log.warnings(Tracked.class.getName(), "threw from").size());
        }
    }
}
