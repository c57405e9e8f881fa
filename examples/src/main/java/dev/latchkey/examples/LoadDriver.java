package dev.latchkey.examples;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.CookieManager;
import java.net.CookiePolicy;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.LongAdder;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The browsers of {@link FlashcardDemo}: U users, each with its own cookie jar and connection pool
 * ({@link HttpClient}), each with C requests in flight at once (so several connections, which
 * {@code SO_REUSEPORT} spreads over the workers). Each user adds cards, changes deck, reads its
 * counters and lists its cards, and sometimes sends an add twice at once (a double click, a
 * browser retry). The driver keeps its own record of what was acknowledged and, at the end,
 * checks it against the sessions and the databases.
 */
final class LoadDriver {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern DB_FILE = Pattern.compile("user_(\\d+)\\.db");
    private static final Pattern RID = Pattern.compile("u(\\d+)-\\d+");

    /**
     * What one run measured and found.
     *
     * <p>{@code lostCounterUpdates} and {@code missingCards} count what is certainly lost: an
     * acknowledged update not found at the end. They are exact when {@code uncertainUpdates} is 0.
     * An update request that got no 200 (an error, a timeout) may or may not have been applied by
     * the server; one that was applied can hide a lost acknowledged one in the same counter, so
     * with uncertain updates the true loss lies between {@link #lostUpdates()} and
     * {@code lostUpperBound}.
     *
     * <p>{@code perWorker}: the answers each worker sent (a JSON reply naming it); a request that
     * failed before a worker answered counts for none.
     */
    record Outcome(long requests, long[] perWorker, double seconds, long acknowledgedUpdates,
            double p50Millis,
            double p99Millis, long lostCounterUpdates, long missingCards, long crossUserWrites,
            long wrongUserResponses, long errors, long countersAboveAcknowledged,
            List<String> errorSamples, long uncertainUpdates, long lostUpperBound) {

        /** Updates certainly lost: a lower bound, exact if {@link #exact()}. */
        long lostUpdates() {
            return lostCounterUpdates + missingCards;
        }

        /** Whether {@link #lostUpdates()} is the exact loss (every update request was answered). */
        boolean exact() {
            return lostUpperBound == lostUpdates();
        }
    }

    /** One user's browser and the driver's record of what the app acknowledged to it. */
    private static final class User {
        final int id;
        final HttpClient client;
        final AtomicInteger acknowledgedAdds = new AtomicInteger();
        final AtomicInteger acknowledgedDeckChanges = new AtomicInteger();
        /** Update requests sent: acknowledged or not (these may still have been applied). */
        final AtomicInteger sentAdds = new AtomicInteger();
        final AtomicInteger sentDeckChanges = new AtomicInteger();
        final Map<String, Integer> sentCards = new ConcurrentHashMap<>();
        final AtomicInteger nextRequest = new AtomicInteger();
        final Map<String, Integer> acknowledgedCards = new ConcurrentHashMap<>();

        User(int id, HttpClient client) {
            this.id = id;
            this.client = client;
        }
    }

    private final URI base;
    private final int workers;
    private final String token;
    private final LongAdder foreign = new LongAdder();
    private final List<String> foreignSamples = new ArrayList<>();
    private final LongAdder requests = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder wrongUser = new LongAdder();
    private final AtomicLongArray perWorker;
    private final List<String> errorSamples = new ArrayList<>();
    private final List<long[]> latencies = new ArrayList<>();

    /**
     * @param token the run's token: an answer without it in the
     *     {@value WorkerProcesses#TOKEN_HEADER} header came from another listener on the port
     */
    LoadDriver(URI base, int workers, String token) {
        this.base = base;
        this.workers = workers;
        this.token = token;
        this.perWorker = new AtomicLongArray(workers);
    }

