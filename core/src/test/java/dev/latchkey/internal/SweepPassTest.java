package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.SessionLock;
import dev.latchkey.SweepResult;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A pass of bounded sweep calls resumes by marker name, not by position in a listing: it visits
 * every marker that is there for the whole pass exactly once, leaves markers that appear behind
 * its cursor to the next pass, and ends even when every entry stays in place.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class SweepPassTest {
    private static final Duration MINUTE = Duration.ofMinutes(1);

    @TempDir
    Path temp;
    private IndexFixture fx;
    private FileSessionStore store;

    @BeforeEach
    void open() {
        fx = new IndexFixture(temp, b -> b.lockTimeout(Duration.ofSeconds(20)));
        store = fx.store;
    }

    @AfterEach
    void close() {
        fx.close();
    }

    /**
     * Sessions created at one instant with one interval: they share one bucket. Their stripes
     * differ, so this thread can hold all their locks at once. Sorted by id (name order).
     */
    private List<String> sessionsInOneBucket(int count) {
        Set<Integer> stripes = new HashSet<>();
        TreeSet<String> ids = new TreeSet<>();
        while (ids.size() < count) {
            String id = fx.create(MINUTE).id();
            if (stripes.add(FileSessionStore.stripe(id))) {
                ids.add(id);
            } else {
                store.invalidate(id);
            }
        }
        assertEquals(1, new HashSet<>(fx.markers().values()).size(), "one bucket");
        return new ArrayList<>(ids);
    }

    /** Well-formed ids of no session, sorted. */
    private static List<String> ghostIds(int count) {
        TreeSet<String> ids = new TreeSet<>();
        while (ids.size() < count) {
            ids.add(SessionIds.generate());
        }
        return new ArrayList<>(ids);
    }

    private List<SessionLock> lockAll(List<String> ids) {
        List<SessionLock> locks = new ArrayList<>();
        for (String id : ids) {
            locks.add(store.lock(id)); // holds the lock without reading the (expired) session
        }
        return locks;
    }

    private static void closeAll(List<SessionLock> locks) {
        locks.forEach(SessionLock::close);
    }

    /**
     * The defect of a resume by position: the entries an earlier call left in place (sessions in
     * use) go before the next call (their requests end, meet them expired and remove them), and
     * a count of entries to skip then skips markers nobody has visited. By name, the next call
     * visits exactly the names after the last one visited.
     */
    @Test
    void sweep_resumed_entriesLeftEarlierAreGone_theMarkersAfterThemAreStillVisited() {
        List<String> ids = sessionsInOneBucket(3);
        fx.clock.advance(Duration.ofMinutes(5));
        List<SessionLock> locks = lockAll(ids);
        try {
            assertEquals(new SweepResult(1, 0, 1, true), store.sweep(1), "in use: left");
            assertEquals(new SweepResult(1, 0, 1, true), store.sweep(1), "in use: left");
        } finally {
            closeAll(locks);
        }
        // the two visited first (in name order) go, as their requests would remove them
        assertFalse(store.invalidate(ids.get(0)), "expired");
        assertFalse(store.invalidate(ids.get(1)), "expired");
        assertEquals(Set.of(ids.get(2)), fx.markers().keySet());

        assertEquals(new SweepResult(1, 1, 0, false), store.sweep(1),
                "the marker after the cursor is visited; the pass ends with it");
        assertFalse(fx.stored(ids.get(2)));
        assertEquals(Map.of(), fx.markers());
    }

    /**
     * A marker that appears during a pass is visited by the pass if it sorts after the cursor
     * when a call lists its bucket (a later name in the cursor's bucket, or a later bucket);
     * one that sorts before (an earlier name, or an older bucket) waits for the next pass. No
     * marker is visited twice by one pass.
     */
    @Test
    void sweep_markersAddedDuringAPass_afterTheCursorNow_beforeItNextPass() {
        long bucket = fx.clock.millis() - 5_000;
        List<String> ids = ghostIds(4);
        String behind = ids.get(0); // sorts before the first marker visited
        List<String> first = ids.subList(1, 4);
        for (String id : first) {
            fx.plantMarker(id, bucket);
        }
        assertEquals(new SweepResult(1, 0, 0, true), store.sweep(1), "the smallest name first");
        assertEquals(Set.of(first.get(1), first.get(2)), fx.markers().keySet());

        String ahead = ghostIds(1).get(0);
        while (ahead.compareTo(first.get(0)) <= 0) {
            ahead = ghostIds(1).get(0);
        }
        String older = SessionIds.generate();
        String newer = SessionIds.generate();
        fx.plantMarker(behind, bucket); // before the cursor's name
        fx.plantMarker(ahead, bucket); // after it
        fx.plantMarker(older, bucket - 1_000); // a bucket the pass has walked
        fx.plantMarker(newer, bucket + 1_000); // a bucket it has not

        SweepResult rest = store.sweep(100);
        assertEquals(new SweepResult(4, 0, 0, false), rest,
                "the two left of the first three, the one after the cursor, the newer bucket");
        assertEquals(Set.of(behind, older), fx.markers().keySet(), "behind the cursor: left");

        assertEquals(new SweepResult(2, 0, 0, false), store.sweep(100), "the next pass");
        assertEquals(Map.of(), fx.markers());
    }

    /**
     * Entries that stay in place (sessions in use) are visited once per pass: the calls of a
     * pass move on past them, and the pass ends with {@code more} false instead of coming back
     * to them forever. The next pass visits them again.
     */
    @Test
    void sweep_everyEntryStaysInPlace_thePassVisitsEachOnceAndEnds() {
        List<String> ids = sessionsInOneBucket(7);
        fx.clock.advance(Duration.ofMinutes(5));
        List<SessionLock> locks = lockAll(ids);
        try {
            List<SweepResult> pass = drain(2, 10);
            assertEquals(List.of(new SweepResult(2, 0, 2, true), new SweepResult(2, 0, 2, true),
                    new SweepResult(2, 0, 2, true), new SweepResult(1, 0, 1, false)), pass);
            assertEquals(new SweepResult(2, 0, 2, true), store.sweep(2),
                    "a new pass starts from the oldest bucket again");
        } finally {
            closeAll(locks);
        }
        assertEquals(7, fx.markers().size());
        assertEquals(List.of(new SweepResult(5, 5, 0, false)), drain(100, 2),
                "the rest of the pass begun under the locks: the names after its cursor");
        assertEquals(List.of(new SweepResult(2, 2, 0, false)), drain(100, 2),
                "the next pass: the two before it");
        assertEquals(Map.of(), fx.markers());
    }

    /**
     * An interrupted thread can read no session file (an interrupt closes the channel of a
     * read): it skips every marker. A pass still ends after visiting each once; the wrap-around
     * tried before never ended here.
     */
    @Test
    void sweep_interruptedThread_thePassEnds() {
        List<String> ids = sessionsInOneBucket(5);
        fx.clock.advance(Duration.ofMinutes(5));
        List<SweepResult> pass;
        Thread.currentThread().interrupt();
        try {
            pass = drain(2, 10);
        } finally {
            Thread.interrupted(); // clears the status for the rest of the test
        }
        int examined = pass.stream().mapToInt(SweepResult::examined).sum();
        int removed = pass.stream().mapToInt(SweepResult::removed).sum();
        int skipped = pass.stream().mapToInt(SweepResult::skipped).sum();
        assertEquals(5, examined, "each visited once: " + pass);
        assertEquals(5, removed + skipped, pass.toString());
        assertTrue(pass.size() <= 4, "ceil(5 / 2) + 1 calls at most: " + pass);
        drain(100, 2);
        for (String id : ids) {
            assertFalse(fx.stored(id));
        }
    }

    /**
     * A call lists each due bucket it enters in full (keeping only the smallest names after the
     * cursor), so a pass over {@code M} markers of one bucket with limit {@code L} reads about
     * {@code M * M / (2 * L)} directory entries: counted here, as docs/design.md states it.
     */
    @Test
    void sweep_passOverOneBucket_listsTheRestOfTheBucketPerCall() {
        int markers = 200;
        int limit = 10;
        long bucket = fx.clock.millis() - 5_000;
        for (String id : ghostIds(markers)) {
            fx.plantMarker(id, bucket);
        }
        long listed = store.sweeper().entriesListed.sum();
        long visited = store.sweeper().entriesVisited.sum();
        List<SweepResult> pass = drain(limit, markers);
        assertEquals(markers / limit, pass.size());
        // call i lists the markers the calls before it did not drop: 200 + 190 + ... + 10
        assertEquals(markers * (markers / limit + 1) / 2,
                store.sweeper().entriesListed.sum() - listed);
        // one bucket in each call's top listing, and each marker once
        assertEquals(pass.size() + markers, store.sweeper().entriesVisited.sum() - visited);
    }

    @Test
    void nameWindow_keepsTheSmallestNamesAfterTheCursor_inOrder() {
        NameWindow window = new NameWindow(Path.of("m"), 3);
        for (String name : List.of("z", "a", "q", "m", "n", "b", "p", "y")) {
            window.offer(Path.of("bucket", name));
        }
        assertEquals(3, window.before(), "a, b and m itself are not after m");
        assertEquals(List.of(Path.of("bucket", "n"), Path.of("bucket", "p"),
                Path.of("bucket", "q")), window.sorted());
        NameWindow all = new NameWindow(null, 10);
        all.offer(Path.of("b"));
        all.offer(Path.of("a"));
        assertEquals(List.of(Path.of("a"), Path.of("b")), all.sorted());
        assertEquals(0, all.before());
    }

    /** Sweeps until a call says no more, at most {@code maxCalls} times; the results. */
    private List<SweepResult> drain(int limit, int maxCalls) {
        List<SweepResult> results = new ArrayList<>();
        SweepResult result;
        do {
            assertTrue(results.size() < maxCalls, "the pass does not end: " + results);
            result = store.sweep(limit);
            results.add(result);
        } while (result.more());
        return results;
    }
}
