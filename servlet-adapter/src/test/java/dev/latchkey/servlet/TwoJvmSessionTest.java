package dev.latchkey.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two JVMs, one directory: Tomcat in this JVM and Jetty in a child JVM serve the same app over the
 * same session directory; one client (one cookie jar) talks to both.
 */
final class TwoJvmSessionTest {

    @TempDir
    Path tmp;

    private Process child;
    private TomcatContainer tomcat;
    private SessionStore probe;
    private HttpClient client;

    @AfterEach
    void stop() throws Exception {
        if (child != null) {
            child.getOutputStream().close();
            if (!child.waitFor(10, TimeUnit.SECONDS)) {
                child.destroyForcibly();
            }
        }
        if (tomcat != null) {
            tomcat.close();
        }
        if (probe != null) {
            probe.close();
        }
    }

    /** Starts both servers; returns {local, child} base URIs. */
    private URI[] start(Concurrency mode) throws Exception {
        Path dir = tmp.resolve("sessions");
        child = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "-cp", System.getProperty("java.class.path"),
                "-Djava.io.tmpdir=" + tmp, ChildContainerMain.class.getName(), dir.toString(),
                mode.name(), tmp.resolve("child").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        probe = SessionStore.open(StoreConfig.builder(dir).build());
        tomcat = new TomcatContainer();
        URI local = tomcat.start(tmp.resolve("parent"),
                LatchkeyFilter.builder(dir).concurrency(mode).build(), Map.of(),
                new AppServlet(probe));
        BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                StandardCharsets.UTF_8));
        String line = out.readLine();
        assertTrue(line != null && line.startsWith("READY "), "child said: " + line);
        URI remote = URI.create(line.substring("READY ".length()));
        client = HttpClient.newBuilder()
                .cookieHandler(new CookieManager(null, CookiePolicy.ACCEPT_ALL))
                .connectTimeout(Duration.ofSeconds(5)).build();
        return new URI[] {local, remote};
    }

    private String get(URI base, String path) throws Exception {
        HttpResponse<String> r = client.send(HttpRequest.newBuilder(base.resolve(path))
                .timeout(Duration.ofSeconds(30)).build(), HttpResponse.BodyHandlers.ofString());
        assertEquals(200, r.statusCode(), () -> base + path + ": " + r.body());
        return r.body().strip();
    }

    private List<CompletableFuture<HttpResponse<String>>> fire(URI[] servers, int perServer,
            String pathFormat) {
        List<CompletableFuture<HttpResponse<String>>> all = new ArrayList<>();
        for (int i = 0; i < perServer; i++) {
            for (int s = 0; s < servers.length; s++) {
                all.add(client.sendAsync(HttpRequest.newBuilder(servers[s].resolve(
                        String.format(pathFormat, s, i))).timeout(Duration.ofSeconds(60)).build(),
                        HttpResponse.BodyHandlers.ofString()));
            }
        }
        return all;
    }

    private static void awaitOk(List<CompletableFuture<HttpResponse<String>>> all)
            throws Exception {
        for (CompletableFuture<HttpResponse<String>> f : all) {
            HttpResponse<String> r = f.get(60, TimeUnit.SECONDS);
            assertEquals(200, r.statusCode(), r.body());
        }
    }

    @Test
    void merge_alternatingAndConcurrentRequestsOnBothJvms_shareOneSessionAndKeepAllChanges()
            throws Exception {
        URI[] s = start(Concurrency.MERGE);
        get(s[0], "set?n=a&v=1");
        String id = get(s[0], "info").lines().filter(l -> l.startsWith("id=")).findFirst()
                .orElseThrow();
        assertTrue(get(s[1], "info").contains(id), "the child sees the same session");
        assertEquals("value=1", get(s[1], "get?n=a"));
        get(s[1], "set?n=b&v=2");
        assertEquals("value=2", get(s[0], "get?n=b"));

        awaitOk(fire(s, 15, "set?n=k%d_%d&v=x"));
        String session = id.substring(3);
        for (int srv = 0; srv < 2; srv++) {
            for (int i = 0; i < 15; i++) {
                assertEquals("x", probe.find(session).orElseThrow().attribute("k" + srv + "_" + i),
                        "k" + srv + "_" + i);
            }
        }
        assertEquals(32, probe.find(session).orElseThrow().attributeNames().size());
    }

    @Test
    void exclusive_concurrentReadModifyWriteOnBothJvms_loseNoIncrement() throws Exception {
        URI[] s = start(Concurrency.EXCLUSIVE);
        get(s[0], "set?n=c&v=0&int=1");
        awaitOk(fire(s, 15, "incr?n=c&s=%d&i=%d"));
        assertEquals("value=30", get(s[1], "get?n=c"));
        assertEquals("value=30", get(s[0], "get?n=c"));
    }
}
