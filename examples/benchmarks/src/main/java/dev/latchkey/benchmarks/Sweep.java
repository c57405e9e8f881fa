package dev.latchkey.benchmarks;

import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.SweepResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Workload 4's sweep: N expired Latchkey sessions among many live ones, removed by
 * {@link SessionStore#sweep} (called until nothing more is due), on a clock the harness moves
 * forward instead of waiting. Each row is timed several times, each time on freshly expired
 * sessions among the same live ones, after an untimed sweep in the same JVM; after each sweep the
 * session files are listed and must be exactly the live sessions.
 */
final class Sweep {
    private static final int LIMIT = 1_000;
    /** Live sessions' interval: longer than all the clock moves of a row together. */
    private static final Duration LIVE = Duration.ofHours(2);
    private static final Duration EXPIRING = Duration.ofMinutes(1);
    /** Past the expiring sessions' expiry by more than a granule of the expiry index. */
    private static final Duration STEP = Duration.ofMinutes(3);

    private Sweep() {
    }

    /**
     * An untimed row on a throwaway directory, so that the first timed sweep is not a cold one:
     * {@code live} live sessions, a fifth as many expired ones, swept twice (no {@code sync}
     * before them: nothing is timed).
     */
    static void warmUp(Path root, int live) throws Exception {
        run(root.resolve("sweep-warm-up"), live, Math.max(20, live / 5), 2, false);
    }

    /**
     * One row: live sessions, expired sessions, the median sweep time of {@code runs} sweeps.
     * {@code sync}: write back the machine's dirty pages before each timed sweep (not worth its
     * time in a smoke run).
     */
    static void measure(Table t, Path root, int live, int expired, int runs, boolean sync)
            throws Exception {
        long[] nanos = run(root.resolve("sweep-" + live), live, expired, runs, sync);
        long[] sorted = Arrays.copyOf(nanos, runs);
        Arrays.sort(sorted);
        double median = sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2.0;
        t.add(String.format(Locale.ROOT, "%,d", live), String.format(Locale.ROOT, "%,d", expired),
                Table.number(median / 1e6), Table.number(sorted[0] / 1e6),
                Table.number(sorted[sorted.length - 1] / 1e6),
                Table.number(median / 1e3 / expired), String.format(Locale.ROOT, "%,d",
                        nanos[runs] / runs), nanos[runs + 1] / runs, runs);
    }

    /**
     * Times {@code runs} sweeps; returns their times in nanoseconds, then the sessions removed and
     * the sweep calls made, both summed over the runs.
     */
    private static long[] run(Path dir, int live, int expired, int runs, boolean sync)
            throws Exception {
        MovableClock clock = new MovableClock(Instant.now());
        long[] result = new long[runs + 2];
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).clock(clock).build())) {
            Set<String> liveIds = Set.of(create(store, live, LIVE));
            for (int r = 0; r < runs; r++) {
                String[] expiredIds = create(store, expired, EXPIRING);
                clock.advance(STEP);
                if (sync) {
                    Contenders.flushDirtyPages();
                }
                long removed = 0;
                long calls = 0;
                long t0 = System.nanoTime();
                SweepResult s;
                do {
                    s = store.sweep(LIMIT);
                    removed += s.removed();
                    calls++;
                } while (s.more());
                result[r] = System.nanoTime() - t0;
                if (removed != expired) {
                    throw new Bench.LatchkeyFailedException("the sweep removed " + removed
                            + " sessions, not the " + expired + " expired ones");
                }
                check(store, dir, liveIds, expiredIds);
                result[runs] += removed;
                result[runs + 1] += calls;
            }
        } finally {
            Contenders.deleteTree(dir);
            Contenders.deleteTree(Contenders.macKeyFile(dir));
        }
        return result;
    }

    /**
     * Lists the store's directory (its layout is in docs/design.md): the session files must be
     * exactly the live sessions (every one present, no expired one, no leftover temp file), and no
     * expired session may keep a marker in the expiry index.
     */
    static void check(SessionStore store, Path dir, Set<String> liveIds, String[] expiredIds)
            throws IOException {
        Set<String> files = names(dir.resolve("sessions"));
        if (!files.equals(liveIds)) {
            Set<String> missing = new HashSet<>(liveIds);
            missing.removeAll(files);
            Set<String> extra = new HashSet<>(files);
            extra.removeAll(liveIds);
            throw new Bench.LatchkeyFailedException("after the sweep, " + missing.size()
                    + " live sessions are missing and " + extra.size()
                    + " other files are left (e.g. " + extra.stream().limit(3).collect(Collectors.toList()) + ")");
        }
        Set<String> markers = names(dir.resolve("expiry"));
        for (String id : expiredIds) {
            if (markers.contains(id)) {
                throw new Bench.LatchkeyFailedException("after the sweep, expired session " + id
                        + " still has an expiry marker");
            }
        }
        // every live session still whole (read through the store) and still due to expire
        Map<String, Object> sample = SampleSession.attributes();
        for (String id : liveIds) {
            if (!markers.contains(id)) {
                throw new Bench.LatchkeyFailedException("after the sweep, live session " + id
                        + " has no expiry marker");
            }
            Map<String, Object> attributes;
            try {
                attributes = store.find(id).map(Session::attributes).orElse(null);
            } catch (RuntimeException e) {
                throw new Bench.LatchkeyFailedException("after the sweep, live session " + id
                        + " cannot be read: " + e, e);
            }
            if (attributes == null || !attributes.keySet().equals(sample.keySet())
                    || !sample.get(SampleSession.READ_ATTRIBUTE).equals(
                            attributes.get(SampleSession.READ_ATTRIBUTE))) {
                throw new Bench.LatchkeyFailedException("after the sweep, live session " + id
                        + " is " + (attributes == null ? "not found"
                        : "not the session created: " + attributes.keySet()));
            }
        }
    }

    /** The names of the regular files under a directory, at any depth. */
    private static Set<String> names(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return Set.of();
        }
        try (Stream<Path> all = Files.walk(dir)) {
            List<String> names = all.filter(Files::isRegularFile)
                    .map(p -> p.getFileName().toString()).collect(Collectors.toList());
            Set<String> set = new HashSet<>(names);
            if (set.size() != names.size()) {
                throw new IllegalStateException("a file name appears twice under " + dir);
            }
            return set;
        }
    }

    private static String[] create(SessionStore store, int n, Duration interval) throws Exception {
        String[] ids = new String[n];
        Thread helper = new Thread(() -> fill(store, ids, n / 2, n, interval), "sweep-populate");
        helper.start();
        fill(store, ids, 0, n / 2, interval);
        helper.join();
        for (String id : ids) {
            if (id == null) {
                throw new IllegalStateException("creating sessions failed (see the error above)");
            }
        }
        return ids;
    }

    private static void fill(SessionStore store, String[] ids, int from, int to,
            Duration interval) {
        for (int i = from; i < to; i++) {
            var change = store.change().maxInactiveInterval(interval);
            SampleSession.attributes().forEach(change::set);
            ids[i] = store.create(change.build()).id();
        }
    }

    /** A clock that stands still until it is moved. */
    private static final class MovableClock extends Clock {
        private final AtomicReference<Instant> now;

        MovableClock(Instant start) {
            this.now = new AtomicReference<>(start);
        }

        void advance(Duration d) {
            now.updateAndGet(t -> t.plus(d));
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException("fixed to UTC");
        }

        @Override
        public Instant instant() {
            return now.get();
        }
    }
}
