package dev.latchkey.examples;

import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Several worker JVMs share sessions in one directory, first through a naive file store (read
 * whole file, write whole file, no lock), then through Latchkey; the report counts what each lost.
 *
 * <p>Flags: {@code --workers=N} (3), {@code --sessions=N} (5), {@code --requests=N} per worker
 * (400), {@code --store=both|latchkey|naive}, {@code --dir=PATH} (a fresh temporary directory).
 * Exits 1 if Latchkey lost or mixed up anything, 2 on bad flags.
 */
public final class CoreDemo {
    private CoreDemo() {
    }

    /** The outcome of one run. */
    record Result(String store, int workers, long requests, long millis, long lostHits,
            long lostAttributes, long tornReads) {
    }

    /**
     * Runs the demo.
     *
     * @param args flags, see the class comment
     * @throws Exception if a worker cannot be started
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> flags = new LinkedHashMap<>(Map.of("workers", "3", "sessions", "5",
                "requests", "400", "store", "both", "dir", ""));
        for (String arg : args) {
            String[] kv = arg.replaceFirst("^--", "").split("=", 2);
            if (kv.length != 2 || !flags.containsKey(kv[0]) || arg.indexOf("--") != 0) {
                System.err.println("unknown flag " + arg + "; flags: --workers=N --sessions=N"
                        + " --requests=N --store=both|latchkey|naive --dir=PATH");
                System.exit(2);
            }
            flags.put(kv[0], kv[1]);
        }
        int workers = Integer.parseInt(flags.get("workers"));
        int sessions = Integer.parseInt(flags.get("sessions"));
        int requests = Integer.parseInt(flags.get("requests"));
        String which = flags.get("store");
        Path base = flags.get("dir").isEmpty() ? Files.createTempDirectory("latchkey-demo")
                : Path.of(flags.get("dir"));
        List<Result> results = new ArrayList<>();
        for (String kind : List.of("naive", "latchkey")) {
            if (which.equals("both") || which.equals(kind)) {
                results.add(run(kind, base.resolve(kind), workers, sessions, requests));
            }
        }
        System.out.println();
        System.out.printf(Locale.ROOT, "%-9s %7s %8s %8s %9s %9s %10s %10s%n", "store", "workers",
                "requests", "time ms", "req/s", "lost hits", "lost attrs", "torn reads");
        boolean latchkeyClean = true;
        for (Result r : results) {
            System.out.printf(Locale.ROOT, "%-9s %7d %8d %8d %9.0f %9d %10d %10d%n", r.store(),
                    r.workers(), r.requests(), r.millis(), r.requests() * 1000.0 / Math.max(1,
                            r.millis()), r.lostHits(), r.lostAttributes(), r.tornReads());
            if (r.store().equals("latchkey")) {
                latchkeyClean = r.lostHits() == 0 && r.lostAttributes() == 0 && r.tornReads() == 0;
            }
        }
        System.out.println();
        System.out.println("lost hits: counter increments that a concurrent write overwrote;"
                + " lost attrs: a worker's latest write to its own attribute that is not there;"
                + " torn reads: requests that found a half-written session file.");
        System.out.println("session files: " + base);
        if (!latchkeyClean) {
            System.out.println("FAILED: Latchkey lost or mixed up updates");
            System.exit(1);
        }
    }

    static Result run(String kind, Path dir, int workers, int sessions, int requests)
            throws IOException, InterruptedException {
        Files.createDirectories(dir);
        List<String> ids = new ArrayList<>();
        if (kind.equals("latchkey")) {
            try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
                for (int i = 0; i < sessions; i++) {
                    ids.add(store.create().id());
                }
            }
        } else {
            NaiveFileStore store = new NaiveFileStore(dir);
            for (int i = 0; i < sessions; i++) {
                String id = "session" + i;
                store.save(id, new LinkedHashMap<>());
                ids.add(id);
            }
        }
        Path idFile = dir.resolve("ids.txt");
        Files.write(idFile, ids);
        List<Process> processes = new ArrayList<>();
        try {
            for (int w = 0; w < workers; w++) {
                processes.add(new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin",
                        "java").toString(), "-cp", System.getProperty("java.class.path"),
                        DemoWorker.class.getName(), kind, dir.toString(), Integer.toString(w),
                        Integer.toString(requests), idFile.toString())
                        .redirectError(ProcessBuilder.Redirect.INHERIT).start());
            }
            List<BufferedReader> outs = new ArrayList<>();
            for (Process p : processes) {
                BufferedReader out = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8));
                expect(out.readLine(), "READY");
                outs.add(out);
            }
            long start = System.nanoTime();
            for (Process p : processes) { // all start at once: start-up skew would hide races
                OutputStream in = p.getOutputStream();
                in.write("GO\n".getBytes(StandardCharsets.UTF_8));
                in.flush();
            }
            long[][] succeeded = new long[workers][];
            long torn = 0;
            for (int w = 0; w < workers; w++) {
                String[] done = outs.get(w).readLine().split(" ");
                expect(done[0], "DONE");
                torn += Long.parseLong(done[1]);
                succeeded[w] = new long[sessions];
                for (int s = 0; s < sessions; s++) {
                    succeeded[w][s] = Long.parseLong(done[2 + s]);
                }
                if (!processes.get(w).waitFor(60, TimeUnit.SECONDS)
                        || processes.get(w).exitValue() != 0) {
                    throw new IllegalStateException("worker " + w + " failed");
                }
            }
            long millis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            long lostHits = 0;
            long lostAttributes = 0;
            for (int s = 0; s < sessions; s++) {
                Map<String, Object> finalState = read(kind, dir, ids.get(s));
                long expectedHits = 0;
                for (int w = 0; w < workers; w++) {
                    expectedHits += succeeded[w][s];
                    Object own = finalState.get("worker" + w);
                    long have = own == null ? 0 : ((Number) own).longValue();
                    if (have != succeeded[w][s]) {
                        lostAttributes++;
                    }
                }
                Object hits = finalState.get("hits");
                lostHits += expectedHits - (hits == null ? 0 : ((Number) hits).longValue());
            }
            return new Result(kind, workers, (long) workers * requests, millis, lostHits,
                    lostAttributes, torn);
        } finally {
            for (Process p : processes) {
                p.destroyForcibly();
            }
        }
    }

    private static Map<String, Object> read(String kind, Path dir, String id) throws IOException {
        if (kind.equals("latchkey")) {
            try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
                return store.find(id).map(Session::attributes).orElse(Map.of());
            }
        }
        try {
            return new NaiveFileStore(dir).load(id);
        } catch (IOException e) {
            return Map.of(); // torn at the end: everything lost
        }
    }

    private static void expect(String line, String expected) {
        if (line == null || !line.startsWith(expected)) {
            throw new UncheckedIOException(new IOException("worker said '" + line
                    + "', expected " + expected));
        }
    }

}
