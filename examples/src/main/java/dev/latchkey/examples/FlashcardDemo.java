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
 * Exit status: 0, or 1 if Latchkey lost or mixed up anything, 2 for bad flags.
 */
public final class FlashcardDemo {
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
     * Runs the demo.
     *
     * @param args flags, see the class comment
     * @throws Exception if workers cannot be started or the load cannot run
     */
    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("flags: --workers=N --users=N --concurrency=N --duration=SECONDS"
                    + " --store=both|naive|latchkey --mode=exclusive|merge --dir=PATH --port=N");
            System.exit(2);
            return;
        }
        boolean temporary = options.dir() == null;
        Path base = temporary ? Files.createTempDirectory("latchkey-demo")
                : options.dir().resolve("run-" + LocalDateTime.now().format(
                        DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")));
        List<Run> runs = new ArrayList<>();
        try {
            for (String store : options.stores()) {
                System.out.printf(Locale.ROOT, "%s: %d workers on one port, %d users x %d in"
                        + " flight, %d s ...%n", store, options.workers(), options.users(),
                        options.concurrency(), options.duration().toSeconds());
                runs.add(run(options, store, base.resolve(store)));
            }
        } finally {
            if (temporary) {
                deleteTree(base);
            }
        }
        report(runs, System.out);
        if (!temporary) {
            System.out.println("sessions and databases kept in " + base);
        }
        boolean failed = runs.stream().anyMatch(r -> r.store().equals("latchkey") && !r.clean());
        if (failed) {
            System.out.println("FAILED: Latchkey lost or mixed up updates");
            System.exit(1);
        }
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
                    "%-9s %-9s %7d %5d %8d %-17s %6.0f %7.1f %7.1f %7d %6d %6d %6d %6d%n",
                    r.store(), r.mode(), r.workers(), r.users(), o.requests(),
                    LongStream.of(o.perWorker()).mapToObj(Long::toString)
                            .collect(Collectors.joining("/")),
                    o.requests() / o.seconds(), o.p50Millis(), o.p99Millis(),
                    o.acknowledgedUpdates(), o.lostUpdates(),
                    o.crossUserWrites(), o.wrongUserResponses(), o.errors());
        }
        out.println();
        out.println("updates: session updates the app acknowledged (card added, deck changed);"
                + " lost: of those, missing at the end (session counters below what was"
                + " acknowledged, or an acknowledged card not in its owner's database);");
        out.println("cross: cards in another user's database; wrong: responses that carried"
                + " another user; errors: failed requests (e.g. 401: the session file was found"
                + " unreadable).");
        for (Run r : runs) {
            LoadDriver.Outcome o = r.outcome();
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
