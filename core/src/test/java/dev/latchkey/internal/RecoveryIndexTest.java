package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.LockTimeoutException;
import dev.latchkey.MutableClock;
import dev.latchkey.RecoveryReport;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SweepResult;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
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
    private IndexFixture fx;
    private Layout layout;
    private MutableClock clock;
    private FileSessionStore store;

    @BeforeEach
    void open() {
        fx = new IndexFixture(temp, b -> b.lockTimeout(Duration.ofSeconds(1)));
        layout = fx.layout;
        clock = fx.clock;
        store = fx.store;
    }

    @AfterEach
    void close() {
        fx.close();
    }

    @Test
    void recover_withoutIndex_addsTheMarkersAndTheSweepRemovesOnlyTheExpired() throws Exception {
        Session shortLived = fx.create(Duration.ofMinutes(1));
        Session live = fx.create(Duration.ofMinutes(30));
        Session forever = fx.create(Duration.ZERO);
        Session touched = fx.create(Duration.ofMinutes(30));
        fx.deleteIndex(); // as a directory written before the index existed
        clock.advance(Duration.ofMinutes(2));
        touched = store.commit(touched.id(), store.change().touch().build()).orElseThrow();
        fx.deleteMarker(touched.id()); // the touch made one; a marker deleted by hand
        assertEquals(new SweepResult(0, 0, 0, false), store.sweep(100),
                "without markers no sweep finds anything");
        assertTrue(fx.stored(shortLived.id()));

        RecoveryReport report = store.recover();
        assertTrue(report.isClean(), report.toString());
        assertEquals(3, report.markersAdded(), "the expirable ones: " + report);
        assertEquals(0, report.sessionsExamined(), "no leftovers");
        assertEquals(Map.of(shortLived.id(), List.of(IndexFixture.dueOf(shortLived)),
                live.id(), List.of(IndexFixture.dueOf(live)), touched.id(), List.of(IndexFixture.dueOf(touched))),
                fx.markers(), "each in the bucket of its current state, none for the other");

        SweepResult swept = store.sweep(100);
        assertEquals(1, swept.removed(), swept.toString());
        assertFalse(fx.stored(shortLived.id()), "expired: swept");
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
        Session marked = fx.create(Duration.ofMinutes(30));
        Session unmarked = fx.create(Duration.ofMinutes(30));
        fx.deleteMarker(unmarked.id());
        byte[] garbage = "damaged, but nobody asked".getBytes(StandardCharsets.UTF_8);
        Files.write(layout.current(marked.id()), garbage);
        Files.write(layout.current(unmarked.id()), garbage);

        RecoveryReport report = store.recover();
        assertEquals(0, report.markersAdded(), report.toString());
        assertEquals(1, report.quarantined(), "only the unmarked session was read");
        assertTrue(Files.exists(layout.current(marked.id())), "the marked one is not read");
        assertFalse(fx.stored(unmarked.id()));
    }

    @Test
    void recover_loneOldWithoutMarker_isRepublishedAndMarked() throws Exception {
        Session s = fx.create(Duration.ofMinutes(30));
        fx.deleteMarker(s.id());
        Files.move(layout.current(s.id()), layout.old(s.id())); // died between the renames

        RecoveryReport report = store.recover();
        assertTrue(report.isClean(), report.toString());
        assertEquals(List.of(1L, 1L, 1L), List.of(report.sessionsExamined(), report.republished(),
                report.markersAdded()), report.toString());
        assertEquals(Map.of(s.id(), List.of(IndexFixture.dueOf(s))), fx.markers());
        assertTrue(Files.exists(layout.current(s.id())));
    }

    /** The listing recovery decides by: the ids with a marker in any bucket, due or not. */
    @Test
    void marked_holdsTheIdsWithAMarkerInAnyBucket() throws Exception {
        Session soon = fx.create(Duration.ofSeconds(30));
        Session later = fx.create(Duration.ofDays(2));
        Session forever = fx.create(Duration.ZERO);
        Session deleted = fx.create(Duration.ofMinutes(30));
        fx.deleteMarker(deleted.id());
        ExpiryIndex.Marked marked = store.expiryIndex().marked();
        assertTrue(marked.contains(soon.id()));
        assertTrue(marked.contains(later.id()));
        assertFalse(marked.contains(forever.id()));
        assertFalse(marked.contains(deleted.id()));
        Session created = fx.create(Duration.ofMinutes(30));
        assertFalse(marked.contains(created.id()), "a listing, not a live view");
        assertEquals(1, store.recover().markersAdded(), "the deleted one only");
        assertTrue(store.expiryIndex().marked().contains(created.id()));
    }

    @Test
    void recover_unmarkedSessionWhoseLockIsBusy_isReportedAndMarkedNextTime() throws Exception {
        Session s = fx.create(Duration.ofMinutes(30));
        fx.deleteMarker(s.id());
        RecoveryReport report;
        try (SessionLock held = store.lock(s.id())) {
            report = store.recover();
            assertEquals(s.id(), held.id());
        }
        assertEquals(1, report.errors().size(), report.toString());
        assertTrue(report.errors().get(0) instanceof LockTimeoutException);
        assertEquals(0, report.markersAdded());
        assertFalse(fx.markers().containsKey(s.id()), "not touched without its lock");

        assertEquals(1, store.recover().markersAdded());
        assertEquals(Map.of(s.id(), List.of(IndexFixture.dueOf(s))), fx.markers());
    }
}
