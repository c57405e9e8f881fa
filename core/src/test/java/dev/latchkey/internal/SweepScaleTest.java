package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.SessionChange;
import dev.latchkey.StoreConfig;
import dev.latchkey.SweepResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sweep costs O(expired), not O(all): the work is counted (index entries visited, session files
 * read), which is deterministic, unlike a time. The directory holds {@value #DEFAULT_SESSIONS}
 * live sessions by default; {@code -Dlatchkey.scale.sessions=100000} (or a million) runs it at
 * any size (a test property, read by the test only):
 * {@code mvn -B -pl core -am test -Dtest=SweepScaleTest -Dsurefire.failIfNoSpecifiedTests=false
 * -Dlatchkey.scale.sessions=100000}.
 *
 * <p>find and commit never list a directory: each opens a fixed set of paths derived from the
 * id, so the number of files they touch cannot depend on the number of sessions; what the file
 * system makes of a large directory (its lookup time) is a matter of time, measured by the
 * benchmarks, not here. What is counted here is the index I/O of a commit: none within a granule.
 */
@Timeout(value = 10, unit = TimeUnit.MINUTES)
final class SweepScaleTest {
    /**
     * 20,000 by default, to stay well under a minute on a loaded 2-core machine (100,000 took
     * three minutes there with a load average of 11; the counts were the same).
     */
    private static final int DEFAULT_SESSIONS = 20_000;
    private static final int EXPIRED = 500;

    @TempDir
    Path temp;

    @Test
    void sweepOfNExpired_visitsNEntries_whetherTheDirectoryHoldsFewOrManySessions()
            throws Exception {
        int total = Integer.getInteger("latchkey.scale.sessions", DEFAULT_SESSIONS);
        MutableClock clock = MutableClock.atFixedStart();
        Path dir = temp.resolve("store");
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).clock(clock)
                .defaultMaxInactiveInterval(Duration.ofHours(2)).build())) {
            Sweeper sweeper = store.sweeper();

            // a small directory: EXPIRED doomed sessions beside 1,000 live ones
            createLive(store, 1_000);
            List<String> first = createDoomed(store, EXPIRED);
            clock.advance(Duration.ofMinutes(10));
            Work small = sweepAll(store, sweeper);

            // a large one: the same number of doomed sessions beside `total` live ones
            createLive(store, total - 1_000);
            List<String> second = createDoomed(store, EXPIRED);
            clock.advance(Duration.ofMinutes(10));
            Work large = sweepAll(store, sweeper);

            assertEquals(EXPIRED, small.removed);
            assertEquals(EXPIRED, large.removed);
            assertEquals(EXPIRED, small.sessionsRead, "only the expired sessions' files are read");
            assertEquals(EXPIRED, large.sessionsRead, "only the expired sessions' files are read");
            // the doomed sessions of one batch share one due bucket; the live ones are not due
            assertEquals(small.entries, large.entries, "the same work at " + total
                    + " sessions as at 1,000");
            assertTrue(large.entries <= EXPIRED + 3, "entries visited: " + large.entries);
            for (String id : first) {
                assertFalse(Files.exists(new Layout(dir).current(id)));
            }
            for (String id : second) {
                assertFalse(Files.exists(new Layout(dir).current(id)));
            }

            // a commit's index I/O does not grow with the directory either: none within a granule
            String some = store.create().id();
            long before = store.expiryIndex().writerOperations.sum();
            for (int i = 0; i < 100; i++) {
                clock.advance(Duration.ofMillis(100));
                store.commit(some, store.change().touch().set("i", i).build()).orElseThrow();
                assertTrue(store.find(some).isPresent());
            }
            assertTrue(store.expiryIndex().writerOperations.sum() - before <= 2,
                    "at most one marker move in 10 s of touches with a 10 min granule");
        }
    }

    /** What one complete sweep did. */
    private record Work(long entries, long sessionsRead, long removed) {
    }

    private static Work sweepAll(FileSessionStore store, Sweeper sweeper) {
        long entries = sweeper.entriesVisited.sum();
        long read = sweeper.sessionsRead.sum();
        long removed = 0;
        SweepResult result;
        do {
            result = store.sweep(100_000);
            removed += result.removed();
        } while (result.more());
        return new Work(sweeper.entriesVisited.sum() - entries, sweeper.sessionsRead.sum() - read,
                removed);
    }

    private static void createLive(FileSessionStore store, int count) throws Exception {
        SessionChange change = store.change().set("user", "alice").build();
        // two threads: creating is file I/O, and the machine has two cores
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        for (int t = 0; t < 2; t++) {
            int share = count / 2 + (t == 0 ? count % 2 : 0);
            Thread thread = new Thread(() -> {
                try {
                    for (int i = 0; i < share; i++) {
                        store.create(change);
                    }
                } catch (Throwable e) {
                    failures.add(e);
                }
            }, "create-" + t);
            threads.add(thread);
            thread.start();
        }
        for (Thread thread : threads) {
            thread.join();
        }
        if (!failures.isEmpty()) {
            throw new AssertionError("a creating thread failed", failures.get(0));
        }
    }

    private static List<String> createDoomed(FileSessionStore store, int count) {
        SessionChange change = store.change().maxInactiveInterval(Duration.ofMinutes(1)).build();
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(store.create(change).id());
        }
        return ids;
    }
}
