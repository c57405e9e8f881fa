package dev.latchkey.benchmarks;

import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * One worker process of workload 3 (started by {@link Contention}). Reads commands from standard
 * input, one run at a time: {@code RUN} (tab-separated settings) opens the store and answers
 * {@code READY}; {@code GO} starts the threads; when they stop it writes every acknowledged
 * increment to the result file and answers {@code DONE}. It exits on {@code EXIT} or when its
 * standard input closes (so it never outlives the harness).
 */
public final class ContentionWorker {
    private ContentionWorker() {
    }

    /** How a worker opens its store: {@link Contenders#open}, or a test's faulty wrapper of it. */
    @FunctionalInterface
    interface Opener {
        /** Opens the store as {@link Contenders#open} does. */
        Contender open(String name, Path directory, boolean synced, String redis, String namespace)
                throws Exception;
    }

    /**
     * Runs the worker.
     * @param args the worker's index
     * @throws Exception if standard input or output fails
     */
    public static void main(String[] args) throws Exception {
        serve(args, Contenders::open);
    }

    /**
     * Serves the commands of standard input with stores opened by {@code opener}: the worker's
     * loop, also run by the harness's tests with stores that fail on purpose.
     */
    static void serve(String[] args, Opener opener) throws Exception {
        int worker = Integer.parseInt(args[0]);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in,
                StandardCharsets.UTF_8));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        String line;
        while ((line = in.readLine()) != null && !line.equals("EXIT")) {
            String[] f = line.split("\t", -1);
            if (!f[0].equals("RUN") || f.length != 12) {
                out.println("FAILED\tbad command: " + line);
                continue;
            }
            try (Contender contender = opener.open(f[1], Path.of(f[2]), false, f[3], f[4])) {
                List<String> ids = Files.readAllLines(Path.of(f[5]), StandardCharsets.UTF_8);
                boolean distinct = f[6].equals("distinct");
                boolean atomic = f[7].equals("atomic");
                int threads = Integer.parseInt(f[8]);
                long warmup = Long.parseLong(f[9]);
                long measure = Long.parseLong(f[10]);
                contender.read(ids.get(0)); // connections open, classes loaded: not timed
                out.println("READY");
                String go = in.readLine();
                if (!"GO".equals(go)) {
                    return;
                }
                Run run = new Run(contender, ids, worker, distinct, atomic, warmup, measure);
                run.start(threads);
                try (BufferedWriter w = Files.newBufferedWriter(Path.of(f[11]),
                        StandardCharsets.UTF_8)) {
                    for (Map.Entry<String, Integer> e : run.acked.entrySet()) {
                        w.write(e.getKey() + "\t" + e.getValue() + "\n");
                    }
                }
                out.println("DONE\t" + run.measuredOps + "\t" + measure + "\t" + run.errors
                        + "\t" + run.kinds());
            } catch (Exception | Error e) {
                // also an Error: the harness must hear of it, not wait for a DONE that never comes
                e.printStackTrace();
                out.println("FAILED\t" + e.toString().replace('\n', ' '));
            }
        }
    }

    /** The threads of one run and what they counted. */
    private static final class Run {
        private final Contender contender;
        private final List<String> ids;
        private final int worker;
        private final boolean distinct;
        private final boolean atomic;
        private final long warmupNanos;
        private final long measureNanos;
        final Map<String, Integer> acked = new HashMap<>();
        private final Map<String, LongAdder> kinds = new ConcurrentHashMap<>();
        long measuredOps;
        long errors;

        Run(Contender contender, List<String> ids, int worker, boolean distinct, boolean atomic,
                long warmupMillis, long measureMillis) {
            this.contender = contender;
            this.ids = ids;
            this.worker = worker;
            this.distinct = distinct;
            this.atomic = atomic;
            this.warmupNanos = warmupMillis * 1_000_000L;
            this.measureNanos = measureMillis * 1_000_000L;
        }

        /** The kinds of error and how often each happened: {@code kind=n,kind=n}, or "-". */
        String kinds() {
            StringBuilder b = new StringBuilder();
            kinds.forEach((k, n) -> b.append(b.length() == 0 ? "" : ",").append(k).append('=')
                    .append(n.sum()));
            return b.length() == 0 ? "-" : b.toString();
        }

        void start(int threads) throws InterruptedException {
            long t0 = System.nanoTime();
            Thread[] all = new Thread[threads];
            Counted[] counted = new Counted[threads];
            for (int t = 0; t < threads; t++) {
                int thread = t;
                counted[t] = new Counted();
                all[t] = new Thread(() -> loop(thread, t0, counted[thread]), "w" + worker + "-" + t);
                all[t].start();
            }
            for (int t = 0; t < threads; t++) {
                all[t].join();
                measuredOps += counted[t].measured;
                errors += counted[t].errors;
                counted[t].acked.forEach((k, v) -> acked.merge(k, v, Integer::sum));
            }
        }

        private void loop(int thread, long t0, Counted counted) {
            String name = distinct ? "n" + worker + "_" + thread : "hits";
            SplittableRandom random = new SplittableRandom(31L * worker + thread);
            long measureFrom = t0 + warmupNanos;
            long end = measureFrom + measureNanos;
            long now;
            while ((now = System.nanoTime()) < end) {
                String id = ids.size() == 1 ? ids.get(0) : ids.get(random.nextInt(ids.size()));
                try {
                    boolean ok = atomic ? contender.atomicIncrement(id, name)
                            : contender.increment(id, name);
                    if (ok) {
                        counted.acked.merge(id + "\t" + name, 1, Integer::sum);
                        if (now >= measureFrom) {
                            counted.measured++;
                        }
                    } else {
                        counted.errors++;
                        kinds.computeIfAbsent("session not found", k -> new LongAdder()).increment();
                    }
                } catch (Exception | Error e) {
                    // an Error too (an AssertionError in the store): counted, never a thread
                    // that dies silently and leaves its counters out of the check
                    counted.errors++;
                    kinds.computeIfAbsent(e.getClass().getSimpleName(), k -> new LongAdder())
                            .increment();
                }
            }
        }
    }

    /** One thread's counts. */
    private static final class Counted {
        final Map<String, Integer> acked = new HashMap<>();
        long measured;
        long errors;
    }
}
