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

    /** Starts the worker JVMs. */
    static Contention start(Path root, String redis, int processes, int threads,
            long warmupMillis, long measureMillis) throws IOException {
        Contention c = new Contention(root, redis, threads, warmupMillis, measureMillis);
        try {
            Files.createDirectories(root);
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            for (int w = 0; w < processes; w++) {
                Process p = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC",
                        "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                        "-cp", System.getProperty("java.class.path"),
                        ContentionWorker.class.getName(), Integer.toString(w))
                        .redirectError(root.resolve("worker-" + w + ".log").toFile())
                        .start();
                c.workers.add(new Worker(p));
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /**
     * Runs one configuration once without reporting it, so that the workers' JIT has compiled the
     * store's code before its first measured run.
     */
    void warmUp(Config config, PrintStream progress) throws Exception {
        run(config, null);
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
        Path idsFile = root.resolve("run-" + n + ".ids");
        Files.write(idsFile, List.of(ids), StandardCharsets.UTF_8);
        try {
            for (int w = 0; w < workers.size(); w++) {
                workers.get(w).send(String.join("\t", "RUN", config.store(), dir.toString(), redis,
                        namespace, idsFile.toString(), config.distinct() ? "distinct" : "shared",
                        config.atomic() ? "atomic" : "plain", Integer.toString(threads),
                        Long.toString(warmupMillis), Long.toString(measureMillis),
                        result(n, w).toString()));
            }
            for (Worker w : workers) {
                expect(w, "READY", 60);
            }
            for (Worker w : workers) {
                w.send("GO");
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
        long acked = 0;
        long lost = 0;
        long extra = 0;
        try (Contender reader = Contenders.open(config.store(), dir, false, redis, namespace)) {
            for (Map.Entry<String, Map<String, Integer>> session : expected.entrySet()) {
                Map<String, Object> actual;
                try {
                    actual = reader.read(session.getKey());
                } catch (Exception e) {
                    actual = null;
                }
                for (Map.Entry<String, Integer> counter : session.getValue().entrySet()) {
                    int got = actual == null ? 0 : Contender.count(actual.get(counter.getKey()));
                    acked += counter.getValue();
                    lost += Math.max(0, counter.getValue() - got);
                    extra += Math.max(0, got - counter.getValue());
                }
            }
        }
        return new long[] {acked, lost, extra};
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
            throw new IllegalStateException("a worker did not answer " + word + " within "
                    + seconds + " s (see " + root + "/worker-*.log)", e);
        }
        if (got == null || !got.startsWith(word)) {
            throw new IllegalStateException("a worker answered '" + got + "' instead of " + word
                    + " (see " + root + "/worker-*.log)");
        }
        return got;
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
        final Process process;
        final BufferedReader out;
        final Thread hook;

        Worker(Process process) {
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
