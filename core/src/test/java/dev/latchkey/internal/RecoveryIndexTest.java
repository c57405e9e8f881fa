package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.LockTimeoutException;
import dev.latchkey.MutableClock;
import dev.latchkey.RecoveryReport;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.StoreConfig;
import dev.latchkey.SweepResult;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code recover()} gives sessions without an expiry marker (a directory from before the index, a
 * marker deleted by hand) the marker of their current bucket, so that sweeps find them; sessions
 * that have a marker are not read.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class RecoveryIndexTest {
    @TempDir
    Path temp;
    private Path dir;
    private Layout layout;
    private MutableClock clock;
    private FileSessionStore store;

    @BeforeEach
    void open() {
        dir = temp.resolve("store");
        layout = new Layout(dir);
        clock = MutableClock.atFixedStart();
        store = FileSessionStore.open(StoreConfig.builder(dir).clock(clock)
                .lockTimeout(Duration.ofSeconds(1)).build());
    }

    @AfterEach
    void close() {
        store.close();
    }

    private Session create(Duration interval) {
        return store.create(store.change().set("user", "alice").maxInactiveInterval(interval)
                .build());
    }

    private boolean stored(String id) {
        return Files.exists(layout.current(id), LinkOption.NOFOLLOW_LINKS)
                || Files.exists(layout.old(id), LinkOption.NOFOLLOW_LINKS);
    }

    /** Every marker of the index: id to the buckets it is in. */
    private Map<String, List<Long>> markers() {
        Map<String, List<Long>> all = new TreeMap<>();
        if (!Files.isDirectory(layout.expiry())) {
            return all;
        }
        try (Stream<Path> buckets = Files.list(layout.expiry())) {
            for (Path bucket : buckets.toList()) {
                try (Stream<Path> entries = Files.list(bucket)) {
                    for (Path entry : entries.toList()) {
                        all.computeIfAbsent(entry.getFileName().toString(), k -> new ArrayList<>())
                                .add(Long.parseLong(bucket.getFileName().toString()));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return all;
    }

    /** The bucket the store itself gives a session's current state. */
    private long dueOf(Session s) {
        long interval = s.maxInactiveInterval().toMillis();
        long granule = ExpiryIndex.granularity(interval);
        long expiry = s.expiryTime().orElseThrow().toEpochMilli();
        return Math.floorDiv(expiry, granule) * granule + granule;
    }

    private void deleteIndex() throws IOException {
        try (Stream<Path> all = Files.walk(layout.expiry())) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }

    private void deleteMarker(String id) throws IOException {
        for (long due : markers().get(id)) {
            Files.delete(layout.expiry().resolve(Long.toString(due)).resolve(id));
        }
    }

    @Test
    void recover_withoutIndex_addsTheMarkersAndTheSweepRemovesOnlyTheExpired() throws Exception {
        Session shortLived = create(Duration.ofMinutes(1));
        Session live = create(Duration.ofMinutes(30));
        Session forever = create(Duration.ZERO);
        Session touched = create(Duration.ofMinutes(30));
        deleteIndex(); // as a directory written before the index existed
        clock.advance(Duration.ofMinutes(2));
        touched = store.commit(touched.id(), store.change().touch().build()).orElseThrow();
        deleteMarker(touched.id()); // the touch made one; a marker deleted by hand
        assertEquals(new SweepResult(0, 0, 0, false), store.sweep(100),
                "without markers no sweep finds anything");
        assertTrue(stored(shortLived.id()));

        RecoveryReport report = store.recover();
        assertTrue(report.isClean(), report.toString());
        assertEquals(3, report.markersAdded(), "the expirable ones: " + report);
        assertEquals(0, report.sessionsExamined(), "no leftovers");
        assertEquals(Map.of(shortLived.id(), List.of(dueOf(shortLived)),
                live.id(), List.of(dueOf(live)), touched.id(), List.of(dueOf(touched))),
                markers(), "each in the bucket of its current state, none for the other");

        SweepResult swept = store.sweep(100);
        assertEquals(1, swept.removed(), swept.toString());
        assertFalse(stored(shortLived.id()), "expired: swept");
        assertTrue(store.find(live.id()).isPresent());
        assertTrue(store.find(touched.id()).isPresent());
        assertTrue(store.find(forever.id()).isPresent());

        assertEquals(0, store.recover().markersAdded(), "nothing is missing any more");
        clock.advance(Duration.ofMinutes(40));
        assertEquals(2, store.sweep(100).removed(), "the 30-minute ones, once expired");
        assertTrue(store.find(forever.id()).isPresent());
    }

    /** A marker in any bucket brings a sweep to the session, so the session is not read. */
    @Test
    void recover_sessionWithAMarker_isNotRead_oneWithout_is() throws Exception {
        Session marked = create(Duration.ofMinutes(30));
        Session unmarked = create(Duration.ofMinutes(30));
        deleteMarker(unmarked.id());
        byte[] garbage = "damaged, but nobody asked".getBytes(StandardCharsets.UTF_8);
        Files.write(layout.current(marked.id()), garbage);
        Files.write(layout.current(unmarked.id()), garbage);

        RecoveryReport report = store.recover();
        assertEquals(0, report.markersAdded(), report.toString());
        assertEquals(1, report.quarantined(), "only the unmarked session was read");
        assertTrue(Files.exists(layout.current(marked.id())), "the marked one is not read");
        assertFalse(stored(unmarked.id()));
    }

    @Test
    void recover_loneOldWithoutMarker_isRepublishedAndMarked() throws Exception {
        Session s = create(Duration.ofMinutes(30));
        deleteMarker(s.id());
        Files.move(layout.current(s.id()), layout.old(s.id())); // died between the renames

        RecoveryReport report = store.recover();
        assertTrue(report.isClean(), report.toString());
        assertEquals(List.of(1L, 1L, 1L), List.of(report.sessionsExamined(), report.republished(),
                report.markersAdded()), report.toString());
        assertEquals(Map.of(s.id(), List.of(dueOf(s))), markers());
        assertTrue(Files.exists(layout.current(s.id())));
    }

    /** The listing recovery decides by: the ids with a marker in any bucket, due or not. */
    @Test
    void marked_holdsTheIdsWithAMarkerInAnyBucket() throws Exception {
        Session soon = create(Duration.ofSeconds(30));
        Session later = create(Duration.ofDays(2));
        Session forever = create(Duration.ZERO);
        Session deleted = create(Duration.ofMinutes(30));
        deleteMarker(deleted.id());
        ExpiryIndex.Marked marked = store.expiryIndex().marked();
        assertTrue(marked.contains(soon.id()));
        assertTrue(marked.contains(later.id()));
        assertFalse(marked.contains(forever.id()));
        assertFalse(marked.contains(deleted.id()));
        Session created = create(Duration.ofMinutes(30));
        assertFalse(marked.contains(created.id()), "a listing, not a live view");
        assertEquals(1, store.recover().markersAdded(), "the deleted one only");
        assertTrue(store.expiryIndex().marked().contains(created.id()));
    }

    @Test
    void recover_unmarkedSessionWhoseLockIsBusy_isReportedAndMarkedNextTime() throws Exception {
        Session s = create(Duration.ofMinutes(30));
        deleteMarker(s.id());
        RecoveryReport report;
        try (SessionLock held = store.lock(s.id())) {
            report = store.recover();
            assertEquals(s.id(), held.id());
        }
        assertEquals(1, report.errors().size(), report.toString());
        assertTrue(report.errors().get(0) instanceof LockTimeoutException);
        assertEquals(0, report.markersAdded());
        assertFalse(markers().containsKey(s.id()), "not touched without its lock");

        assertEquals(1, store.recover().markersAdded());
        assertEquals(Map.of(s.id(), List.of(dueOf(s))), markers());
    }
}
