package dev.latchkey.internal;

import dev.latchkey.LockTimeoutException;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The main class of the child JVMs that {@link ChildJvms} starts. Usage:
 * {@code ChildWorker MODE DIR ID ARGS...}; each mode is a static method below.
 *
 * <p>A child opens a store on DIR, warms up (class loading and the first commits take longer than
 * the contended work), prints {@value #READY}, waits for {@value #GO} on stdin, works, prints
 * {@code RESULT name value} lines and exits 0. Any exception exits 1 with its stack trace on
 * stderr. EOF on stdin (the parent died) ends the child.
 */
public final class ChildWorker {
    static final String READY = "READY";
    static final String GO = "GO";
    static final String RESULT = "RESULT";
    /** Sent to a {@code holdLock} child to make it release the lock and exit. */
    static final String RELEASE = "RELEASE";
    /** Sent to a {@code readConsistent} child when the writers are done. */
    static final String STOP = "STOP";

    private static final BufferedReader STDIN =
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));

    private ChildWorker() {
    }

    /**
     * Runs one mode.
     *
     * @param args mode, directory, session id, mode arguments
     */
    public static void main(String[] args) {
        int status = 0;
        try (SessionStore store = SessionStore.open(StoreConfig.builder(Path.of(args[1]))
                .lockTimeout(Duration.ofSeconds(20)).build())) {
            String id = args[2];
            switch (args[0]) {
                case "disjoint" -> disjoint(store, id, intArg(args, 3), intArg(args, 4));
                case "counter" -> counter(store, id, intArg(args, 3), intArg(args, 4));
                case "commitUntilGone" -> commitUntilGone(store, id, intArg(args, 3),
                        intArg(args, 4), intArg(args, 5));
                case "invalidateWhenBusy" -> invalidateWhenBusy(store, id, intArg(args, 3),
                        intArg(args, 4));
                case "rewrite" -> rewrite(store, id, intArg(args, 3), intArg(args, 4));
                case "readConsistent" -> readConsistent(store, id, intArg(args, 3),
                        intArg(args, 4));
                case "holdLock" -> holdLock(store, id);
                case "tryLock" -> tryLock(store, id, intArg(args, 3));
                case "openFresh" -> openFresh(store, Path.of(args[3]), intArg(args, 4));
                case "crashLoop" -> crashLoop(store, id.split(","), intArg(args, 3),
                        Long.parseLong(args[4]));
                case "changeIdLoop" -> changeIdLoop(store, id);
                case "sweepLoop" -> sweepLoop(store, intArg(args, 3));
                case "keepAlive" -> keepAlive(store, Path.of(args[1]), intArg(args, 3),
                        intArg(args, 4), intArg(args, 5), intArg(args, 6));
                default -> throw new IllegalArgumentException("unknown mode " + args[0]);
            }
        } catch (Throwable e) {
            e.printStackTrace();
            status = 1;
        }
        System.out.flush();
        System.exit(status);
    }

    // ---- modes ----

    /** Commit k (k &lt; commits) sets a fresh attribute {@code c<index>-<k>} = k and {@code c<index>-last} = k. */
    private static void disjoint(SessionStore store, String id, int index, int commits) {
        warmUp(store);
        awaitGo();
        int missing = 0;
        for (int k = 0; k < commits; k++) {
            Optional<Session> after = store.commit(id, store.change()
                    .set("c" + index + "-" + k, k).set("c" + index + "-last", k).build());
            if (after.isEmpty()) {
                missing++;
            }
        }
        result("missing", missing);
    }

    /** Each of {@code threads} threads increments attribute "n" {@code times} times. */
    private static void counter(SessionStore store, String id, int times, int threads)
            throws InterruptedException {
        warmUp(store);
        awaitGo();
        AtomicLong missing = new AtomicLong();
        List<Thread> workers = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < threads; t++) {
            Thread worker = new Thread(() -> {
                try {
                    for (int k = 0; k < times; k++) {
                        Optional<Session> after = store.update(id, "n",
                                v -> v == null ? 1 : (Integer) v + 1);
                        if (after.isEmpty()) {
                            missing.incrementAndGet();
                        }
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            });
            workers.add(worker);
            worker.start();
        }
        for (Thread worker : workers) {
            worker.join();
        }
        if (!failures.isEmpty()) {
            throw new IllegalStateException("a worker thread failed", failures.get(0));
        }
        result("missing", missing.get());
    }

    /**
     * Commits in a loop until a commit or find says the session is gone, then goes on for
     * {@code afterGone} more rounds; reports every commit or find that saw the session after that.
     * Gives up after {@code maxCommits} successful commits.
     */
    private static void commitUntilGone(SessionStore store, String id, int index, int afterGone,
            int maxCommits) {
        warmUp(store);
        awaitGo();
        int commits = 0;
        int roundsAfterGone = -1; // -1: not yet observed
        int resurrections = 0;
        String firstResurrection = "";
        for (int k = 0; roundsAfterGone < afterGone && commits < maxCommits; k++) {
            Optional<Session> after = store.commit(id,
                    store.change().set("c" + index, k).build());
            if (after.isPresent()) {
                commits++;
            }
            boolean gone = after.isEmpty();
            if (roundsAfterGone >= 0) {
                roundsAfterGone++;
                Optional<Session> found = store.find(id);
                if (after.isPresent() || found.isPresent()) {
                    if (resurrections++ == 0) {
                        firstResurrection = "round " + roundsAfterGone + " after gone: commit "
                                + after.map(ChildWorker::describe).orElse("empty") + ", find "
                                + found.map(ChildWorker::describe).orElse("empty");
                    }
                }
            } else if (gone) {
                roundsAfterGone = 0;
            }
        }
        result("commits", commits);
        result("observedGone", roundsAfterGone >= 0);
        result("resurrections", resurrections);
        result("firstResurrection", firstResurrection);
    }

    /**
     * Waits until the session's revision reaches {@code minRevision} (the others are busy
     * committing), invalidates it, then checks with {@code afterChecks} finds that it stays gone.
     */
    private static void invalidateWhenBusy(SessionStore store, String id, int minRevision,
            int afterChecks) {
        warmUp(store);
        awaitGo();
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        long revision = -1;
        while (revision < minRevision && System.nanoTime() < deadline) {
            revision = store.find(id).map(Session::revision).orElse(-2L);
            if (revision == -2L) {
                throw new IllegalStateException("the session vanished before it was invalidated");
            }
        }
        result("revisionAtInvalidate", revision);
        result("invalidated", store.invalidate(id));
        int resurrections = 0;
        for (int i = 0; i < afterChecks; i++) {
            if (store.find(id).isPresent()) {
                resurrections++;
            }
            Thread.yield();
        }
        result("resurrections", resurrections);
    }

    /** Commit k writes a=b=c=v and blob=blob(v), v = index * 1,000,000 + k. */
    private static void rewrite(SessionStore store, String id, int index, int commits) {
        warmUp(store);
        awaitGo();
        int missing = 0;
        for (int k = 0; k < commits; k++) {
            int v = index * 1_000_000 + k;
            if (store.commit(id, store.change().set("a", v).set("b", v).set("c", v)
                    .set("blob", blob(v)).build()).isEmpty()) {
                missing++;
            }
        }
        result("missing", missing);
    }

    /** The blob that goes with value v: its length and letter both depend on v. */
    static String blob(int v) {
        return String.valueOf((char) ('a' + v % 26)).repeat(1 + (v * 7919 & 0x7fffffff) % 6000);
    }

    /**
     * Reads the session in a tight loop, at least {@code minReads} times and until its revision
     * reaches {@code finalRevision} or {@value #STOP} comes on stdin; checks every read is one whole
     * state written by {@link #rewrite}.
     */
    private static void readConsistent(SessionStore store, String id, int minReads,
            int finalRevision) {
        warmUp(store);
        awaitGo();
        AtomicBoolean stop = stopOnStdin();
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        int reads = 0;
        int bad = 0;
        String firstBad = "";
        Set<Long> revisions = new HashSet<>();
        long revision = -1;
        while ((reads < minReads || revision < finalRevision && !stop.get())
                && System.nanoTime() < deadline) {
            reads++;
            Optional<Session> found = store.find(id);
            String problem = found.isEmpty() ? "no session" : inconsistency(found.get());
            if (problem != null) {
                if (bad++ == 0) {
                    firstBad = "read " + reads + ": " + problem;
                }
                continue;
            }
            revision = found.get().revision();
            revisions.add(revision);
        }
        result("reads", reads);
        result("bad", bad);
        result("firstBad", firstBad);
        result("distinctRevisions", revisions.size());
        result("lastRevision", revision);
    }

    private static String inconsistency(Session s) {
        Map<String, Object> attributes = s.attributes();
        if (!attributes.keySet().equals(Set.of("a", "b", "c", "blob"))) {
            return "attributes " + attributes.keySet() + " at revision " + s.revision();
        }
        Object a = attributes.get("a");
        if (!(a instanceof Integer) || !a.equals(attributes.get("b"))
                || !a.equals(attributes.get("c"))) {
            return "mixed a=" + a + " b=" + attributes.get("b") + " c=" + attributes.get("c")
                    + " at revision " + s.revision();
        }
        if (!blob((Integer) a).equals(attributes.get("blob"))) {
            return "blob of another state beside a=" + a + " at revision " + s.revision();
        }
        return null;
    }

    /**
     * After GO, opens stores on {@code count} fresh directories {@code base-0, base-1, ...} in turn,
     * each with its default key file (which the children race to create), and creates a session in
     * each; reports the ids as {@code created-i}.
     */
    private static void openFresh(SessionStore scratch, Path base, int count) {
        warmUp(scratch);
        awaitGo();
        for (int i = 0; i < count; i++) {
            Path dir = base.resolveSibling(base.getFileName() + "-" + i);
            try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
                result("created-" + i, store.create(store.change().set("i", i).build()).id());
            }
        }
    }

    /** Takes the lock, prints READY, and holds it until RELEASE or EOF on stdin. */
    private static void holdLock(SessionStore store, String id) throws IOException {
        try (SessionLock lock = store.lock(id)) {
            lock.session(); // touch it under the lock, as a unit of work would
            ready();
            for (String line = STDIN.readLine(); line != null && !line.equals(RELEASE);
                    line = STDIN.readLine()) {
                // keep holding
            }
        }
        result("released", true);
    }

    /** After GO, tries to lock within {@code timeoutMillis}; reports ACQUIRED or TIMEOUT. */
    private static void tryLock(SessionStore store, String id, int timeoutMillis) {
        store.find(id);
        ready();
        awaitGo();
        long start = System.nanoTime();
        String outcome;
        try (SessionLock lock = store.lock(id, Duration.ofMillis(timeoutMillis))) {
            outcome = lock.session().isPresent() ? "ACQUIRED" : "ACQUIRED_NO_SESSION";
        } catch (LockTimeoutException e) {
            outcome = "TIMEOUT";
        }
        result("outcome", outcome);
        result("millis", (System.nanoTime() - start) / 1_000_000);
    }

    /** Prefix of the acknowledgement lines of {@link #crashLoop}. */
    static final String ACK = "A";

    /**
     * Commits to a shared set of sessions in a tight loop until it is killed (it never stops by
     * itself), printing and flushing one line {@code A k ...} per operation only after the
     * operation returned, k = 0, 1, 2, ... (a gap would mean lost output, not a lost commit):
     * <ul>
     *   <li>{@code A k S s name k}: a commit set attribute {@code name} (written once:
     *       {@code w<index>_<k>}) of session number {@code s} to {@code k};</li>
     *   <li>{@code A k L s seq}: under {@link SessionStore#lock}, read counter {@code n}, committed
     *       {@code n + 1} together with {@code i<index> = seq}, the seq-th such increment of this
     *       child on that session (0, 1, 2, ...): on disk, {@code n} is exactly the sum over children of
     *       {@code i<index> + 1};</li>
     *   <li>{@code A k U s}: {@link SessionStore#update} incremented counter {@code u}.</li>
     * </ul>
     * A kill may land after an operation returned and before its line is out: at most one
     * operation per kill is on disk without an acknowledgement.
     */
    private static void crashLoop(SessionStore store, String[] ids, int index, long seed) {
        store.find(ids[0]); // load the classes; no more warm-up: start-up limits the kill rate
        ready();
        awaitGo();
        java.util.Random random = new java.util.Random(seed);
        int[] lockCounts = new int[ids.length];
        String mine = "i" + index;
        for (int k = 0; ; k++) {
            int s = random.nextInt(ids.length);
            String id = ids[s];
            int op = random.nextInt(10);
            String ack;
            if (op < 3) {
                String name = "w" + index + "_" + k;
                require(store.commit(id, store.change().set(name, k).build()), id);
                ack = "S " + s + " " + name + " " + k;
            } else if (op < 7) {
                int seq = lockCounts[s];
                try (SessionLock lock = store.lock(id)) {
                    Session now = require(lock.session(), id);
                    Object n = now.attribute("n");
                    require(lock.commit(store.change().basedOn(now)
                            .set("n", n == null ? 1 : (Integer) n + 1).set(mine, seq).build()), id);
                }
                lockCounts[s] = seq + 1;
                ack = "L " + s + " " + seq;
            } else {
                require(store.update(id, "u", v -> v == null ? 1 : (Integer) v + 1), id);
                ack = "U " + s;
            }
            System.out.println(ACK + " " + k + " " + ack);
            System.out.flush();
        }
    }

    private static Session require(Optional<Session> session, String id) {
        return session.orElseThrow(() -> new IllegalStateException("a shared session is gone: "
                + id.substring(0, 6)));
    }

    /**
     * After GO, prints MOVING and moves the session to a new id again and again, until it is
     * killed (the parent kills it at a random instant, most likely inside a changeId).
     */
    private static void changeIdLoop(SessionStore store, String id) {
        Session scratch = store.create(store.change().set("warm", 0).build());
        String warm = scratch.id();
        for (int i = 0; i < 50; i++) {
            warm = store.changeId(warm).orElseThrow().id();
        }
        store.invalidate(warm);
        ready();
        awaitGo();
        System.out.println("MOVING");
        System.out.flush();
        String current = id;
        while (true) {
            current = store.changeId(current)
                    .orElseThrow(() -> new IllegalStateException("the session vanished")).id();
        }
    }

    /** Sweeps with the given limit in a loop until {@value #STOP} (or EOF) on stdin. */
    private static void sweepLoop(SessionStore store, int limit) {
        warmUp(store);
        awaitGo();
        AtomicBoolean stop = stopOnStdin();
        long rounds = 0;
        long removed = 0;
        long examined = 0;
        long skipped = 0;
        while (!stop.get()) {
            dev.latchkey.SweepResult result = store.sweep(limit);
            rounds++;
            removed += result.removed();
            examined += result.examined();
            skipped += result.skipped();
            if (!result.more()) {
                Thread.onSpinWait();
            }
        }
        result("rounds", rounds);
        result("removed", removed);
        result("examined", examined);
        result("skipped", skipped);
    }

    /**
     * Keeps {@code kept} sessions alive for {@code millis} by touching each of them in rounds, with
     * a max-inactive interval of {@code intervalMillis}; each round also creates 4 sessions that it
     * abandons (half that interval) until there are {@code abandoned}, and plants a stale expiry
     * marker for one kept session in a due bucket, so that a sweeper examines live sessions too.
     * A commit that finds a kept session gone is a loss, unless this process itself let more than
     * the interval pass since its last touch (a stalled machine; reported apart as excused).
     */
    private static void keepAlive(SessionStore store, Path dir, int kept, int abandoned,
            int intervalMillis, int millis) throws IOException, InterruptedException {
        warmUp(store);
        awaitGo();
        Duration interval = Duration.ofMillis(intervalMillis);
        List<String> ids = new ArrayList<>();
        long[] lastTouch = new long[kept];
        boolean[] tracked = new boolean[kept];
        for (int i = 0; i < kept; i++) {
            ids.add(store.create(store.change().maxInactiveInterval(interval).build()).id());
            lastTouch[i] = System.nanoTime();
            tracked[i] = true;
        }
        List<String> left = new ArrayList<>();
        Layout layout = new Layout(dir);
        java.util.Random random = new java.util.Random();
        long end = System.nanoTime() + Duration.ofMillis(millis).toNanos();
        long margin = Duration.ofMillis(intervalMillis).toNanos() * 9 / 10;
        int lost = 0;
        int excused = 0;
        int commits = 0;
        int planted = 0;
        String firstLoss = "";
        while (System.nanoTime() < end) {
            for (int i = 0; i < kept; i++) {
                if (!tracked[i]) {
                    continue;
                }
                long before = System.nanoTime();
                Optional<Session> after = store.commit(ids.get(i),
                        store.change().touch().set("n", commits).build());
                if (after.isPresent()) {
                    commits++;
                    lastTouch[i] = before;
                } else if (before - lastTouch[i] < margin) {
                    if (lost++ == 0) {
                        firstLoss = "session " + i + " gone " + (before - lastTouch[i]) / 1_000_000
                                + " ms after its last touch";
                    }
                    tracked[i] = false;
                } else {
                    excused++;
                    tracked[i] = false;
                }
            }
            for (int k = 0; k < 4 && left.size() < abandoned; k++) {
                left.add(store.create(store.change().maxInactiveInterval(interval.dividedBy(2))
                        .build()).id());
            }
            String victim = ids.get(random.nextInt(kept));
            Path marker = layout.expiry().resolve(Long.toString(System.currentTimeMillis() - 1_000))
                    .resolve(victim);
            try {
                Files.createDirectories(marker.getParent());
                Files.createFile(marker);
                planted++;
            } catch (java.nio.file.NoSuchFileException | java.nio.file.FileAlreadyExistsException
                    e) {
                // the sweeper removed the bucket meanwhile, or this round planted it already
            }
            Thread.sleep(20); // pacing: a round every ~20 ms, far within the interval
        }
        int missingAtEnd = 0;
        for (int i = 0; i < kept; i++) {
            if (tracked[i] && store.find(ids.get(i)).isEmpty()) {
                missingAtEnd++;
            }
        }
        result("lost", lost);
        result("firstLoss", firstLoss);
        result("excused", excused);
        result("missingAtEnd", missingAtEnd);
        result("commits", commits);
        result("planted", planted);
        result("abandoned", String.join(",", left));
    }

    /** Sets the flag when {@value #STOP} or EOF comes on stdin. */
    private static AtomicBoolean stopOnStdin() {
        AtomicBoolean stop = new AtomicBoolean();
        Thread stopper = new Thread(() -> {
            try {
                for (String line = STDIN.readLine(); line != null && !line.equals(STOP);
                        line = STDIN.readLine()) {
                    // wait
                }
            } catch (IOException e) {
                // the parent is gone: stop as well
            }
            stop.set(true);
        }, "stop-listener");
        stopper.setDaemon(true);
        stopper.start();
        return stop;
    }

    // ---- plumbing ----

    /** Loads and compiles the commit and read paths on a scratch session, then prints READY. */
    private static void warmUp(SessionStore store) {
        Session scratch = store.create(store.change().set("warm", 0).build());
        for (int i = 0; i < 30; i++) {
            store.commit(scratch.id(), store.change().set("warm", i).build());
            store.update(scratch.id(), "warm", v -> v);
            store.find(scratch.id());
        }
        store.invalidate(scratch.id());
        ready();
    }

    private static void ready() {
        System.out.println(READY);
        System.out.flush();
    }

    private static void awaitGo() {
        try {
            for (String line = STDIN.readLine(); line != null; line = STDIN.readLine()) {
                if (line.equals(GO)) {
                    return;
                }
            }
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        throw new IllegalStateException("stdin closed before GO: the parent is gone");
    }

    private static void result(String name, Object value) {
        System.out.println(RESULT + " " + name + " " + value);
        System.out.flush();
    }

    private static String describe(Session s) {
        return "revision " + s.revision() + " " + s.attributeNames();
    }

    private static int intArg(String[] args, int index) {
        return Integer.parseInt(args[index]);
    }
}
