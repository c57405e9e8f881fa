package dev.latchkey.examples;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import com.sun.net.httpserver.HttpServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short version of the README's demo, with real worker JVMs sharing one port and one session
 * directory: Latchkey loses and mixes up nothing, the naive store does lose updates (so the
 * verdict can fail), and no worker process or port outlives a run.
 */
final class FlashcardDemoTest {

    @TempDir
    Path tmp;

    private static FlashcardDemo.Options options(String store, Path dir) {
        return new FlashcardDemo.Options(2, 10, 4, Duration.ofSeconds(3), List.of(store),
                "exclusive", dir, 0);
    }

    @Test
    void run_latchkeyExclusiveTwoWorkersTenUsers_losesNothingAndMixesNothingUp()
            throws Exception {
        FlashcardDemo.Run run = FlashcardDemo.run(options("latchkey", tmp), "latchkey",
                tmp.resolve("latchkey"));
        LoadDriver.Outcome o = run.outcome();
        assertAll(
                () -> assertTrue(o.requests() > 50, "requests: " + o.requests()),
                () -> assertTrue(o.perWorker()[0] > 0 && o.perWorker()[1] > 0,
                        "both workers served requests: " + o.perWorker()[0] + "/"
                                + o.perWorker()[1]),
                () -> assertEquals(0, o.lostCounterUpdates(), "lost session updates"),
                () -> assertEquals(0, o.missingCards(), "acknowledged cards missing"),
                () -> assertEquals(0, o.crossUserWrites(), "cards in another user's database"),
                () -> assertEquals(0, o.wrongUserResponses(), "responses for another user"),
                () -> assertEquals(0, o.errors(), "failed requests: " + o.errorSamples()),
                () -> assertTrue(o.exact(), "every update answered, so 'lost' is exact"),
                () -> assertTrue(run.clean()));
        assertNothingLeftBehind(run);
    }

    @Test
    void run_naiveStore_losesAcknowledgedSessionUpdates() throws Exception {
        FlashcardDemo.Run run = FlashcardDemo.run(options("naive", tmp), "naive",
                tmp.resolve("naive"));
        assertTrue(run.outcome().lostUpdates() > 0, "the naive store lost nothing this time");
        assertTrue(run.outcome().lostUpperBound() >= run.outcome().lostUpdates());
        assertEquals(FlashcardDemo.OK, FlashcardDemo.status(List.of(run)),
                "the naive run's losses are the expected result, not a failure");
        assertNothingLeftBehind(run);
    }

    private static void assertNothingLeftBehind(FlashcardDemo.Run run) throws Exception {
        for (ProcessHandle worker : run.workerProcesses()) {
            worker.onExit().get(10, TimeUnit.SECONDS);
            assertFalse(worker.isAlive(), "worker " + worker.pid() + " still runs");
        }
        try (ServerSocket again = new ServerSocket(run.port(), 1,
                InetAddress.getLoopbackAddress())) {
            assertEquals(run.port(), again.getLocalPort());
        }
    }

