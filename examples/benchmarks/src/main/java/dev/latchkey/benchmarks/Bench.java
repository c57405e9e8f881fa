package dev.latchkey.benchmarks;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.ChainedOptionsBuilder;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;
import org.openjdk.jmh.util.Statistics;

/**
 * The whole comparison: workloads 1-4 of docs/performance.md, one table each, every figure also
 * as a ratio against Latchkey measured in the same run. Run it with
 * {@code examples/benchmarks/bench.sh [--quick|--long]}, or {@code java -jar
 * examples/benchmarks/target/latchkey-benchmarks.jar [flags]} after a build.
 * <p>Exit status: 0; 1 if Latchkey lost an update or failed a request where it guarantees none is
 * lost; 2 for bad flags. A missed speed target is reported, not an error (shared machines are
 * noisy).
 */
public final class Bench {

    /** How long each figure is measured. */
    enum Mode {
        /** A few iterations, for the build's smoke test: proves the harness works, measures nothing. */
        SMOKE(0, 0, 0, 1, 100, new int[] {100, 1_000}, 200, 50, 250),
        /** Under a minute: short iterations in one JVM; 1,000 and 10,000 sessions on disk. */
        QUICK(0, 1, 300, 1, 700, new int[] {1_000, 10_000}, 1_000, 200, 700),
        /** The default: a few minutes; each store in its own forked JVM. */
        FULL(1, 2, 1000, 3, 1000, new int[] {1_000, 100_000}, 10_000, 500, 2000),
        /** FULL plus 1,000,000 sessions on disk (needs ~5 GB of disk and a long while). */
        LONG(1, 2, 1000, 3, 1000, new int[] {1_000, 100_000, 1_000_000}, 10_000, 500, 2000);

        final int forks;
        final int warmups;
        final int warmupMillis;
        final int iterations;
        final int iterationMillis;
        final int[] scale;
        final int contentionSessions;
        final int contentionWarmupMillis;
        final int contentionMillis;

        Mode(int forks, int warmups, int warmupMillis, int iterations, int iterationMillis,
                int[] scale, int contentionSessions, int contentionWarmupMillis,
                int contentionMillis) {
            this.forks = forks;
            this.warmups = warmups;
            this.warmupMillis = warmupMillis;
            this.iterations = iterations;
            this.iterationMillis = iterationMillis;
            this.scale = scale;
            this.contentionSessions = contentionSessions;
            this.contentionWarmupMillis = contentionWarmupMillis;
            this.contentionMillis = contentionMillis;
        }
    }

    /** What to run; from the command line. */
    static final class Options {
        Mode mode = Mode.FULL;
        Path dir;
        /** "auto" (start redis-server if it is on the PATH), "none", or host:port. */
        String redis = "auto";
        /**
         * Whether the Redis of {@code --redis=HOST:PORT} was started for this run (bench.sh passes
         * {@code --redis-owned}): only then is its configuration changed (workload 2).
         */
        boolean redisOwned;
        /** 1-4 as in docs/performance.md; 5 alone is workload 4's sweep (4 includes it). */
        Set<Integer> workloads = new LinkedHashSet<>(List.of(1, 2, 3, 4));
        boolean profile;

        static Options parse(String... args) {
            Options o = new Options();
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                switch (kv[0]) {
                    case "--quick":
                        o.mode = Mode.QUICK;
                        break;
                    case "--long":
                        o.mode = Mode.LONG;
                        break;
                    case "--smoke":
                        o.mode = Mode.SMOKE;
                        break;
                    case "--profile":
                        o.profile = true;
                        break;
                    case "--dir":
                        o.dir = Path.of(value(kv, arg));
                        break;
                    case "--redis":
                        o.redis = value(kv, arg);
                        break;
                    case "--redis-owned":
                        o.redisOwned = true;
                        break;
                    case "--workloads":
                        o.workloads = new LinkedHashSet<>();
                        for (String w : value(kv, arg).split(",")) {
                            o.workloads.add(Integer.parseInt(w.trim()));
                        }
                        break;
                    default:
                        throw new IllegalArgumentException("unknown flag " + arg);
                }
            }
            return o;
        }

