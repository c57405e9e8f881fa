package dev.latchkey.benchmarks;

import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.SweepResult;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Workload 4's sweep: N expired Latchkey sessions among many live ones, removed by
 * {@link SessionStore#sweep} (called until nothing more is due), on a clock the harness moves
 * forward instead of waiting.
 */
final class Sweep {
    private static final int LIMIT = 1_000;

    private Sweep() {
    }

    /** One row: live sessions, expired sessions, sweep time and what it removed. */
    static void measure(Table t, Path root, int live, int expired) throws Exception {
        Path dir = root.resolve("sweep-" + live);
        MovableClock clock = new MovableClock(Instant.now());
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).clock(clock).build())) {
            String[] liveIds = create(store, live, Duration.ofMinutes(30));
            String[] expiredIds = create(store, expired, Duration.ofMinutes(1));
            clock.advance(Duration.ofMinutes(3)); // expired + more than a granule; live: 27 min left
            Contenders.flushDirtyPages();
            int removed = 0;
            int calls = 0;
            long t0 = System.nanoTime();
            SweepResult r;
            do {
                r = store.sweep(LIMIT);
                removed += r.removed();
                calls++;
            } while (r.more());
            long nanos = System.nanoTime() - t0;
            if (store.find(liveIds[0]).isEmpty() || store.find(liveIds[live - 1]).isEmpty()
                    || store.find(expiredIds[0]).isPresent()) {
                throw new IllegalStateException("the sweep removed a live session or kept an "
                        + "expired one");
            }
            t.add(String.format(Locale.ROOT, "%,d", live), String.format(Locale.ROOT, "%,d",
                    expired), Table.number(nanos / 1e6), Table.number(nanos / 1e3 / expired),
                    removed, calls);
        } finally {
            Contenders.deleteTree(dir);
            Contenders.deleteTree(Contenders.macKeyFile(dir));
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