    /**
     * Logs every user in, runs the load for {@code duration}, then checks.
     *
     * @param databases the directory of the per-user databases, read directly for the check
     * @throws IOException if a user could not log in, or if any answer lacked the run's token
     *     (another server shares the port: the numbers would count its answers)
     */
    Outcome run(int users, int concurrency, Duration duration, Path databases)
            throws InterruptedException, IOException, SQLException {
        ExecutorService clientExecutor = Executors.newCachedThreadPool(daemon("http-client"));
        List<User> all = new ArrayList<>();
        try {
            for (int u = 1; u <= users; u++) {
                User user = new User(u, HttpClient.newBuilder()
                        .version(HttpClient.Version.HTTP_1_1)
                        .cookieHandler(new CookieManager(null, CookiePolicy.ACCEPT_ALL))
                        .connectTimeout(Duration.ofSeconds(5)).executor(clientExecutor).build());
                JsonNode login = send(user, post("login?user=" + u + "&name=user-" + u));
                if (login == null) {
                    requireOnlyOurAnswers();
                    throw new IOException("user " + u + " could not log in: " + errorSamples);
                }
                all.add(user);
            }
            long requestsBefore = requests.sum();
            long[] perWorkerBefore = perWorkerNow();
            long start = System.nanoTime();
            long deadline = start + duration.toNanos();
            List<Thread> browsers = new ArrayList<>();
            for (User user : all) {
                for (int c = 0; c < concurrency; c++) {
                    Thread t = new Thread(() -> browse(user, deadline), "user-" + user.id + "-" + c);
                    t.setDaemon(true);
                    browsers.add(t);
                    t.start();
                }
            }
            for (Thread t : browsers) {
                t.join();
            }
            double seconds = (System.nanoTime() - start) / 1e9;
            long loadRequests = requests.sum() - requestsBefore;
            long[] perWorkerLoad = perWorkerNow();
            for (int w = 0; w < workers; w++) {
                perWorkerLoad[w] -= perWorkerBefore[w];
            }
            long[] sortedNanos = latencies.stream().flatMapToLong(Arrays::stream).sorted().toArray();
            Outcome outcome = check(all, databases, loadRequests, perWorkerLoad, seconds,
                    sortedNanos);
            requireOnlyOurAnswers();
            return outcome;
        } finally {
            clientExecutor.shutdownNow();
        }
    }

    private void browse(User user, long deadline) {
        long[] mine = new long[1024];
        int n = 0;
        ThreadLocalRandom random = ThreadLocalRandom.current();
        while (System.nanoTime() < deadline) {
            int dice = random.nextInt(100);
            long t0 = System.nanoTime();
            if (dice < 45) {
                addCard(user, 1);
            } else if (dice < 55) {
                addCard(user, 2); // the same request twice at once: double click, retry
            } else if (dice < 75) {
                String deck = "deck-" + random.nextInt(5);
                user.sentDeckChanges.incrementAndGet();
                if (send(user, post("deck?deck=" + deck)) != null) {
                    user.acknowledgedDeckChanges.incrementAndGet();
                }
            } else if (dice < 95) {
                send(user, get("counters"));
            } else {
                send(user, get("cards"));
            }
            if (n == mine.length) {
                mine = Arrays.copyOf(mine, n * 2);
            }
            mine[n++] = System.nanoTime() - t0;
        }
        synchronized (latencies) {
            latencies.add(Arrays.copyOf(mine, n));
        }
    }

    private void addCard(User user, int copies) {
        String rid = "u" + user.id + "-" + user.nextRequest.incrementAndGet();
        HttpRequest request = post("cards?rid=" + rid + "&front=card-" + rid);
        List<CompletableFuture<JsonNode>> sent = new ArrayList<>();
        user.sentAdds.addAndGet(copies);
        user.sentCards.merge(rid, copies, Integer::sum);
        for (int i = 0; i < copies; i++) {
            sent.add(sendAsync(user, request));
        }
        for (CompletableFuture<JsonNode> f : sent) {
            if (f.join() != null) {
                user.acknowledgedAdds.incrementAndGet();
                user.acknowledgedCards.merge(rid, 1, Integer::sum);
            }
        }
    }

    /** Sends one request and waits; returns the JSON answer if it was 200, else null. */
    private JsonNode send(User user, HttpRequest request) {
        return sendAsync(user, request).join();
    }

    /** Sends one request; completes with the JSON answer if it was 200 (acknowledged), else null. */
    private CompletableFuture<JsonNode> sendAsync(User user, HttpRequest request) {
        requests.increment();
        return user.client.sendAsync(request, HttpResponse.BodyHandlers.ofString())
                .handle((r, failure) -> failure != null
                        ? error(request.uri().getPath() + " -> " + failure)
                        : interpret(user, request, r));
    }

    private JsonNode interpret(User user, HttpRequest request, HttpResponse<String> r) {
        if (!r.headers().allValues(WorkerProcesses.TOKEN_HEADER).equals(List.of(token))) {
            foreign.increment(); // not from this run's workers: neither an answer nor an error
            synchronized (foreignSamples) {
                if (foreignSamples.size() < 3) {
                    foreignSamples.add(request.uri().getPath() + " -> " + r.statusCode() + " "
                            + r.body().strip());
                }
            }
            return null;
        }
        JsonNode body;
        try {
            body = JSON.readTree(r.body());
        } catch (IOException e) {
            return error(request.uri().getPath() + " -> " + r.statusCode() + " " + r.body());
        }
        int worker = body.path("worker").asInt(-1);
        if (worker >= 0 && worker < workers) {
            perWorker.incrementAndGet(worker);
        }
        if (r.statusCode() != 200) {
            return error(request.uri().getPath() + " -> " + r.statusCode() + " "
                    + body.path("error").asText());
        }
        if (body.path("user").asInt(-1) != user.id) {
            wrongUser.increment(); // the session said someone else
        }
        return body;
    }

