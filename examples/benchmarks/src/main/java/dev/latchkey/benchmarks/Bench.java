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
 * <p>Exit status: 0; 1 if Latchkey failed a check (lost, applied unacknowledged or failed an
 * update where it guarantees none, or a request that did not do its work); 2 for bad flags; 3 for
 * a harness error (the cause on standard error). A missed speed target is reported, not an error
 * (shared machines are noisy).
 */
public final class Bench {

    /** How long each figure is measured. */
    enum Mode {
        /** A few iterations, for the build's smoke test: proves the harness works, judges nothing. */
        SMOKE(0, 0, 0, 1, 100, new int[] {100, 1_000}, 200, 50, 250, 2, false),
        /**
         * Under a minute: workloads 1-3 unless others are named, each store in its own forked JVM,
         * short iterations, smaller sizes; judges no target either (0.2 s of warm-up is too little
         * to call one met or missed).
         */
        QUICK(1, 1, 200, 1, 500, new int[] {1_000, 10_000}, 1_000, 100, 300, 3, false),
        /** The default: about 9 minutes on a quiet 2-core machine; each store in its own forked JVM. */
        FULL(1, 2, 1000, 3, 1000, new int[] {1_000, 100_000}, 10_000, 500, 2000, 3, true),
        /** FULL plus 1,000,000 sessions on disk (needs ~5 GB of disk and a long while). */
        LONG(1, 2, 1000, 3, 1000, new int[] {1_000, 100_000, 1_000_000}, 10_000, 500, 2000, 3,
                true);

        final int forks;
        final int warmups;
        final int warmupMillis;
        final int iterations;
        final int iterationMillis;
        final int[] scale;
        final int contentionSessions;
        final int contentionWarmupMillis;
        final int contentionMillis;
        /** Timed sweeps per row (the table shows their median). */
        final int sweepRuns;
        /** Whether speed targets are judged at all (never on a smoke or quick run). */
        final boolean judged;

        Mode(int forks, int warmups, int warmupMillis, int iterations, int iterationMillis,
                int[] scale, int contentionSessions, int contentionWarmupMillis,
                int contentionMillis, int sweepRuns, boolean judged) {
            this.forks = forks;
            this.warmups = warmups;
            this.warmupMillis = warmupMillis;
            this.iterations = iterations;
            this.iterationMillis = iterationMillis;
            this.scale = scale;
            this.contentionSessions = contentionSessions;
            this.contentionWarmupMillis = contentionWarmupMillis;
            this.contentionMillis = contentionMillis;
            this.sweepRuns = sweepRuns;
            this.judged = judged;
        }
    }

    /**
     * The fewest samples of every store a target compares before it is judged: below this a p99
     * rests on a handful of requests, and "met" or "MISSED" would be noise.
     */
    static final long MIN_SAMPLES = 1_000;

    /** Every flag of the harness, as {@code --help} prints it. */
    static final String USAGE = String.join("\n",
            "usage: java -jar examples/benchmarks/target/latchkey-benchmarks.jar [flags]",
            "       (examples/benchmarks/bench.sh [flags] builds the jar and starts Redis first)",
            "  --quick              under a minute: workloads 1-3 (unless --workloads says otherwise),",
            "                       short iterations, 1,000 sessions; judges no target",
            "  --long               the default run plus 1,000,000 sessions on disk (~5 GB, long)",
            "  --smoke              a few tiny iterations, judges no target (the build's smoke test)",
            "  --workloads=1,2,3,4  run only these workloads (5: only workload 4's sweep)",
            "  --profile            also record Latchkey's request under JFR and summarise it",
            "  --dir=PATH           keep the run's logs (JMH, workers, JFR) under PATH/run-DATE-UNIQUE/;",
            "                       each workload deletes its sessions (default: a temporary",
            "                       directory, deleted at the end and on SIGTERM/SIGINT)",
            "  --redis=HOST:PORT    use this Redis (not reconfigured unless --redis-owned)",
            "  --redis=none         no Redis rows (default: start redis-server if it is on the PATH)",
            "  --redis-owned        the --redis server was started for this run: workload 2 may",
            "                       turn on its append-only file",
            "  --help               print this and exit",
            "exit status: 0; 1 if Latchkey failed a check (lost or failed an update it guarantees);",
            "  2 for bad flags; 3 for a harness error (the cause on standard error)");

