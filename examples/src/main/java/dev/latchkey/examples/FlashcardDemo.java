package dev.latchkey.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;
import java.util.stream.LongStream;
import java.util.stream.Stream;

/**
 * The multi-worker demo: the flashcard app ({@link FlashcardServlet}) runs in W worker JVMs that
 * share one port ({@code SO_REUSEPORT}) and one session directory, with one SQLite database per
 * user; {@link LoadDriver} plays U users with several requests in flight each, then checks that no
 * session update was lost, no card landed in another user's database and no response carried
 * another user. It runs the app first with a naive file session store, then with Latchkey.
 *
 * <p>Flags ({@code --name=value} or {@code --name value}): {@code --workers} (3, at most
 * {@value #MAX_WORKERS}), {@code --users} (50, at most {@value #MAX_USERS}), {@code --concurrency}
 * requests in flight per user (4, at most {@value #MAX_CONCURRENCY}; users x concurrency at most
 * {@value #MAX_IN_FLIGHT}), {@code --duration} seconds of load
 * per store (8, at most {@value #MAX_DURATION_SECONDS}), {@code --store} {@code both|naive|latchkey} (both), {@code --mode}
 * {@code exclusive|merge} for Latchkey (exclusive), {@code --dir} a directory to keep sessions and
 * databases in (made absolute against the working directory; by default a temporary directory,
 * deleted afterwards, also when the demo is stopped with SIGTERM or Ctrl-C), {@code --port} (a
 * free one; an explicit one must be free); {@code --help} prints them.
 * The last line the demo prints starts with {@value #FINAL_LINE_PREFIX} and gives the verdict and
 * the exit status, so that it can be found below Maven's own messages. Exit status: {@value #OK}; {@value #LATCHKEY_FAILED} if Latchkey lost or mixed up anything;
 * {@value #RUN_ERROR} if the run itself failed: bad flags, {@code --port} taken, a worker that did
 * not start or died during the run, an answer from another server on the port, the load that could not run, or the process that started the demo (Maven) went
 * away, in which case the demo stops its workers and exits.
 */
public final class FlashcardDemo {
    /** Exit status: the run completed and Latchkey's promise held. */
    static final int OK = 0;
    /** Exit status: Latchkey lost or mixed up something. */
    static final int LATCHKEY_FAILED = 1;
    /** Exit status: the run could not be done (bad flags, a worker failed, the parent died). */
    static final int RUN_ERROR = 2;
    /** How the demo's last line starts: {@code grep '^latchkey-demo:'} finds it. */
    static final String FINAL_LINE_PREFIX = "latchkey-demo:";

    /** The most worker JVMs: each one is a JVM of up to 256 MB of heap plus its own threads. */
    static final int MAX_WORKERS = 16;
    /** The most simulated users: each one is an HTTP client with its own selector thread. */
    static final int MAX_USERS = 1000;
    /** The most requests one user keeps in flight. */
    static final int MAX_CONCURRENCY = 32;
    /** The most requests in flight in all ({@code users x concurrency}): a thread each. */
    static final int MAX_IN_FLIGHT = 2000;
    /**
     * The longest load per store, in seconds: the driver keeps every request's latency in memory
     * until the end (for the percentiles), and every user's database grows with each card added.
     */
    static final int MAX_DURATION_SECONDS = 600;

    private static final String USAGE = "flags (as --name=value or --name value): --workers=N (3, at most "
            + MAX_WORKERS + ") --users=N (50, at most " + MAX_USERS + ") --concurrency=N (4, at"
            + " most " + MAX_CONCURRENCY + "; users x concurrency at most " + MAX_IN_FLIGHT + ")"
            + " --duration=SECONDS (8, at most " + MAX_DURATION_SECONDS + ")"
            + " --store=both|naive|latchkey (both) --mode=exclusive|merge (exclusive) --dir=PATH"
            + " (a temporary directory, deleted at the end; a relative PATH is relative to the"
            + " working directory, under Maven the directory it was started in) --port=N (a free one) --help;"
            + " see docs/demo.md";

    private FlashcardDemo() {
    }

    /** The demo's settings. */
    record Options(int workers, int users, int concurrency, Duration duration, List<String> stores,
            String mode, Path dir, int port) {
    }

