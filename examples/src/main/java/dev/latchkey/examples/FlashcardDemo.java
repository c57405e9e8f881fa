package dev.latchkey.examples;

import java.io.IOException;
import java.io.PrintStream;
import java.net.URI;
import java.nio.file.Files;
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
 * <p>Flags ({@code --name=value} or {@code --name value}): {@code --workers} (3), {@code --users}
 * (50), {@code --concurrency} requests in flight per user (4), {@code --duration} seconds of load
 * per store (8), {@code --store} {@code both|naive|latchkey} (both), {@code --mode}
 * {@code exclusive|merge} for Latchkey (exclusive), {@code --dir} a directory to keep sessions and
 * databases in (a temporary directory, deleted afterwards), {@code --port} (a free one).
 * Exit status: {@value #OK}; {@value #LATCHKEY_FAILED} if Latchkey lost or mixed up anything;
 * {@value #RUN_ERROR} if the run itself failed: bad flags, a worker that did not start or died
 * during the run, the load that could not run, or the process that started the demo (Maven) went
 * away, in which case the demo stops its workers and exits.
 */
public final class FlashcardDemo {
    /** Exit status: the run completed and Latchkey's promise held. */
    static final int OK = 0;
    /** Exit status: Latchkey lost or mixed up something. */
    static final int LATCHKEY_FAILED = 1;
    /** Exit status: the run could not be done (bad flags, a worker failed, the parent died). */
    static final int RUN_ERROR = 2;

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
            System.err.println("the process that started the demo (pid " + parent.pid()
                    + ") exited: stopping the workers");
            System.exit(RUN_ERROR);
        }));
    }

    /**
     * Runs the demo.
     *
     * @return the exit status
     */
    static int execute(String[] args, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            err.println("flags: --workers=N --users=N --concurrency=N --duration=SECONDS"
                    + " --store=both|naive|latchkey --mode=exclusive|merge --dir=PATH --port=N");
            return RUN_ERROR;
        }
        List<Run> runs = new ArrayList<>();
        Path base;
        try {
            boolean temporary = options.dir() == null;
            base = temporary ? Files.createTempDirectory("latchkey-demo")
                    : options.dir().resolve("run-" + LocalDateTime.now().format(
                            DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
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
                }
            }
        } catch (IOException | SQLException | RuntimeException e) {
            err.println("the demo run failed (exit status " + RUN_ERROR + "): " + e);
            return RUN_ERROR;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            err.println("the demo was interrupted (exit status " + RUN_ERROR + ")");
            return RUN_ERROR;
        }
        report(runs, out);
        if (base != null) {
            out.println("sessions and databases kept in " + base);
        }
        int status = status(runs);
        if (status == LATCHKEY_FAILED) {
            out.println("FAILED: Latchkey lost or mixed up updates");
        }
        return status;
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
                    + workers.port() + "/"), options.workers()).run(options.users(),
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
            String value;
            int eq = name.indexOf('=');
            if (eq >= 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else if (i + 1 < words.size()) {
                value = words.get(++i);
            } else {
                throw new IllegalArgumentException("flag --" + name + " needs a value");
            }
            if (!flags.containsKey(name)) {
                throw new IllegalArgumentException("unknown flag --" + name);
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
        int port = number(flags, "port", 0);
        if (port > 65535) {
            throw new IllegalArgumentException("--port must be at most 65535");
        }
        return new Options(number(flags, "workers", 1), number(flags, "users", 1),
                number(flags, "concurrency", 1), Duration.ofSeconds(number(flags, "duration", 1)),
                stores, mode, flags.get("dir").isEmpty() ? null : Path.of(flags.get("dir")), port);
    }

    private static int number(Map<String, String> flags, String name, int min) {
        try {
            int n = Integer.parseInt(flags.get(name));
            if (n < min) {
                throw new IllegalArgumentException("--" + name + " must be at least " + min);
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