    /** What to run; from the command line. */
    static final class Options {
        Mode mode = Mode.FULL;
        /** The flag that set {@link #mode}, or null for the default. */
        private String modeFlag;
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
        /** Whether --workloads was given (else --quick leaves out workload 4). */
        boolean workloadsGiven;
        boolean profile;
        boolean help;

        /**
         * Parses the flags of {@link #USAGE}.
         * @throws IllegalArgumentException for an unknown flag or a bad value
         */
        static Options parse(String... args) {
            Options o = new Options();
            for (String arg : args) {
                String[] kv = arg.split("=", 2);
                switch (kv[0]) {
                    case "--quick":
                        noValue(kv, arg);
                        o.mode(Mode.QUICK, arg);
                        break;
                    case "--long":
                        noValue(kv, arg);
                        o.mode(Mode.LONG, arg);
                        break;
                    case "--smoke":
                        noValue(kv, arg);
                        o.mode(Mode.SMOKE, arg);
                        break;
                    case "--profile":
                        noValue(kv, arg);
                        o.profile = true;
                        break;
                    case "--help":
                    case "-h":
                        noValue(kv, arg);
                        o.help = true;
                        break;
                    case "--dir":
                        o.dir = Path.of(value(kv, arg));
                        break;
                    case "--redis":
                        o.redis = value(kv, arg);
                        if (!o.redis.equals("none") && !o.redis.equals("auto")
                                && (!o.redis.matches(".+:[0-9]{1,5}") || Integer.parseInt(
                                        o.redis.substring(o.redis.lastIndexOf(':') + 1)) < 1
                                || Integer.parseInt(o.redis.substring(
                                        o.redis.lastIndexOf(':') + 1)) > 65_535)) {
                            throw new IllegalArgumentException("--redis takes HOST:PORT (port "
                                    + "1-65535), none or auto: " + arg);
                        }
                        break;
                    case "--redis-owned":
                        noValue(kv, arg);
                        o.redisOwned = true;
                        break;
                    case "--workloads":
                        o.workloadsGiven = true;
                        o.workloads = new LinkedHashSet<>();
                        for (String w : value(kv, arg).split(",")) {
                            int n;
                            try {
                                n = Integer.parseInt(w.trim());
                            } catch (NumberFormatException e) {
                                n = 0;
                            }
                            if (n < 1 || n > 5) {
                                throw new IllegalArgumentException("--workloads takes numbers from"
                                        + " 1 to 5, separated by commas: " + arg);
                            }
                            o.workloads.add(n);
                        }
                        break;
                    default:
                        throw new IllegalArgumentException("unknown flag: " + arg);
                }
            }
            if (o.mode == Mode.QUICK && !o.workloadsGiven) {
                // scale (4) is about many sessions on disk: creating them is not quick
                o.workloads = new LinkedHashSet<>(List.of(1, 2, 3));
            }
            return o;
        }

        /** Sets the mode; two different mode flags are refused (which one was meant?). */
        private void mode(Mode m, String arg) {
            if (modeFlag != null && mode != m) {
                throw new IllegalArgumentException(modeFlag + " and " + arg + " exclude each other");
            }
            mode = m;
            modeFlag = arg;
        }