        private static String value(String[] kv, String arg) {
            if (kv.length < 2 || kv[1].isEmpty()) {
                throw new IllegalArgumentException(arg + " needs a value: " + kv[0] + "=...");
            }
            return kv[1];
        }
    }

    /** Every table of a run, and whether Latchkey kept every update it guarantees. */
    record Report(Map<Integer, Table> tables, boolean redisMeasured, List<String> latchkeyFailures) {
    }

    private Bench() {
    }

    /**
     * Runs the comparison and prints the tables on standard output.
     * @param args flags: {@code --quick}, {@code --long}, {@code --dir=PATH}, {@code
     *     --redis=HOST:PORT|none}, {@code --redis-owned}, {@code --workloads=1,2,3,4},
     *     {@code --profile}
     * @throws Exception if a store or the harness fails
     */
    public static void main(String[] args) throws Exception {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println(e.getMessage());
            System.err.println("flags: --quick | --long, --dir=PATH, --redis=HOST:PORT|none, "
                    + "--redis-owned, --workloads=1,2,3,4, --profile");
            System.exit(2);
            return;
        }
        Report report = run(options, System.out);
        if (!report.latchkeyFailures().isEmpty()) {
            System.out.println("LATCHKEY FAILED: " + report.latchkeyFailures());
            System.exit(1);
        }
    }

    /** Runs the workloads the options name, printing progress and each table as it is done. */
    static Report run(Options o, PrintStream out) throws Exception {
        Path root = o.dir != null
                ? Files.createDirectories(o.dir.resolve("run-" + LocalDateTime.now().format(
                        DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss"))))
                : Files.createTempDirectory("latchkey-bench-");
        Map<Integer, Table> tables = new HashMap<>();
        List<String> failures = new ArrayList<>();
        RedisServer started = null;
        try {
            String redis = "-";
            String redisNote = null;
            boolean redisOwned = false;
            if (o.redis.equals("auto")) {
                Optional<Path> exe = RedisServer.executable();
                if (exe.isPresent()) {
                    started = RedisServer.start(exe.get(), root.resolve("redis"));
                    redis = started.address();
                    redisOwned = true;
                } else {
                    redisNote = "redis-server is not on the PATH: no Redis rows (bench.sh installs it)";
                }
            } else if (!o.redis.equals("none")) {
                redis = o.redis;
                redisOwned = o.redisOwned;
            } else {
                redisNote = "--redis=none: no Redis rows";
            }
            header(out, o, root, redis, redisOwned, redisNote);
            if (o.workloads.contains(1)) {
                tables.put(1, requestCost(o, root, redis, out));
            }
            if (o.workloads.contains(2)) {
                tables.put(2, durable(o, root, redis, redisOwned, out));
            }
            if (o.workloads.contains(3)) {
                tables.put(3, contention(o, root, redis, out, failures));
            }
            if (o.workloads.contains(4)) {
                tables.put(4, scale(o, root, redis, out));
            }
            if (o.workloads.contains(4) || o.workloads.contains(5)) {
                tables.put(5, sweep(o, root, out));
            }
            if (o.profile) {
                Profile.latchkeyRequest(root, o.mode.iterationMillis * 5, out);
            }
            out.println();
            out.printf(Locale.ROOT, "done; load average now %s%n", loadAverage());
            return new Report(tables, !redis.equals("-"), failures);
        } finally {
            if (started != null) {
                started.close();
            }
            if (o.dir == null) {
                Contenders.deleteTree(root);
            }
        }
    }

    private static void header(PrintStream out, Options o, Path root, String redis,
            boolean redisOwned, String note) throws IOException {
        out.printf(Locale.ROOT, "Latchkey benchmarks (%s mode): %d cores, Java %s, %s %s, %s file "
                + "system at %s%n", o.mode.name().toLowerCase(Locale.ROOT),
                Runtime.getRuntime().availableProcessors(), System.getProperty("java.version"),
                System.getProperty("os.name"), System.getProperty("os.version"),
                Files.getFileStore(root).type(), root);
        out.printf(Locale.ROOT, "load average at start: %s; Redis: %s%n", loadAverage(),
                redis.equals("-") ? note : redis + " (" + (redisOwned ? "started for this run"
                        : "given with --redis, not reconfigured") + "; " + persistence(root, redis)
                        + ")");
        out.println("session: 10 attributes, ~1 KiB; times in microseconds; ratios against "
                + "Latchkey in the same run (x > 1: more time, or more ops/s)");
    }

    /** The server's persistence settings as CONFIG GET reports them. */
    private static String persistence(Path root, String redis) {
        try (RedisContender admin = (RedisContender) Contenders.open(Contenders.REDIS, root,
                false, redis, "admin")) {
            return "CONFIG GET: appendonly " + admin.config("appendonly") + ", appendfsync "
                    + admin.config("appendfsync") + ", save '" + admin.config("save") + "'";
        } catch (Exception e) {
            return "CONFIG GET failed: " + e;
        }
    }

    private static String loadAverage() {
        try {
            String[] f = Files.readString(Path.of("/proc/loadavg"), StandardCharsets.US_ASCII)
                    .trim().split("\\s+");
            return f[0] + " " + f[1] + " " + f[2];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    // ---------------------------------------------------------------- workloads 1, 2, 4 (JMH)

    /** Percentiles of one JMH trial, keyed by "store/sessions". */
    private static Map<String, Statistics> jmh(Options o, Path root, String redis, List<String> stores,
            boolean synced, int[] sessions, PrintStream out, String what) throws Exception {
        String[] counts = Arrays.stream(sessions).mapToObj(Integer::toString).toArray(String[]::new);
        out.printf(Locale.ROOT, "%s: %s x %s sessions ...%n", what, stores, String.join("/", counts));
        Path log = root.resolve("jmh.log");
        ChainedOptionsBuilder jmh = new OptionsBuilder()
                .include(Pattern.quote(RequestBenchmark.class.getName()) + "\\.request$")
                .param("store", stores.toArray(new String[0]))
                .param("synced", Boolean.toString(synced))
                .param("sessions", counts)
                .param("directory", root.resolve("jmh").toString())
                .param("redis", redis)
                .forks(o.mode.forks)
                .warmupIterations(o.mode.warmups)
                .warmupTime(TimeValue.milliseconds(Math.max(1, o.mode.warmupMillis)))
                .measurementIterations(o.mode.iterations)
                .measurementTime(TimeValue.milliseconds(o.mode.iterationMillis))
                .shouldFailOnError(true)
                .output(log.toString());
        Collection<RunResult> results = new Runner(jmh.build()).run();
        Map<String, Statistics> byStore = new HashMap<>();
        for (RunResult r : results) {
            byStore.put(r.getParams().getParam("store") + "/" + r.getParams().getParam("sessions"),
                    r.getPrimaryResult().getStatistics());
        }
        if (byStore.size() != stores.size() * sessions.length) {
            throw new IllegalStateException("JMH measured " + byStore.keySet() + " of " + stores
                    + " x " + Arrays.toString(counts) + "; see " + log);
        }
        return byStore;
    }

    private static List<String> stores(String redis, String... names) {
        List<String> list = new ArrayList<>(List.of(names));
        if (redis.equals("-")) {
            list.remove(Contenders.REDIS);
        }
        return list;
    }

    private static Table requestCost(Options o, Path root, String redis, PrintStream out)
            throws Exception {
        List<String> stores = stores(redis, Contenders.FLOOR, Contenders.FLOOR_READ,
                Contenders.LATCHKEY, Contenders.TOMCAT, Contenders.JETTY, Contenders.NAIVE,
                Contenders.REDIS);
        Map<String, Statistics> s = jmh(o, root, redis, stores, false, new int[] {1}, out,
                "workload 1, request cost");
        Table t = latencyTable("Workload 1: request cost (find, read 1 attribute, set 1, commit), "
                + "1 thread, 1 session", stores, s, "1", null);
        t.note("floor+read: the floor plus the lock-free read of the session that a request does "
                + "before it commits (Latchkey's find)");
        double latchkey = p(s, Contenders.LATCHKEY + "/1", 50);
        double floor = p(s, Contenders.FLOOR + "/1", 50);
        target(t, "latchkey p50 vs floor", latchkey / floor, "<= 1.50x", latchkey / floor <= 1.5);
        double latchkey99 = p(s, Contenders.LATCHKEY + "/1", 99);
        target(t, "latchkey p99 vs floor", latchkey99 / p(s, Contenders.FLOOR + "/1", 99),
                "<= 1.50x", latchkey99 / p(s, Contenders.FLOOR + "/1", 99) <= 1.5);
        if (stores.contains(Contenders.REDIS)) {
            double r = p(s, Contenders.REDIS + "/1", 50) / latchkey;
            target(t, "redis p50 vs latchkey", r, ">= 2.00x", r >= 2);
        }
        t.print(out);
        return t;
    }

    private static Table durable(Options o, Path root, String redis, boolean redisOwned,
            PrintStream out) throws Exception {
        List<String> stores = stores(redis, Contenders.FLOOR, Contenders.LATCHKEY,
                Contenders.REDIS);
        String skipped = null;
        if (stores.contains(Contenders.REDIS) && !redisOwned) {
            stores.remove(Contenders.REDIS);
            skipped = "redis: not measured: workload 2 turns on appendonly/appendfsync always, and "
                    + "the harness reconfigures only a Redis started for this run (by itself or "
                    + "bench.sh, which passes --redis-owned), not one given with --redis";
            out.println("  " + skipped);
        }
        Map<String, Statistics> s;
        if (stores.contains(Contenders.REDIS)) {
            try (RedisContender admin = (RedisContender) Contenders.open(Contenders.REDIS, root,
                    false, redis, "admin")) {
                admin.configure("appendfsync", "always");
                admin.configure("appendonly", "yes");
                waitForAof(admin);
                out.println("  redis for workload 2: appendonly " + admin.config("appendonly")
                        + ", appendfsync " + admin.config("appendfsync") + " (CONFIG GET)");
                try {
                    s = jmh(o, root, redis, stores, true, new int[] {1}, out,
                            "workload 2, request cost with fsync");
                } finally {
                    admin.configure("appendonly", "no");
                }
            }
        } else {
            s = jmh(o, root, redis, stores, true, new int[] {1}, out,
                    "workload 2, request cost with fsync");
        }
        Table t = latencyTable("Workload 2: request cost with fsync (floor and Latchkey: file "
                + "and directory forced per commit; Redis: AOF with appendfsync always)", stores, s,
                "1", "no fsync option");
        t.note("tomcat, jetty, naive: no option to force a commit to disk; not measured");
        if (skipped != null) {
            t.note(skipped);
        }
        t.print(out);
        return t;
    }

    private static void waitForAof(RedisContender admin) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (System.nanoTime() < deadline) {
            if ("1".equals(admin.info("persistence", "aof_enabled"))
                    && "0".equals(admin.info("persistence", "aof_rewrite_in_progress"))) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("Redis did not turn on its append-only file within 30 s");
    }

    private static Table scale(Options o, Path root, String redis, PrintStream out)
            throws Exception {
        List<String> stores = stores(redis, Contenders.FLOOR, Contenders.LATCHKEY,
                Contenders.TOMCAT, Contenders.JETTY, Contenders.REDIS);
        Map<String, Statistics> s = jmh(o, root, redis, stores, false, o.mode.scale, out,
                "workload 4, request cost by sessions on disk");
        Table t = new Table("Workload 4: request cost with many sessions on disk (each request on "
                + "a random one), 1 thread", "sessions", "store", "p50 us", "p99 us",
                "p50 vs latchkey", "p99 vs latchkey");
        for (int n : o.mode.scale) {
            double l50 = p(s, Contenders.LATCHKEY + "/" + n, 50);
            double l99 = p(s, Contenders.LATCHKEY + "/" + n, 99);
            for (String store : stores) {
                double p50 = p(s, store + "/" + n, 50);
                double p99 = p(s, store + "/" + n, 99);
                t.add(String.format(Locale.ROOT, "%,d", n), store, Table.number(p50),
                        Table.number(p99), Table.ratio(p50, l50), Table.ratio(p99, l99));
            }
        }
        t.print(out);
        return t;
    }

    private static Table sweep(Options o, Path root, PrintStream out) throws Exception {
        out.println("workload 4, sweep of expired sessions among live ones ...");
        Table t = new Table("Workload 4: sweep, Latchkey's SessionStore.sweep(1000) called until "
                + "nothing more is due, N expired sessions among live ones", "live", "expired",
                "sweep ms", "us per expired", "removed", "calls");
        for (int live : o.mode.scale) {
            Sweep.measure(t, root, live, Math.max(100, live / 10));
        }
        t.note("latchkey only: Tomcat's StoreBase.processExpires loads every stored session, Jetty's "
                + "sweep lists the whole directory, Redis expires keys itself (see "
                + "docs/performance.md)");
        t.print(out);
        return t;
    }

    private static Table latencyTable(String title, List<String> stores, Map<String, Statistics> s,
            String sessions, String absentText) {
        Table t = new Table(title, "store", "p50 us", "p99 us", "p50 vs latchkey",
                "p99 vs latchkey", "samples");
        double l50 = p(s, Contenders.LATCHKEY + "/" + sessions, 50);
        double l99 = p(s, Contenders.LATCHKEY + "/" + sessions, 99);
        for (String store : stores) {
            Statistics st = s.get(store + "/" + sessions);
            double p50 = st.getPercentile(50);
            double p99 = st.getPercentile(99);
            t.add(store, Table.number(p50), Table.number(p99), Table.ratio(p50, l50),
                    Table.ratio(p99, l99), String.format(Locale.ROOT, "%,d", st.getN()));
        }
        if (absentText != null) {
            for (String store : List.of(Contenders.TOMCAT, Contenders.JETTY, Contenders.NAIVE)) {
                t.add(store, absentText, "-", "-", "-", "-");
            }
        }
        return t;
    }

    private static double p(Map<String, Statistics> s, String key, double percentile) {
        Statistics st = s.get(key);
        return st == null ? Double.NaN : st.getPercentile(percentile);
    }

    private static void target(Table t, String what, double ratio, String target, boolean met) {
        t.note(String.format(Locale.ROOT, "target: %s %.2fx (%s): %s", what, ratio, target,
                met ? "met" : "MISSED"));
    }

    // ---------------------------------------------------------------- workload 3 (processes)

    private static Table contention(Options o, Path root, String redis, PrintStream out,
            List<String> failures) throws Exception {
        int processes = 3;
        int threads = 2;
        List<String> stores = stores(redis, Contenders.LATCHKEY, Contenders.TOMCAT,
                Contenders.JETTY, Contenders.NAIVE, Contenders.REDIS);
        out.printf(Locale.ROOT, "workload 3, contention: %d JVMs x %d threads, %s ...%n",
                processes, threads, stores);
        Table t = new Table(String.format(Locale.ROOT, "Workload 3: contention, %d JVMs x %d "
                + "threads, %.1f s per row (after %.1f s warm-up); every acknowledged increment "
                + "checked at the end", processes, threads, o.mode.contentionMillis / 1000.0,
                o.mode.contentionWarmupMillis / 1000.0),
                "sessions", "attributes", "store", "op", "ops/s", "ops/s vs latchkey", "acked",
                "lost", "extra", "errors");
        Map<String, Map<String, Long>> errorsSeen = new TreeMap<>();
        try (Contention c = Contention.start(root.resolve("contention"), redis, processes, threads,
                o.mode.contentionWarmupMillis, o.mode.contentionMillis)) {
            if (o.mode != Mode.SMOKE) {
                out.println("  (one unreported run per store first, so that no store is measured "
                        + "with cold JIT)");
                for (String store : stores) {
                    c.warmUp(new Contention.Config(store, 1, true, false), out);
                }
            }
            for (int sessions : new int[] {1, o.mode.contentionSessions}) {
                for (boolean distinct : new boolean[] {true, false}) {
                    List<Contention.Config> configs = new ArrayList<>();
                    for (String store : stores) {
                        if (store.equals(Contenders.LATCHKEY) && !distinct) {
                            configs.add(new Contention.Config(store, sessions, false, true));
                        }
                        configs.add(new Contention.Config(store, sessions, distinct, false));
                    }
                    double base = Double.NaN;
                    for (Contention.Config config : configs) {
                        Contention.Outcome r = c.run(config, out);
                        if (config.store().equals(Contenders.LATCHKEY)
                                && (distinct || config.atomic())) {
                            base = r.opsPerSecond();
                            if (r.lost() != 0 || r.extra() != 0 || r.errors() != 0) {
                                failures.add(String.format(Locale.ROOT, "%d sessions, %s: lost %d,"
                                        + " extra %d, errors %d (%s)", sessions, config.op(),
                                        r.lost(), r.extra(), r.errors(), r.errorKinds()));
                            }
                        }
                        t.add(sessions == 1 ? "1 (hot)" : String.format(Locale.ROOT, "%,d",
                                sessions), distinct ? "own per thread" : "one counter",
                                config.store(), config.op(), Table.number(r.opsPerSecond()),
                                Table.ratio(r.opsPerSecond(), base), r.acked(), r.lost(),
                                r.extra(), r.errors());
                        Map<String, Long> seen = errorsSeen.computeIfAbsent(config.store(),
                                k -> new TreeMap<>());
                        r.errorKinds().forEach((k, n) -> seen.merge(k, n, Long::sum));
                    }
                }
            }
        }
        t.note("own per thread: each thread increments its own attribute (find/load, +1, plain "
                + "commit/save); one counter: every thread increments the same attribute");
        t.note("lost: increments a counter is short of its acknowledged total; extra: increments "
                + "it is over it (applied, not acknowledged); counted per counter, not netted");
        t.note("latchkey find+commit on one counter is a plain read-modify-write: the later commit "
                + "wins (use update or a SessionLock); it is shown, not counted as a failure");
        for (Map.Entry<String, Map<String, Long>> e : errorsSeen.entrySet()) {
            if (!e.getValue().isEmpty()) {
                StringBuilder b = new StringBuilder();
                e.getValue().forEach((k, n) -> b.append(b.length() == 0 ? "" : ", ").append(k)
                        .append(String.format(Locale.ROOT, " %,d", n)));
                t.note("errors of " + e.getKey() + " (all rows): " + b);
            }
        }
        t.print(out);
        return t;
    }

}