    @Test
    void execute_badFlag_exitsWithRunErrorAndSaysSoInItsLastLine() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        assertEquals(FlashcardDemo.RUN_ERROR, FlashcardDemo.execute(new String[] {"--wrokers=2"},
                new PrintStream(OutputStream.nullOutputStream()),
                new PrintStream(err, true, StandardCharsets.UTF_8)));
        assertEquals("latchkey-demo: RUN ERROR (exit status 2): unknown flag --wrokers"
                + " (--help lists them)", lastLine(err));
    }

    @Test
    void execute_help_printsTheFlagsAndExitsZero() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        for (String help : List.of("--help", "-h", "--store=naive --help")) {
            out.reset();
            assertEquals(FlashcardDemo.OK, FlashcardDemo.execute(new String[] {help},
                    new PrintStream(out, true, StandardCharsets.UTF_8),
                    new PrintStream(err, true, StandardCharsets.UTF_8)), help);
            String text = out.toString(StandardCharsets.UTF_8);
            for (String flag : List.of("--workers", "--users", "--concurrency", "--duration",
                    "--store", "--mode", "--dir", "--port", "exit status")) {
                assertTrue(text.contains(flag), help + " does not mention " + flag + ": " + text);
            }
        }
        assertEquals("", err.toString(StandardCharsets.UTF_8));
    }

    @Test
    void finalLine_namesVerdictAndStatus() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(0, FlashcardDemo.finalLine(FlashcardDemo.OK, "fine", o, e));
        assertEquals("latchkey-demo: OK (exit status 0): fine", lastLine(out));
        assertEquals(1, FlashcardDemo.finalLine(FlashcardDemo.LATCHKEY_FAILED, "lost", o, e));
        assertEquals("latchkey-demo: FAILED (exit status 1): lost", lastLine(err));
    }

    private static String lastLine(ByteArrayOutputStream bytes) {
        List<String> lines = bytes.toString(StandardCharsets.UTF_8).lines().toList();
        return lines.isEmpty() ? "" : lines.get(lines.size() - 1);
    }

    @Test
    void sigtermOfTheDemo_stopsItsWorkersAndDeletesItsTemporaryDirectory() throws Exception {
        Path tmpdir = Files.createDirectory(tmp.resolve("java-tmp"));
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process demo = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC",
                "-Djava.io.tmpdir=" + tmpdir, "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                "-cp", System.getProperty("java.class.path"), FlashcardDemo.class.getName(),
                "--store=latchkey", "--workers=1", "--users=1", "--duration=300")
                .redirectErrorStream(true).redirectOutput(tmp.resolve("demo.log").toFile())
                .start();
        List<ProcessHandle> workers = List.of();
        try {
            // running: the worker opened the store in the demo's temporary directory
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(90);
            while (workers.isEmpty() || !lockFileIn(tmpdir)) {
                assertTrue(demo.isAlive(), "the demo exited: " + log());
                assertTrue(System.nanoTime() < deadline, "the demo did not start: " + log());
                workers = demo.descendants().toList();
                TimeUnit.MILLISECONDS.sleep(100); // polling for a state, not timing anything
            }
        } finally {
            demo.destroy(); // SIGTERM
        }
        assertTrue(demo.waitFor(60, TimeUnit.SECONDS), "the demo did not stop");
        for (ProcessHandle worker : workers) {
            worker.onExit().get(10, TimeUnit.SECONDS);
            assertFalse(worker.isAlive(), "worker " + worker.pid() + " still runs");
        }
        try (Stream<Path> left = Files.list(tmpdir)) {
            assertEquals(List.of(), left.toList(), "left behind after SIGTERM; " + log());
        }
    }

    private String log() throws IOException {
        return Files.readString(tmp.resolve("demo.log"));
    }

    private static boolean lockFileIn(Path tmpdir) throws IOException {
        try (Stream<Path> dirs = Files.list(tmpdir)) {
            return dirs.anyMatch(d -> d.getFileName().toString().startsWith("latchkey-demo")
                    && Files.exists(d.resolve("latchkey").resolve("latchkey.lock")));
        }
    }

    @Test
    void execute_workersCannotStart_exitsWithRunErrorNotTheLatchkeyFailureStatus()
            throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        // a socket without SO_REUSEPORT holds the port: no worker can bind it
        int port;
        try (ServerSocket taken = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = taken.getLocalPort();
            int status = FlashcardDemo.execute(new String[] {"--store=latchkey", "--workers=1",
                "--users=1", "--duration=1", "--port=" + taken.getLocalPort(),
                "--dir=" + tmp}, new PrintStream(OutputStream.nullOutputStream()),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(FlashcardDemo.RUN_ERROR, status, err.toString(StandardCharsets.UTF_8));
        }
        assertTrue(lastLine(err).startsWith("latchkey-demo: RUN ERROR (exit status 2): "),
                err.toString(StandardCharsets.UTF_8));
        assertTrue(lastLine(err).contains("port " + port + " is taken"), lastLine(err));
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void execute_foreignReusePortListenerOnThePort_isARunErrorNamingThePortNotALatchkeyLoss()
            throws Exception {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        int port;
        // another listener with SO_REUSEPORT (a second demo, any such server): the workers could
        // bind beside it and the kernel would hand it some of the connections
        try (ServerSocket foreign = new ServerSocket()) {
            foreign.setOption(StandardSocketOptions.SO_REUSEPORT, true);
            foreign.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 50);
            port = foreign.getLocalPort();
            int status = FlashcardDemo.execute(new String[] {"--store=latchkey", "--workers=1",
                "--users=1", "--duration=1", "--port=" + port, "--dir=" + tmp},
                    new PrintStream(OutputStream.nullOutputStream()),
                    new PrintStream(err, true, StandardCharsets.UTF_8));
            assertEquals(FlashcardDemo.RUN_ERROR, status, err.toString(StandardCharsets.UTF_8));
        }
        assertTrue(lastLine(err).startsWith("latchkey-demo: RUN ERROR (exit status 2): ")
                && lastLine(err).contains("port " + port + " is taken"), lastLine(err));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void loadDriver_answersWithoutTheRunsToken_areARunErrorNamingThePortNotALoss()
            throws Exception {
        // what answers when another server shares the port after the check: 200 for user 1
        HttpServer foreign = HttpServer.create(new InetSocketAddress(
                InetAddress.getLoopbackAddress(), 0), 50);
        foreign.createContext("/", exchange -> {
            exchange.getRequestBody().readAllBytes();
            byte[] body = "{\"worker\":0,\"user\":1}".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        foreign.start();
        try {
            int port = foreign.getAddress().getPort();
            Path databases = tmp.resolve("databases");
            new UserDatabases(databases).create(1);
            LoadDriver driver = new LoadDriver(URI.create("http://127.0.0.1:" + port + "/"), 1,
                    "the-runs-token");
            IOException e = assertThrows(IOException.class,
                    () -> driver.run(1, 1, Duration.ofSeconds(1), databases));
            assertTrue(e.getMessage().contains("port " + port)
                    && e.getMessage().contains("did not come from this run's workers"),
                    e.getMessage());
        } finally {
            foreign.stop(0);
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void run_workersOfARun_echoTheRunsTokenInEveryAnswer() throws Exception {
        Path dir = tmp.resolve("latchkey");
        new UserDatabases(dir.resolve("databases")).create(1);
        try (WorkerProcesses workers = WorkerProcesses.start(1, 0, "latchkey", dir,
                dir.resolve("databases"), "exclusive")) {
            HttpClient client = HttpClient.newHttpClient();
            for (String path : List.of("counters", "no-such-page")) {
                HttpResponse<String> r = client.send(HttpRequest.newBuilder(URI.create(
                        "http://127.0.0.1:" + workers.port() + "/" + path))
                        .timeout(Duration.ofSeconds(30)).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertEquals(List.of(workers.token()),
                        r.headers().allValues(WorkerProcesses.TOKEN_HEADER), path);
            }
            assertEquals(32, workers.token().length(), "128 random bits, in hex");
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void start_workerThatFailsToStart_reportsTheWorkersOwnError() throws Exception {
        Path databases = tmp.resolve("databases");
        new UserDatabases(databases).create(1);
        // the filter refuses a relative session directory, as it did with a relative --dir
        IOException e = assertThrows(IOException.class, () -> WorkerProcesses.start(1, 0,
                "latchkey", Path.of("relative-sessions"), databases, "exclusive").close());
        assertTrue(e.getMessage().contains("worker 0") && e.getMessage().contains("did not start")
                && e.getMessage().contains("absolute"), e.getMessage());
        assertFalse(e.getMessage().contains("null"), e.getMessage());
    }

    /** A worker that never gets to READY: it waits for its standard input to close. */
    static final class StuckBeforeReady {
        private StuckBeforeReady() {
        }

        public static void main(String[] args) throws IOException {
            System.err.println("stuck before READY");
            while (System.in.read() != -1) {
                // until the demo closes our standard input
            }
        }
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void start_workerStuckBeforeReady_timesOutNamingTheWorker() throws Exception {
        long t0 = System.nanoTime();
        IOException e = assertThrows(IOException.class, () -> WorkerProcesses.start(1, 0,
                "latchkey", tmp, tmp.resolve("databases"), "exclusive", Duration.ofSeconds(5),
                StuckBeforeReady.class.getName()).close());
        assertTrue(e.getMessage().contains("worker 0") && e.getMessage().contains("no READY within"
                + " 5 s"), e.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(60), "bounded");
        assertEquals(WorkerProcesses.READY_TIMEOUT, Duration.ofSeconds(60));
    }

    @Test
    void workerKilledDuringTheRun_isReportedAsARunError() throws Exception {
        Path dir = tmp.resolve("latchkey");
        new UserDatabases(dir.resolve("databases")).create(1);
        try (WorkerProcesses workers = WorkerProcesses.start(2, 0, "latchkey", dir,
                dir.resolve("databases"), "exclusive")) {
            workers.requireAllAlive();
            ProcessHandle victim = workers.handles().get(1);
            victim.destroyForcibly();
            victim.onExit().get(10, TimeUnit.SECONDS);
            // the handle's exit and the Process object's are completed by different threads:
            // the Process may still say alive for a moment after the handle's onExit
            IOException e = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (e == null && System.nanoTime() < deadline) {
                try {
                    workers.requireAllAlive();
                    Thread.sleep(10);
                } catch (IOException died) {
                    e = died;
                }
            }
            assertNotNull(e, "a killed worker must be reported within 10 s");
            assertTrue(e.getMessage().contains("worker 1") && e.getMessage().contains("died"),
                    e.getMessage());
        }
    }

    @Test
    void status_latchkeyRunThatLostAnUpdate_isTheLatchkeyFailureStatus() {
        LoadDriver.Outcome lost = new LoadDriver.Outcome(10, new long[] {5, 5}, 1, 4, 1, 2, 1, 0,
                0, 0, 0, 0, List.of(), 0, 1);
        FlashcardDemo.Run run = new FlashcardDemo.Run("latchkey", "exclusive", 2, 1, 1, List.of(),
                lost);
        assertEquals(FlashcardDemo.LATCHKEY_FAILED, FlashcardDemo.status(List.of(run)));
        assertTrue(lost.exact());
        LoadDriver.Outcome bounded = new LoadDriver.Outcome(10, new long[] {5, 5}, 1, 4, 1, 2, 1,
                0, 0, 0, 2, 0, List.of(), 2, 3);
        assertFalse(bounded.exact(), "with unanswered updates 'lost' is a lower bound");
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        FlashcardDemo.report(List.of(new FlashcardDemo.Run("latchkey", "exclusive", 2, 1, 1,
                List.of(), bounded)), new PrintStream(out, true, StandardCharsets.UTF_8));
        String report = out.toString(StandardCharsets.UTF_8);
        assertTrue(report.contains("     1+ ") && report.contains("between 1 and 3"), report);
    }

    @Test
    void parse_bothFlagForms_areRead() {
        FlashcardDemo.Options o = FlashcardDemo.parse(new String[] {"--store", "naive",
            "--workers=2 --users=7", "--mode=merge", "--dir", "/tmp/x"});
        assertEquals(List.of("naive"), o.stores());
        assertEquals(2, o.workers());
        assertEquals(7, o.users());
        assertEquals("merge", o.mode());
        assertEquals(Path.of("/tmp/x"), o.dir());
        assertEquals(List.of("naive", "latchkey"), FlashcardDemo.parse(new String[0]).stores());
    }

    @Test
    void parse_relativeDir_isMadeAbsoluteAgainstTheWorkingDirectory() {
        Path dir = FlashcardDemo.parse(new String[] {"--dir=demo-runs/../demo"}).dir();
        assertTrue(dir.isAbsolute(), dir.toString());
        assertEquals(Path.of("").toAbsolutePath().resolve("demo"), dir);
    }

    @Test
    void parse_beyondTheCaps_isRefusedNamingTheCap() {
        for (String[] flags : List.of(new String[] {"--workers=17", "--workers must be at most 16"},
                new String[] {"--users=1001", "--users must be at most 1000"},
                new String[] {"--concurrency=33", "--concurrency must be at most 32"},
                new String[] {"--duration=601", "--duration must be at most 600"},
                new String[] {"--duration=2147483647", "--duration must be at most 600"},
                new String[] {"--users=1000 --concurrency=3",
                    "--users x --concurrency must be at most 2000"})) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> FlashcardDemo.parse(new String[] {flags[0]}), flags[0]);
            assertTrue(e.getMessage().startsWith(flags[1]), e.getMessage());
        }
        FlashcardDemo.Options most = FlashcardDemo.parse(new String[] {"--workers=16",
            "--users=1000", "--concurrency=2"});
        assertEquals(16, most.workers());
        assertEquals(java.time.Duration.ofSeconds(600),
                FlashcardDemo.parse(new String[] {"--duration=600"}).duration());
        assertEquals(2000, most.users() * most.concurrency());
    }

    @Test
    void parse_badFlags_areRefusedWithTheirName() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlashcardDemo.parse(new String[] {"--wrokers=2"})).getMessage()
                .contains("--wrokers"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlashcardDemo.parse(new String[] {"--bogus"})).getMessage()
                .contains("unknown flag --bogus"), "not 'needs a value'");
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlashcardDemo.parse(new String[] {"--store=redis"})).getMessage()
                .contains("redis"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlashcardDemo.parse(new String[] {"--users=0"})).getMessage()
                .contains("--users"));
    }
}