        private static void noValue(String[] kv, String arg) {
            if (kv.length > 1) {
                throw new IllegalArgumentException(kv[0] + " takes no value: " + arg);
            }
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
     * Runs the comparison and prints the tables on standard output; exits with the status of
     * {@link #execute}.
     * @param args the flags of {@link #USAGE}
     */
    public static void main(String[] args) {
        int status = execute(args, System.out, System.err);
        if (status != 0) {
            System.exit(status);
        }
    }

    /**
     * Thrown when Latchkey failed a check of workloads 1, 2 or 4 or of the sweep (exit status 1).
     */
    static final class LatchkeyFailedException extends IllegalStateException {
        private static final long serialVersionUID = 1L;

        LatchkeyFailedException(String message) {
            super(message);
        }

        LatchkeyFailedException(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /**
     * Runs the harness: returns 0; 1 if Latchkey lost or failed an update it guarantees; 2 for
     * bad flags; 3 if the harness could not run (a worker, a store it compares with, Redis, the
     * directory), with the cause on {@code err}.
     */
    static int execute(String[] args, PrintStream out, PrintStream err) {
        Options options;
        try {
            options = Options.parse(args);
        } catch (IllegalArgumentException e) {
            err.println(e.getMessage());
            err.println(USAGE);
            return 2;
        }
        if (options.help) {
            out.println(USAGE);
            return 0;
        }
        try {
            Report report = run(options, out);
            if (!report.latchkeyFailures().isEmpty()) {
                out.println("LATCHKEY FAILED: " + report.latchkeyFailures());
                return 1;
            }
            return 0;
        } catch (LatchkeyFailedException e) {
            out.println("LATCHKEY FAILED: " + e.getMessage());
            return 1;
        } catch (Exception | Error e) {
            // everything else is the harness's trouble, not Latchkey's: say so, and what
            err.println("bench: HARNESS ERROR (exit status 3; not a Latchkey result): " + e);
            for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
                err.println("bench:   caused by: " + c);
            }
            e.printStackTrace(err);
            return 3;
        }
    }

    /** Runs the workloads the options name, printing progress and each table as it is done. */
    static Report run(Options o, PrintStream out) throws Exception {
        long t0 = System.nanoTime();
        if (!o.redis.equals("auto") && !o.redis.equals("none")) {
            RedisServer.check(o.redis);
        }
        Path root = runDirectory(o.dir);
        Map<Integer, Table> tables = new HashMap<>();
        List<String> failures = new ArrayList<>();
        RedisServer started = null;
        // SIGTERM or SIGINT (bench.sh forwards both) ends the JVM without running finally blocks:
        // this hook stops every process the run started (JMH forks, worker JVMs, redis-server,
        // sync) and then deletes the temporary directory
        Thread hook = new Thread(() -> stopChildrenAndDelete(o.dir == null ? root : null),
                "latchkey-bench-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
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
            long step = System.nanoTime();
            if (o.workloads.contains(1)) {
                tables.put(1, requestCost(o, root, redis, out));
                step = took(out, "workload 1", step);
            }
            if (o.workloads.contains(2)) {
                tables.put(2, durable(o, root, redis, redisOwned, out));
                step = took(out, "workload 2", step);
            }
            if (o.workloads.contains(3)) {
                tables.put(3, contention(o, root, redis, out, failures));
                step = took(out, "workload 3", step);
            }
            if (o.workloads.contains(4)) {
                tables.put(4, scale(o, root, redis, out));
                step = took(out, "workload 4", step);
            }
            if (o.workloads.contains(4) || o.workloads.contains(5)) {
                tables.put(5, sweep(o, root, out));
                step = took(out, "workload 4's sweep", step);
            }
            if (o.profile) {
                Profile.latchkeyRequest(root, o.mode.iterationMillis * 5, out);
                took(out, "profile", step);
            }
            out.println();
            long seconds = Math.round((System.nanoTime() - t0) / 1e9);
            out.printf(Locale.ROOT, "done in %d min %d s; load average now %s%n",
                    seconds / 60, seconds % 60, loadAverage());
            return new Report(tables, !redis.equals("-"), failures);
        } finally {
            if (started != null) {
                started.close();
            }
            if (o.dir == null) {
                Contenders.deleteTree(root);
            }
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook runs anyway
            }
        }
    }

    /**
     * A new directory for a run: under {@code dir} (run-DATE-UNIQUE, its own even when another run
     * starts in the same second), or a temporary one if {@code dir} is null.
     */
    static Path runDirectory(Path dir) throws IOException {
        if (dir == null) {
            return Files.createTempDirectory("latchkey-bench-");
        }
        return Files.createTempDirectory(Files.createDirectories(dir), "run-"
                + LocalDateTime.now().format(DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss-")));
    }

    /**
     * The shutdown hook of a run: kills every descendant process (it waits at most 10 s for them to
     * end), then deletes {@code root} unless it is null. Other threads may still be writing into
     * {@code root} while hooks run, so the delete is tried a few times.
     */
    static void stopChildrenAndDelete(Path root) {
        List<ProcessHandle> children = ProcessHandle.current().descendants().toList();
        children.forEach(ProcessHandle::destroyForcibly);
        removeJmhLock(jmhLock(), true);
        long deadline = System.nanoTime() + 10_000_000_000L;
        for (ProcessHandle child : children) {
            try {
                child.onExit().get(Math.max(1, deadline - System.nanoTime()),
                        java.util.concurrent.TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.ExecutionException
                    | java.util.concurrent.TimeoutException e) {
                System.err.println("bench: process " + child.pid() + " did not end within 10 s");
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        if (root == null) {
            return;
        }
        for (int attempt = 0; attempt < 5 && Files.exists(root); attempt++) {
            try {
                Contenders.deleteTree(root);
            } catch (RuntimeException e) {
                // a file appeared or vanished under the walk: try again
            }
        }
        if (Files.exists(root)) {
            System.err.println("bench: could not delete " + root);
        }
    }

    /** Prints how long a step took (a progress line) and returns the time now. */
    private static long took(PrintStream out, String what, long since) {
        long now = System.nanoTime();
        out.printf(Locale.ROOT, "(%s took %.0f s; load average now %s)%n", what,
                (now - since) / 1e9, loadAverage());
        return now;
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
        Collection<RunResult> results;
        try {
            results = new Runner(jmh.build()).run();
        } catch (org.openjdk.jmh.runner.RunnerException e) {
            if (String.valueOf(e.getMessage()).contains("Another JMH instance")) {
                throw new IllegalStateException(what + ": another JMH run holds " + jmhLock()
                        + " (one TMPDIR, one JMH at a time): wait until it ends, or give this run "
                        + "a TMPDIR of its own", e);
            }
            throw jmhFailure(what, log, e);
        } catch (RuntimeException e) {
            throw jmhFailure(what, log, e);
        } finally {
            removeJmhLock(jmhLock(), false);
        }

        Map<String, Statistics> byStore = new HashMap<>();
        for (RunResult r : results) {
            byStore.put(r.getParams().getParam("store") + "/" + r.getParams().getParam("sessions"),
                    r.getPrimaryResult().getStatistics());
        }
        if (byStore.size() != stores.size() * sessions.length) {
            throw new IllegalStateException("JMH measured " + byStore.keySet() + " of " + stores
                    + " x " + Arrays.toString(counts) + tail(log, Files.readString(log,
                    StandardCharsets.UTF_8)));
        }
        return byStore;
    }

    /**
     * What a failed JMH run means: Latchkey's failure if its trial's request check failed (the
     * log says so), the harness's otherwise; either way with the log's last lines.
     */
    static RuntimeException jmhFailure(String what, Path log, Exception e)
            throws IOException {
        String logText = Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
        String latchkey = RequestBenchmark.CHECK_FAILED + Contenders.LATCHKEY + ":";
        int at = logText.indexOf(latchkey);
        if (at >= 0) {
            int end = logText.indexOf('\n', at);
            return new LatchkeyFailedException(what + ": " + logText.substring(at,
                    end < 0 ? logText.length() : end), e);
        }
        return new IllegalStateException(what + ": JMH failed: " + e + tail(log, logText), e);
    }

    /** The lock file JMH leaves in {@code java.io.tmpdir}. */
    static Path jmhLock() {
        return Path.of(System.getProperty("java.io.tmpdir"), "jmh.lock");
    }

    /**
     * Deletes JMH's lock file, which JMH leaves behind, unless another process holds its lock (a
     * JMH run beside this one). {@code ours}: a lock held inside this JVM is this run's JMH (the
     * shutdown hook, when the run is ending anyway); otherwise such a lock keeps the file.
     */
    static void removeJmhLock(Path lock, boolean ours) {
        if (!Files.exists(lock)) {
            return;
        }
        try (java.nio.channels.FileChannel channel = java.nio.channels.FileChannel.open(lock,
                java.nio.file.StandardOpenOption.WRITE)) {
            java.nio.channels.FileLock held;
            try {
                held = channel.tryLock();
            } catch (java.nio.channels.OverlappingFileLockException e) {
                if (ours) {
                    Files.deleteIfExists(lock);
                }
                return;
            }
            if (held != null) {
                Files.deleteIfExists(lock);
                held.release();
            }
        } catch (IOException e) {
            // gone already, or not ours to delete
        }
    }

    /** The last lines of a log for a message (the log itself goes with the run's directory). */
    static String tail(Path log, String text) {
        List<String> lines = text.lines().toList();
        return "; last lines of " + log + ":\n    " + String.join("\n    ",
                lines.subList(Math.max(0, lines.size() - 25), lines.size()));
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
        long pair = Math.min(n(s, Contenders.LATCHKEY + "/1"), n(s, Contenders.FLOOR + "/1"));
        target(t, o.mode, "latchkey p50 vs floor", latchkey / floor, "<= 1.50x",
                latchkey / floor <= 1.5, pair);
        double latchkey99 = p(s, Contenders.LATCHKEY + "/1", 99);
        double floor99 = p(s, Contenders.FLOOR + "/1", 99);
        target(t, o.mode, "latchkey p99 vs floor", latchkey99 / floor99, "<= 1.50x",
                latchkey99 / floor99 <= 1.5, pair);
        if (stores.contains(Contenders.REDIS)) {
            double r = p(s, Contenders.REDIS + "/1", 50) / latchkey;
            target(t, o.mode, "redis p50 vs latchkey", r, ">= 2.00x", r >= 2, Math.min(
                    n(s, Contenders.LATCHKEY + "/1"), n(s, Contenders.REDIS + "/1")));
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
                "p50 vs latchkey", "p99 vs latchkey", "samples");
        for (int n : o.mode.scale) {
            double l50 = p(s, Contenders.LATCHKEY + "/" + n, 50);
            double l99 = p(s, Contenders.LATCHKEY + "/" + n, 99);
            for (String store : stores) {
                double p50 = p(s, store + "/" + n, 50);
                double p99 = p(s, store + "/" + n, 99);
                t.add(String.format(Locale.ROOT, "%,d", n), store, Table.number(p50),
                        Table.number(p99), Table.ratio(p50, l50), Table.ratio(p99, l99),
                        String.format(Locale.ROOT, "%,d", n(s, store + "/" + n)));
            }
        }
        t.print(out);
        return t;
    }

    private static Table sweep(Options o, Path root, PrintStream out) throws Exception {
        out.println("workload 4, sweep of expired sessions among live ones ...");
        int runs = o.mode.sweepRuns;
        Table t = new Table("Workload 4: sweep, Latchkey's SessionStore.sweep(1000) called until "
                + "nothing more is due, N expired sessions among live ones; median of " + runs
                + " timed sweeps per row (fresh expired sessions each), after an untimed sweep in "
                + "the same JVM", "live", "expired", "sweep ms", "min ms", "max ms",
                "us per expired", "removed", "calls", "runs");
        boolean sync = o.mode != Mode.SMOKE;
        Sweep.warmUp(root, o.mode.scale[0]);
        for (int live : o.mode.scale) {
            Sweep.measure(t, root, live, Math.max(100, live / 10), runs, sync);
        }
        t.note("after each timed sweep every session file is listed: the live ones must all be "
                + "there, no expired one (nor its expiry marker) may be left; every live one must "
                + "keep its marker and be found whole");
        t.note("latchkey only: Tomcat's StoreBase.processExpires loads every stored session, Jetty's "
                + "sweep lists the whole directory, Redis expires keys itself (see "
                + "docs/performance.md)");
        t.print(out);
        return t;
    }

    /**
     * The warm-up runs of workload 3: one per operation a row measures (the plain increment of
     * every store, and Latchkey's {@code update}).
     */
    static List<Contention.Config> warmUps(List<String> stores) {
        List<Contention.Config> configs = new ArrayList<>();
        for (String store : stores) {
            configs.add(new Contention.Config(store, 1, true, false));
            if (store.equals(Contenders.LATCHKEY)) {
                configs.add(new Contention.Config(store, 1, false, true));
            }
        }
        return configs;
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

    private static long n(Map<String, Statistics> s, String key) {
        Statistics st = s.get(key);
        return st == null ? 0 : st.getN();
    }

    private static void target(Table t, Mode mode, String what, double ratio, String target,
            boolean met, long samples) {
        t.note(String.format(Locale.ROOT, "target: %s %.2fx (%s): %s", what, ratio, target,
                verdict(mode, met, samples)));
    }

    /**
     * A target's verdict: "met" or "MISSED", or "not judged" on a smoke or quick run or when the
     * store with the fewest samples of those compared has fewer than {@link #MIN_SAMPLES}.
     */
    static String verdict(Mode mode, boolean met, long samples) {
        if (!mode.judged) {
            return "not judged (" + mode.name().toLowerCase(Locale.ROOT) + " run)";
        }
        if (samples < MIN_SAMPLES) {
            return String.format(Locale.ROOT, "not judged (%,d samples < %,d)", samples,
                    MIN_SAMPLES);
        }
        return met ? "met" : "MISSED";
    }

    // ---------------------------------------------------------------- workload 3 (processes)

    /**
     * What is wrong with a workload-3 outcome of Latchkey, or null (also for every other store).
     * Every Latchkey row must acknowledge increments and have no error and no extra increment (a
     * reader sees whole files; the later of two plain commits wins, which only loses); no
     * acknowledged increment may be lost, except on one counter with find+commit (a plain
     * read-modify-write, shown, not a failure).
     */
    static String latchkeyFailure(Contention.Outcome r) {
        Contention.Config config = r.config();
        if (!config.store().equals(Contenders.LATCHKEY)) {
            return null;
        }
        boolean guaranteed = config.distinct() || config.atomic();
        if (r.acked() > 0 && r.errors() == 0 && r.extra() == 0 && (!guaranteed || r.lost() == 0)) {
            return null;
        }
        return String.format(Locale.ROOT, "%d sessions, %s, %s: acked %d, lost %d%s, extra %d, "
                + "errors %d %s", config.sessions(), config.distinct() ? "own per thread"
                : "one counter", config.op(), r.acked(), r.lost(), guaranteed ? ""
                : " (allowed)", r.extra(), r.errors(), r.errorKinds());
    }

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
                "sessions", "attributes", "store", "op", "ops/s", "ops/s vs latchkey", "ops",
                "acked", "lost", "extra", "errors");
        Map<String, Map<String, Long>> errorsSeen = new TreeMap<>();
        try (Contention c = Contention.start(root.resolve("contention"), redis, processes, threads,
                o.mode.contentionWarmupMillis, o.mode.contentionMillis)) {
            if (o.mode != Mode.SMOKE) {
                out.println("  (one unreported run of every measured operation first, so that "
                        + "none is measured with cold JIT)");
                for (Contention.Config config : warmUps(stores)) {
                    String failure = latchkeyFailure(c.warmUp(config));
                    if (failure != null) {
                        failures.add("warm-up, " + failure);
                    }
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
                        }
                        String failure = latchkeyFailure(r);
                        if (failure != null) {
                            failures.add(failure);
                        }
                        t.add(sessions == 1 ? "1 (hot)" : String.format(Locale.ROOT, "%,d",
                                sessions), distinct ? "own per thread" : "one counter",
                                config.store(), config.op(), Table.number(r.opsPerSecond()),
                                Table.ratio(r.opsPerSecond(), base), r.ops(), r.acked(), r.lost(),
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
        t.note("ops: increments acknowledged in the measured time (ops/s is ops over it); acked: "
                + "all acknowledged increments, warm-up included, each checked at the end");
        t.note("lost: increments a counter is short of its acknowledged total; extra: increments "
                + "it is over it (applied, not acknowledged); counted per counter, not netted");
        t.note("latchkey find+commit on one counter is a plain read-modify-write: the later commit "
                + "wins (use update or a SessionLock); its lost updates are shown, not counted as "
                + "a failure; every latchkey row (warm-ups too) must acknowledge increments and "
                + "have no extra and no error");
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