    /** One store's run: what it was and what it found. */
    record Run(String store, String mode, int workers, int users, int port,
            List<ProcessHandle> workerProcesses, LoadDriver.Outcome outcome) {

        /** True if Latchkey's promise held: nothing lost (in exclusive mode), nothing mixed up. */
        boolean clean() {
            boolean countersExact = mode.equals("merge") || outcome.lostCounterUpdates() == 0;
            return countersExact && outcome.missingCards() == 0 && outcome.crossUserWrites() == 0
                    && outcome.wrongUserResponses() == 0;
        }
    }

    /**
     * Runs the demo and exits with its status (see the class comment).
     *
     * @param args flags, see the class comment
     */
    public static void main(String[] args) {
        stopWhenParentExits();
        System.exit(execute(args, System.out, System.err));
    }

    /**
     * Exits with {@link #RUN_ERROR} (the shutdown hook kills the workers) when the process that
     * started the demo exits: Maven killed with SIGTERM does not stop its {@code exec:exec} child,
     * which would otherwise run on, holding the port, until its load ends.
     */
    private static void stopWhenParentExits() {
        ProcessHandle.current().parent().ifPresent(parent -> parent.onExit().thenRun(() -> {
            finalLine(RUN_ERROR, "the process that started the demo (pid " + parent.pid()
                    + ") exited: the workers are stopped", System.out, System.err);
            System.exit(RUN_ERROR);
        }));
    }

