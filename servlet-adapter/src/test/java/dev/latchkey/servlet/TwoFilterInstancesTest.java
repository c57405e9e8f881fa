package dev.latchkey.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.internal.LogCapture;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.http.HttpServlet;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import jakarta.servlet.http.HttpSession;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two LatchkeyFilter instances on one directory in one chain (say one from web.xml and one from a
 * ServletContainerInitializer), with a filter between them that reads the session.
 */
final class TwoFilterInstancesTest {
    @TempDir
    Path tmp;

    @Test
    void twoFilterInstancesSameDirectory_exclusive_innerReusesOuterSessionAndWarnsOnce()
            throws Exception {
        Path dir = tmp.resolve("sessions");
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setPort(0);
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        EnumSet<DispatcherType> types = EnumSet.of(DispatcherType.REQUEST);
        context.addFilter(new FilterHolder(LatchkeyFilter.builder(dir)
                .concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofSeconds(2)).build()),
                "/*", types);
        Filter auth = (req, resp, chain) -> {
            HttpSession s = ((HttpServletRequest) req).getSession(false); // reads the user
            req.setAttribute("outerSession", s);
            chain.doFilter(req, resp);
        };
        context.addFilter(new FilterHolder(auth), "/*", types);
        context.addFilter(new FilterHolder(LatchkeyFilter.builder(dir)
                .concurrency(Concurrency.EXCLUSIVE).lockTimeout(Duration.ofSeconds(2)).build()),
                "/*", types);
        context.addServlet(new ServletHolder(new HttpServlet() {
            @Override
            protected void doGet(HttpServletRequest req, HttpServletResponse resp)
                    throws IOException {
                HttpSession s = req.getSession();
                s.setAttribute("n", String.valueOf(s.getAttribute("n")) + "+");
                resp.getWriter().println("id=" + s.getId() + " same="
                        + (s == req.getAttribute("outerSession")));
            }
        }), "/*");
        server.setHandler(context);
        server.start();
        try (LogCapture log = new LogCapture()) {
            HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
                    .build();
            URI u = URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/x");
            HttpResponse<String> first = client.send(HttpRequest.newBuilder(u)
                    .timeout(Duration.ofSeconds(20)).build(), HttpResponse.BodyHandlers.ofString());
            assertEquals(200, first.statusCode(), first.body());
            List<String> cookies = first.headers().allValues("set-cookie");
            assertEquals(1, cookies.size(), "one session, one cookie: " + cookies);
            String cookie = cookies.get(0).substring(0, cookies.get(0).indexOf(';'));
            HttpResponse<String> second = client.send(HttpRequest.newBuilder(u)
                    .timeout(Duration.ofSeconds(20)).header("Cookie", cookie).build(),
                    HttpResponse.BodyHandlers.ofString());
            assertEquals(200, second.statusCode(), "the inner filter did not wait for the outer"
                    + " one's lock: " + second.body());
            String id = cookie.substring(cookie.indexOf('=') + 1);
            assertEquals("id=" + id + " same=true", second.body().strip());
            List<String> warned = log.warnings("two LatchkeyFilter instances");
            assertEquals(1, warned.size(), "warned once: " + log.warnings(""));
            assertTrue(warned.get(0).contains(dir.toString()), warned.get(0));
        } finally {
            server.stop();
        }
    }
}