    /**
     * Fails if any answer so far lacked the run's token: another listener shares the port with
     * {@code SO_REUSEPORT} (the kernel gives it some connections), so the run is not meaningful.
     */
    private void requireOnlyOurAnswers() throws IOException {
        long n = foreign.sum();
        if (n > 0) {
            synchronized (foreignSamples) {
                throw new IOException(n + " answers on port " + base.getPort() + " did not come"
                        + " from this run's workers (no " + WorkerProcesses.TOKEN_HEADER
                        + " header with the run's token): another server listens on port "
                        + base.getPort() + " (maybe a second demo with the same --port); the"
                        + " results are not meaningful; e.g. " + String.join("; ", foreignSamples));
            }
        }
    }

    private JsonNode error(String what) {
        errors.increment();
        synchronized (errorSamples) {
            if (errorSamples.size() < 5) {
                errorSamples.add(what);
            }
        }
        return null;
    }

    private long[] perWorkerNow() {
        long[] now = new long[workers];
        for (int w = 0; w < workers; w++) {
            now[w] = perWorker.get(w);
        }
        return now;
    }

    /** Compares the driver's record with the sessions (through the app) and the databases. */
    private Outcome check(List<User> users, Path databases, long loadRequests, long[] perWorkerLoad,
            double seconds, long[] sortedNanos) throws IOException, SQLException {
        // per counter: acknowledged <= applied <= sent, so the loss (applied - seen) is between
        // acknowledged - seen and sent - seen; both bounds meet when every request was answered
        long lost = 0;
        long lostAtMost = 0;
        long above = 0;
        for (User user : users) {
            JsonNode counters = send(user, get("counters"));
            int adds = user.acknowledgedAdds.get();
            int decks = user.acknowledgedDeckChanges.get();
            int sentAdds = user.sentAdds.get();
            int sentDecks = user.sentDeckChanges.get();
            if (counters == null) {
                lost += adds + decks; // the session itself is gone
                lostAtMost += sentAdds + sentDecks;
                continue;
            }
            int seenAdds = counters.path("cardsAdded").asInt();
            int seenDecks = counters.path("deckChanges").asInt();
            lost += Math.max(0, adds - seenAdds) + Math.max(0, decks - seenDecks);
            lostAtMost += Math.max(0, sentAdds - seenAdds) + Math.max(0, sentDecks - seenDecks);
            above += Math.max(0, seenAdds - adds) + Math.max(0, seenDecks - decks);
        }

        // every card in its owner's database and no other
        long cross = 0;
        Map<String, Integer> found = new HashMap<>();
        try (UserDatabases dbs = new UserDatabases(databases);
                DirectoryStream<Path> files = Files.newDirectoryStream(databases, "user_*.db")) {
            for (Path file : files) {
                Matcher m = DB_FILE.matcher(file.getFileName().toString());
                if (!m.matches()) {
                    continue;
                }
                int holder = Integer.parseInt(m.group(1));
                List<UserDatabases.Card> cards;
                try {
                    cards = dbs.list(holder);
                } catch (SQLException e) { // a database the app created for a wrong user id
                    continue;
                }
                for (UserDatabases.Card card : cards) {
                    Matcher r = RID.matcher(card.requestId());
                    if (r.matches() && Integer.parseInt(r.group(1)) == holder) {
                        found.merge(card.requestId(), 1, Integer::sum);
                    } else {
                        cross++;
                    }
                }
            }
        }
        long missing = 0;
        for (User user : users) {
            for (Map.Entry<String, Integer> e : user.acknowledgedCards.entrySet()) {
                missing += Math.max(0, e.getValue() - found.getOrDefault(e.getKey(), 0));
            }
            for (Map.Entry<String, Integer> e : user.sentCards.entrySet()) {
                lostAtMost += Math.max(0, e.getValue() - found.getOrDefault(e.getKey(), 0));
            }
        }
        long acknowledged = 0;
        long sent = 0;
        for (User user : users) {
            acknowledged += user.acknowledgedAdds.get() + user.acknowledgedDeckChanges.get();
            sent += user.sentAdds.get() + user.sentDeckChanges.get();
        }
        return new Outcome(loadRequests, perWorkerLoad, seconds, acknowledged,
                percentile(sortedNanos, 0.50),
                percentile(sortedNanos, 0.99), lost, missing, cross, wrongUser.sum(),
                errors.sum(), above, List.copyOf(errorSamples), sent - acknowledged,
                Math.max(lost + missing, lostAtMost));
    }

    private static double percentile(long[] sorted, double p) {
        if (sorted.length == 0) {
            return 0;
        }
        int i = (int) Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1);
        return sorted[Math.max(0, i)] / 1e6;
    }

    private HttpRequest post(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30))
                .POST(HttpRequest.BodyPublishers.noBody()).build();
    }

    private HttpRequest get(String path) {
        return HttpRequest.newBuilder(base.resolve(path)).timeout(Duration.ofSeconds(30)).GET()
                .build();
    }

    static java.util.concurrent.ThreadFactory daemon(String name) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, name + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}