    /**
     * Runs the demo.
     *
     * @return the exit status
     */
    static int execute(String[] args, PrintStream out, PrintStream err) {
        if (Stream.of(args).flatMap(a -> Stream.of(a.trim().split("\\s+")))
                .anyMatch(w -> w.equals("--help") || w.equals("-h"))) {
            out.println("the Latchkey demo: W worker JVMs on one port, U users, first with a naive"
                    + " file session store, then with Latchkey");
            out.println(USAGE);
            out.println("exit status: 0 ok; 1 Latchkey lost or mixed up something; 2 the run"
                    + " failed (bad flag, worker did not start or died, ...)");
            return OK;
        }
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            err.println(USAGE);
            return finalLine(RUN_ERROR, e.getMessage(), out, err);
        }
        List<Run> runs = new ArrayList<>();
        Path base;
        try {
            boolean temporary = options.dir() == null;
            base = temporary ? Files.createTempDirectory("latchkey-demo")
                    : options.dir().resolve("run-" + LocalDateTime.now().format(
                            DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
            Thread cleanup = temporary ? deleteAtShutdown(base) : null;
            try {
                for (String store : options.stores()) {
                    out.printf(Locale.ROOT, "%s: %d workers on one port, %d users x %d in"
                            + " flight, %d s ...%n", store, options.workers(), options.users(),
                            options.concurrency(), options.duration().toSeconds());
                    runs.add(run(options, store, base.resolve(store)));
                }
            } finally {
                if (temporary) {
                    deleteTree(base);
                    base = null;
                    try {
                        Runtime.getRuntime().removeShutdownHook(cleanup);
                    } catch (IllegalStateException shuttingDown) {
                        // the hook runs anyway and finds nothing to delete
                    }
                }
            }
        } catch (IOException | SQLException | RuntimeException e) {
            return finalLine(RUN_ERROR, e.toString(), out, err);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return finalLine(RUN_ERROR, "the demo was interrupted", out, err);
        }
        report(runs, out);
        if (base != null) {
            out.println("sessions and databases kept in " + base);
        }
        int status = status(runs);
        return finalLine(status, status == OK ? "Latchkey lost and mixed up nothing"
                : "Latchkey lost or mixed up updates (see the latchkey line above)", out, err);
    }

    /**
     * Prints the demo's last line, {@code latchkey-demo: OK|FAILED|RUN ERROR (exit status N):
     * reason}, on {@code out} for status 0, else on {@code err}.
     *
     * @return the status
     */
    static int finalLine(int status, String reason, PrintStream out, PrintStream err) {
        String verdict = switch (status) {
            case OK -> "OK";
            case LATCHKEY_FAILED -> "FAILED";
            default -> "RUN ERROR";
        };
        (status == OK ? out : err).println(FINAL_LINE_PREFIX + " " + verdict + " (exit status "
                + status + "): " + reason);
        return status;
    }

    /**
     * Registers a shutdown hook that, if the demo is stopped before it deleted its temporary
     * directory itself (SIGTERM, Ctrl-C, the parent watch's exit), kills the workers, waits for
     * them to be gone (a live worker could write into the directory as it is deleted), and then
     * deletes the directory. SIGKILL runs no hook: that directory stays (docs/demo.md).
     */
    private static Thread deleteAtShutdown(Path dir) {
        Thread hook = new Thread(() -> {
            WorkerProcesses.killAllAndWait(Duration.ofSeconds(10));
            // the main thread may be deleting it too (its run failed as the workers died)
            for (int attempt = 1; attempt <= 3 && Files.exists(dir); attempt++) {
                try {
                    deleteTree(dir);
                } catch (IOException | UncheckedIOException e) {
                    if (attempt == 3) {
                        System.err.println("could not delete " + dir + ": " + e);
                    }
                }
            }
        }, "latchkey-demo-temp-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
        return hook;
    }

    /** {@link #LATCHKEY_FAILED} if a Latchkey run is not clean, else {@link #OK}. */
    static int status(List<Run> runs) {
        boolean failed = runs.stream().anyMatch(r -> r.store().equals("latchkey") && !r.clean());
        return failed ? LATCHKEY_FAILED : OK;
    }

    /**
     * One store's run: creates the user databases, starts the workers, runs the load, checks, and
     * stops the workers (also on failure).
     */
    static Run run(Options options, String store, Path dir)
            throws IOException, InterruptedException, SQLException {
        // Latchkey keeps its files under DIR/sessions/ itself (plus latchkey.lock, quarantine/)
        Path sessions = store.equals("latchkey") ? dir : dir.resolve("sessions");
        Path databases = dir.resolve("databases");
        new UserDatabases(databases).create(options.users());
        String mode = store.equals("latchkey") ? options.mode() : "-";
        try (WorkerProcesses workers = WorkerProcesses.start(options.workers(), options.port(),
                store, sessions, databases, store.equals("latchkey") ? options.mode()
                        : "merge")) {
            LoadDriver.Outcome outcome = new LoadDriver(URI.create("http://127.0.0.1:"
                    + workers.port() + "/"), options.workers(), workers.token()).run(options.users(),
                    options.concurrency(), options.duration(), databases);
            workers.requireAllAlive(); // a worker that died makes the numbers meaningless
            return new Run(store, mode, options.workers(), options.users(), workers.port(),
                    workers.handles(), outcome);
        }
    }

    static void report(List<Run> runs, PrintStream out) {
        out.println();
        out.printf(Locale.ROOT, "%-9s %-9s %7s %5s %8s %-17s %6s %7s %7s %7s %6s %6s %6s %6s%n",
                "store", "mode", "workers", "users", "requests", "per worker", "req/s", "p50 ms",
                "p99 ms", "updates", "lost", "cross", "wrong", "errors");
        for (Run r : runs) {
            LoadDriver.Outcome o = r.outcome();
            out.printf(Locale.ROOT,
                    "%-9s %-9s %7d %5d %8d %-17s %6.0f %7.1f %7.1f %7d %6s %6d %6d %6d%n",
                    r.store(), r.mode(), r.workers(), r.users(), o.requests(),
                    LongStream.of(o.perWorker()).mapToObj(Long::toString)
                            .collect(Collectors.joining("/")),
                    o.requests() / o.seconds(), o.p50Millis(), o.p99Millis(),
                    o.acknowledgedUpdates(), o.lostUpdates() + (o.exact() ? "" : "+"),
                    o.crossUserWrites(), o.wrongUserResponses(), o.errors());
        }
        out.println();
        out.println("per worker: answers each worker sent; updates: session updates the app"
                + " acknowledged (card added, deck changed); lost: of those, missing at the end"
                + " (session counters below what was acknowledged, or an acknowledged card not in"
                + " its owner's database);");
        out.println("cross: cards in another user's database; wrong: responses that carried"
                + " another user; errors: failed requests (e.g. 401: the session file was found"
                + " unreadable).");
        for (Run r : runs) {
            LoadDriver.Outcome o = r.outcome();
            if (!o.exact()) {
                out.printf(Locale.ROOT, "%s: lost %d+ is a lower bound: %d update requests were"
                        + " not acknowledged (no 200) but may have been applied; one that was"
                        + " applied hides a lost one, so between %d and %d updates were lost%n",
                        r.store(), o.lostUpdates(), o.uncertainUpdates(), o.lostUpdates(),
                        o.lostUpperBound());
            }
            if (o.countersAboveAcknowledged() > 0) {
                out.printf(Locale.ROOT, "%s: counters %d above what was acknowledged"
                        + " (requests that failed on the client after the server applied them)%n",
                        r.store(), o.countersAboveAcknowledged());
            }
            if (!o.errorSamples().isEmpty()) {
                out.println(r.store() + " errors, e.g.: " + String.join("; ", o.errorSamples()));
            }
            if (r.mode().equals("merge") && o.lostCounterUpdates() > 0) {
                out.println("latchkey merge: concurrent requests of one session commit their own"
                        + " changes; for one attribute the later commit wins, so counters"
                        + " incremented by parallel requests lose increments by design. Use"
                        + " exclusive mode for read-modify-write of an attribute.");
            }
        }
    }

    static Options parse(String[] args) {
        Map<String, String> flags = new LinkedHashMap<>();
        flags.put("workers", "3");
        flags.put("users", "50");
        flags.put("concurrency", "4");
        flags.put("duration", "8");
        flags.put("store", "both");
        flags.put("mode", "exclusive");
        flags.put("dir", "");
        flags.put("port", "0");
        List<String> words = Stream.of(args).flatMap(a -> Stream.of(a.trim().split("\\s+")))
                .filter(w -> !w.isEmpty()).toList();
        for (int i = 0; i < words.size(); i++) {
            String w = words.get(i);
            if (!w.startsWith("--")) {
                throw new IllegalArgumentException("unexpected argument " + w);
            }
            String name = w.substring(2);
            int eq = name.indexOf('=');
            if (!flags.containsKey(eq >= 0 ? name.substring(0, eq) : name)) {
                throw new IllegalArgumentException("unknown flag --"
                        + (eq >= 0 ? name.substring(0, eq) : name) + " (--help lists them)");
            }
            String value;
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < words.size()) {
                value = words.get(++i);
            } else {
                throw new IllegalArgumentException("flag --" + name + " needs a value");
            }
            flags.put(name, value);
        }
        String store = flags.get("store");
        List<String> stores = switch (store) {
            case "both" -> List.of("naive", "latchkey");
            case "naive", "latchkey" -> List.of(store);
            default -> throw new IllegalArgumentException("--store must be both, naive or"
                    + " latchkey, not " + store);
        };
        String mode = flags.get("mode");
        if (!mode.equals("exclusive") && !mode.equals("merge")) {
            throw new IllegalArgumentException("--mode must be exclusive or merge, not " + mode);
        }
        int port = number(flags, "port", 0, 65535);
        int users = number(flags, "users", 1, MAX_USERS);
        int concurrency = number(flags, "concurrency", 1, MAX_CONCURRENCY);
        if (users * concurrency > MAX_IN_FLIGHT) {
            throw new IllegalArgumentException("--users x --concurrency must be at most "
                    + MAX_IN_FLIGHT + " requests in flight (one driver thread each), not "
                    + users + " x " + concurrency + " = " + users * concurrency);
        }
        Path dir = null;
        if (!flags.get("dir").isEmpty()) {
            try {
                // relative to the working directory: under Maven the project root (see the pom)
                dir = Path.of(flags.get("dir")).toAbsolutePath().normalize();
            } catch (InvalidPathException e) {
                throw new IllegalArgumentException("--dir " + flags.get("dir") + " is not a"
                        + " valid path: " + e.getMessage(), e);
            }
        }
        return new Options(number(flags, "workers", 1, MAX_WORKERS), users, concurrency,
                Duration.ofSeconds(number(flags, "duration", 1, MAX_DURATION_SECONDS)), stores, mode,
                dir, port);
    }

    private static int number(Map<String, String> flags, String name, int min, int max) {
        try {
            int n = Integer.parseInt(flags.get(name));
            if (n < min) {
                throw new IllegalArgumentException("--" + name + " must be at least " + min);
            }
            if (n > max) {
                throw new IllegalArgumentException("--" + name + " must be at most " + max
                        + ", not " + n + " (see docs/demo.md, Flags)");
            }
            return n;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--" + name + " must be a number, not "
                    + flags.get(name), e);
        }
    }

    private static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
