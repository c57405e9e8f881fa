package dev.latchkey.benchmarks;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Workload 3: {@code processes} worker JVMs (started once, reused for every run), each with
 * {@code threads} threads, increment counters in one hot session or in many sessions for a fixed
 * time. Each worker counts every increment its store acknowledged; at the end the driver reads
 * every counter back and reports the acknowledged increments that are missing.
 */
final class Contention implements AutoCloseable {

    /** One run: which store, which sessions, which attributes, which operation. */
    record Config(String store, int sessions, boolean distinct, boolean atomic) {
        String op() {
            switch (store) {
                case Contenders.LATCHKEY:
                    return atomic ? "update" : "find+commit";
                case Contenders.REDIS:
                    return "findById+save";
                case Contenders.JETTY:
                    return "load+store";
                default:
                    return "load+save";
            }
        }
    }

    /** What one run measured. */
    record Outcome(Config config, double opsPerSecond, long ops, long acked, long lost, long extra,
            long errors, Map<String, Long> errorKinds) {
    }

    private final List<Worker> workers = new ArrayList<>();
    private final ExecutorService readers = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "contention-reader");
        t.setDaemon(true);
        return t;
    });
    private final Path root;
    private final String redis;
    private final int threads;
    private final long warmupMillis;
    private final long measureMillis;
    private int runs;

    private Contention(Path root, String redis, int threads, long warmupMillis, long measureMillis) {
        this.root = root;
        this.redis = redis;
        this.threads = threads;
        this.warmupMillis = warmupMillis;
        this.measureMillis = measureMillis;
    }

    /** Starts the worker JVMs ({@link ContentionWorker}). */
    static Contention start(Path root, String redis, int processes, int threads,
            long warmupMillis, long measureMillis) throws IOException {
        return start(root, redis, processes, threads, warmupMillis, measureMillis,
                ContentionWorker.class.getName());
    }

    /**
     * Starts the worker JVMs with this main class (the tests' workers wrap the store in faults),
     * which gets the worker's index and then {@code extraArgs}.
     */
    static Contention start(Path root, String redis, int processes, int threads,
            long warmupMillis, long measureMillis, String workerMain, String... extraArgs)
            throws IOException {
        Contention c = new Contention(root, redis, threads, warmupMillis, measureMillis);
        try {
            Files.createDirectories(root);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            for (int w = 0; w < processes; w++) {
                List<String> command = new ArrayList<>(List.of(java, "-Xmx256m",
                        "-XX:+UseSerialGC",
                        "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                        "-cp", System.getProperty("java.class.path"), workerMain,
                        Integer.toString(w)));
                command.addAll(List.of(extraArgs));
                Process p = new ProcessBuilder(command)
                        .redirectError(c.log(w).toFile())
                        .start();
                c.workers.add(new Worker(w, p));
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Worker {@code w}'s standard error. */
    Path log(int w) {
        return root.resolve("worker-" + w + ".log");
    }

    /**
     * Runs one configuration once without printing it, so that the workers' JIT has compiled the
     * store's code before its first measured run; its outcome is checked like any other.
     */
    Outcome warmUp(Config config) throws Exception {
        return run(config, null);
    }

    /** Runs one configuration and checks every acknowledged increment. */
    Outcome run(Config config, PrintStream progress) throws Exception {
        int n = runs++;
        Path dir = root.resolve("run-" + n + "-" + config.store());
        Files.createDirectories(dir);
        String namespace = "contention:" + n;
        String[] ids;
        try (Contender setup = Contenders.open(config.store(), dir, false, redis, namespace)) {
            ids = Contenders.populate(setup, config.sessions());
        }
        // write back the sessions just created (and the previous run's files) before measuring,
        // so that no store runs over another's write-back
        Contenders.flushDirtyPages();
        Path idsFile = idsFile(n);
        Files.write(idsFile, List.of(ids), StandardCharsets.UTF_8);
        try {
            for (int w = 0; w < workers.size(); w++) {
                send(workers.get(w), String.join("\t", "RUN", config.store(), dir.toString(), redis,
                        namespace, idsFile.toString(), config.distinct() ? "distinct" : "shared",
                        config.atomic() ? "atomic" : "plain", Integer.toString(threads),
                        Long.toString(warmupMillis), Long.toString(measureMillis),
                        result(n, w).toString()));
            }
            for (Worker w : workers) {
                expect(w, "READY", 60);
            }
            for (Worker w : workers) {
                send(w, "GO");
            }
            long ops = 0;
            long errors = 0;
            Map<String, Long> kinds = new TreeMap<>();
            long limit = 60 + (warmupMillis + measureMillis) / 1000 * 3;
            for (Worker w : workers) {
                String[] done = expect(w, "DONE", limit).split("\t", -1);
                ops += Long.parseLong(done[1]);
                errors += Long.parseLong(done[3]);
                if (!done[4].equals("-")) {
                    for (String kind : done[4].split(",")) {
                        int eq = kind.lastIndexOf('=');
                        kinds.merge(kind.substring(0, eq), Long.parseLong(kind.substring(eq + 1)),
                                Long::sum);
                    }
                }
            }
            long[] counts = check(config, dir, namespace, n);
            double perSecond = ops * 1000.0 / measureMillis;
            if (progress != null) {
                progress.printf("  w3 %-8s %-8s %-8s %-13s %9.0f ops/s  acked %7d  lost %6d  extra %6d  errors %6d%n",
                    config.sessions() == 1 ? "hot" : config.sessions() + "",
                    config.distinct() ? "distinct" : "counter", config.store(), config.op(),
                    perSecond, counts[0], counts[1], counts[2], errors);
            }
            return new Outcome(config, perSecond, ops, counts[0], counts[1], counts[2], errors,
                    kinds);
        } finally {
            if (config.store().equals(Contenders.REDIS)) {
                try (Contender c = Contenders.open(Contenders.REDIS, dir, false, redis, namespace)) {
                    ((RedisContender) c).flush();
                }
            }
            Contenders.deleteTree(dir);
            Contenders.deleteTree(Contenders.macKeyFile(dir));
        }
    }

    /**
     * Reads every counter back: returns {acknowledged, lost, extra}. Lost counts the increments a
     * counter is short of its acknowledged total, extra the ones it is over it (an increment
     * applied but not acknowledged, e.g. a save that failed after writing); both per counter,
     * never netted against each other.
     */
    private long[] check(Config config, Path dir, String namespace, int n) throws Exception {
        Map<String, Map<String, Integer>> expected = new HashMap<>();
        for (int w = 0; w < workers.size(); w++) {
            for (String line : Files.readAllLines(result(n, w), StandardCharsets.UTF_8)) {
                String[] f = line.split("\t");
                expected.computeIfAbsent(f[0], k -> new HashMap<>())
                        .merge(f[1], Integer.parseInt(f[2]), Integer::sum);
            }
            Files.deleteIfExists(result(n, w));
        }
        List<String> names = new ArrayList<>();
        if (config.distinct()) {
            for (int w = 0; w < workers.size(); w++) {
                for (int t = 0; t < threads; t++) {
                    names.add("n" + w + "_" + t);
                }
            }
        } else {
            names.add("hits");
        }
        long acked = 0;
        long lost = 0;
        long extra = 0;
        // every session of the run and every counter name, not only the acknowledged ones: an
        // increment applied but never acknowledged shows where nothing was acknowledged too
        try (Contender reader = Contenders.open(config.store(), dir, false, redis, namespace)) {
            for (String id : Files.readAllLines(idsFile(n), StandardCharsets.UTF_8)) {
                Map<String, Integer> want = expected.getOrDefault(id, Map.of());
                Map<String, Object> actual;
                try {
                    actual = reader.read(id);
                } catch (Exception e) {
                    actual = null;
                }
                for (String name : names) {
                    int ack = want.getOrDefault(name, 0);
                    int got = actual == null ? 0 : Contender.count(actual.get(name));
                    acked += ack;
                    lost += Math.max(0, ack - got);
                    extra += Math.max(0, got - ack);
                }
            }
        }
        return new long[] {acked, lost, extra};
    }

    private Path idsFile(int n) {
        return root.resolve("run-" + n + ".ids");
    }

    private Path result(int n, int w) {
        return root.resolve("run-" + n + ".w" + w);
    }

    private String expect(Worker w, String word, long seconds) throws Exception {
        Future<String> line = readers.submit(w.out::readLine);
        String got;
        try {
            got = line.get(seconds, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            line.cancel(true);
            throw new IllegalStateException("worker " + w.index + " did not answer " + word
                    + " within " + seconds + " s" + logTail(w), e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("worker " + w.index + ": cannot read its answer to "
                    + word + ": " + e.getCause() + exitStatus(w) + logTail(w), e.getCause());
        }
        if (got == null) {
            throw new IllegalStateException("worker " + w.index + " ended before it answered "
                    + word + exitStatus(w) + logTail(w));
        }
        if (!got.startsWith(word)) {
            throw new IllegalStateException("worker " + w.index + " answered '" + got
                    + "' instead of " + word + logTail(w));
        }
        return got;
    }

    private void send(Worker w, String line) {
        try {
            w.send(line);
        } catch (IOException e) {
            throw new IllegalStateException("worker " + w.index + " cannot be sent a command (" + e
                    + ")" + exitStatus(w) + logTail(w), e);
        }
    }

    private static String exitStatus(Worker w) {
        try {
            if (w.process.waitFor(5, TimeUnit.SECONDS)) {
                int status = w.process.exitValue();
                return " (exit status " + status + (status > 128 ? ", killed by signal "
                        + (status - 128) : "") + ")";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return " (still running)";
    }

    /** The last lines of a worker's log, for a message: the log itself may be deleted. */
    private String logTail(Worker w) {
        try {
            List<String> lines = Files.readAllLines(log(w.index), StandardCharsets.UTF_8);
            if (lines.isEmpty()) {
                return "; its log " + log(w.index) + " is empty";
            }
            return "; last lines of its log " + log(w.index) + ":\n    " + String.join("\n    ",
                    lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException | RuntimeException e) {
            return "; its log " + log(w.index) + " cannot be read: " + e;
        }
    }

    /** Stops every worker: EXIT, close standard input, wait, then kill. */
    @Override
    public void close() {
        for (Worker w : workers) {
            try {
                w.send("EXIT");
                w.process.getOutputStream().close();
            } catch (IOException ignored) {
                // already gone
            }
        }
        for (Worker w : workers) {
            try {
                if (!w.process.waitFor(10, TimeUnit.SECONDS)) {
                    w.process.destroyForcibly();
                    w.process.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                w.process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            try {
                Runtime.getRuntime().removeShutdownHook(w.hook);
            } catch (IllegalStateException e) {
                // shutting down already: the hook runs anyway
            }
        }
        readers.shutdownNow();
    }

    /** One worker process and its pipes. */
    private static final class Worker {
        final int index;
        final Process process;
        final BufferedReader out;
        final Thread hook;

        Worker(int index, Process process) {
            this.index = index;
            this.process = process;
            this.out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
            this.hook = new Thread(process::destroyForcibly, "contention-worker-cleanup");
            Runtime.getRuntime().addShutdownHook(hook);
        }

        void send(String line) throws IOException {
            var in = process.getOutputStream();
            in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
            in.flush();
        }
    }
}
