package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SweepResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sweep and the expiry index it reads, with a fake clock: what is removed, what stays, which
 * markers exist after each writer operation, and how much work a sweep does.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class ExpirySweepTest {
    private static final Duration HALF_HOUR = Duration.ofMinutes(30);
    private static final long MINUTE = 60_000;

    @TempDir
    Path temp;
    private IndexFixture fx;
    private Path dir;
    private Layout layout;
    private MutableClock clock;
    private FileSessionStore store;

    @BeforeEach
    void open() {
        fx = new IndexFixture(temp, b -> b.lockTimeout(Duration.ofSeconds(20))
                .defaultMaxInactiveInterval(HALF_HOUR));
        dir = fx.dir;
        layout = fx.layout;
        clock = fx.clock;
        store = fx.store;
    }

    @AfterEach
    void close() {
        fx.close();
    }

    private void advance(Duration amount) {
        clock.advance(amount);
    }

    /** The bucket a session with this expiry time and interval belongs to. */
    private static long dueOf(long expiryMillis, long granule) {
        return Math.floorDiv(expiryMillis, granule) * granule + granule;
    }

    private long expiryOf(Session s) {
        return s.expiryTime().orElseThrow().toEpochMilli();
    }

    private static String unknownId() {
        return SessionIds.generate();
    }

    // ---- the index as writers keep it ----

    @Test
    void create_putsOneMarkerInTheBucketOfItsExpiry() {
        Session s = fx.create(HALF_HOUR);
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(s), MINUTE))), fx.markers());
    }

    @Test
    void create_neverExpiring_hasNoMarker() {
        fx.create(Duration.ZERO);
        fx.create(Duration.ofSeconds(-5));
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void granularity_isTheCoarsestStepWithin1Over16OfTheInterval() {
        assertEquals(1_000, ExpiryIndex.granularity(1));
        assertEquals(1_000, ExpiryIndex.granularity(2_000));
        assertEquals(1_000, ExpiryIndex.granularity(159_999));
        assertEquals(10_000, ExpiryIndex.granularity(160_000));
        assertEquals(60_000, ExpiryIndex.granularity(HALF_HOUR.toMillis()));
        assertEquals(600_000, ExpiryIndex.granularity(Duration.ofHours(3).toMillis()));
        assertEquals(3_600_000, ExpiryIndex.granularity(Duration.ofDays(1).toMillis()));
        assertEquals(86_400_000, ExpiryIndex.granularity(Duration.ofDays(365).toMillis()));
        assertEquals(86_400_000, ExpiryIndex.granularity(SessionRecord.MAX_INTERVAL_MILLIS));
    }

    @Test
    void due_isTheEndOfTheGranuleHoldingTheExpiry_andNeverOverflows() {
        SessionRecord r = new SessionRecord("x", 0, 59_999, 1_000, 0, Map.of());
        assertEquals(61_000, ExpiryIndex.due(r)); // expiry 60,999 ends in granule [60 s, 61 s)
        SessionRecord exact = new SessionRecord("x", 0, 59_000, 1_000, 0, Map.of());
        assertEquals(61_000, ExpiryIndex.due(exact)); // expiry 60,000 is in [60 s, 61 s)
        assertTrue(ExpiryIndex.due(new SessionRecord("x", 0, Long.MAX_VALUE - 5,
                SessionRecord.MAX_INTERVAL_MILLIS, 0, Map.of())) > 0);
        assertEquals(ExpiryIndex.NONE, ExpiryIndex.due(new SessionRecord("x", 0, 0, 0, 0,
                Map.of())));
    }

    @Test
    void commit_touchWithinTheGranule_doesNoIndexIo_acrossItMovesTheMarker() {
        Session s = fx.create(HALF_HOUR); // the clock stands at a minute boundary
        long before = store.expiryIndex().writerOperations.sum();
        for (int i = 0; i < 50; i++) {
            advance(Duration.ofMillis(1_000));
            store.commit(s.id(), store.change().touch().set("n", i).build()).orElseThrow();
        }
        assertEquals(before, store.expiryIndex().writerOperations.sum(),
                "50 touches within one minute create or unlink no marker");
        advance(Duration.ofSeconds(15)); // crosses into the next minute
        Session touched = store.commit(s.id(), store.change().touch().build()).orElseThrow();
        assertEquals(before + 2, store.expiryIndex().writerOperations.sum(),
                "one marker created, one unlinked");
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(touched), MINUTE))), fx.markers());
    }

    @Test
    void commit_shorterOrLongerInterval_movesTheMarker() {
        Session s = fx.create(HALF_HOUR);
        Session shorter = store.commit(s.id(), store.change()
                .maxInactiveInterval(Duration.ofMinutes(2)).build()).orElseThrow();
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(shorter), 1_000))), fx.markers());
        Session longer = store.commit(s.id(), store.change()
                .maxInactiveInterval(Duration.ofHours(5)).build()).orElseThrow();
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(longer), 600_000))), fx.markers());
        store.commit(s.id(), store.change().maxInactiveInterval(Duration.ZERO).build())
                .orElseThrow();
        assertEquals(Map.of(), fx.markers(), "a session that never expires has no marker");
        Session again = store.commit(s.id(), store.change().maxInactiveInterval(HALF_HOUR)
                .build()).orElseThrow();
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(again), MINUTE))), fx.markers());
    }

    @Test
    void update_changesNoTime_andDoesNoIndexIo() {
        Session s = fx.create(HALF_HOUR);
        long before = store.expiryIndex().writerOperations.sum();
        advance(Duration.ofMinutes(5));
        store.update(s.id(), "n", v -> v == null ? 1 : (Integer) v + 1).orElseThrow();
        assertEquals(before, store.expiryIndex().writerOperations.sum());
    }

    @Test
    void changeId_movesTheMarkerToTheNewId() {
        Session s = fx.create(HALF_HOUR);
        Session moved = store.changeId(s.id()).orElseThrow();
        assertEquals(Map.of(moved.id(), List.of(dueOf(expiryOf(s), MINUTE))), fx.markers());
        try (SessionLock lock = store.lock(moved.id())) {
            String third = lock.changeId().orElseThrow().id();
            assertEquals(Map.of(third, List.of(dueOf(expiryOf(s), MINUTE))), fx.markers());
        }
    }

    @Test
    void invalidate_removesTheMarker_alsoThroughALock() {
        Session a = fx.create(HALF_HOUR);
        Session b = fx.create(HALF_HOUR);
        assertTrue(store.invalidate(a.id()));
        try (SessionLock lock = store.lock(b.id())) {
            assertTrue(lock.invalidate());
        }
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void writerMeetingAnExpiredSession_removesItsFilesAndMarker() {
        Session s = fx.create(Duration.ofMinutes(2));
        advance(Duration.ofMinutes(3));
        assertTrue(store.commit(s.id(), store.change().set("a", 1).build()).isEmpty());
        assertFalse(fx.stored(s.id()));
        assertEquals(Map.of(), fx.markers());
    }

    // ---- the sweep ----

    @Test
    void sweep_removesExpired_keepsUnexpiredAndNeverExpiring() {
        Session shortLived = fx.create(Duration.ofMinutes(2));
        Session longLived = fx.create(HALF_HOUR);
        Session forever = fx.create(Duration.ZERO);
        advance(Duration.ofMinutes(10));

        SweepResult result = store.sweep(100);

        assertEquals(new SweepResult(1, 1, 0, false), result);
        assertFalse(fx.stored(shortLived.id()));
        assertTrue(store.find(longLived.id()).isPresent());
        assertTrue(store.find(forever.id()).isPresent());
        assertEquals(Set.of(longLived.id()), fx.markers().keySet());
        assertEquals(1, store.sweptSessions());
        assertEquals(1, store.stats().swept(), "the swept counter of StoreStats");
    }

    @Test
    void sweep_beforeTheGranuleEnds_leavesAnExpiredSession_oneGranuleLaterRemovesIt() {
        Session s = fx.create(Duration.ofSeconds(32)); // granule 1 s; expiry at +32 s exactly
        advance(Duration.ofMillis(32_500));
        assertTrue(store.find(s.id()).isEmpty(), "expired: missing for every operation");
        assertEquals(new SweepResult(0, 0, 0, false), store.sweep(10),
                "bucket +33 s is not due yet; nothing is even looked at");
        assertTrue(fx.stored(s.id()));
        advance(Duration.ofMillis(500));
        assertEquals(new SweepResult(1, 1, 0, false), store.sweep(10));
        assertFalse(fx.stored(s.id()));
    }

    @Test
    void sweep_nothingDue_looksAtNoSessionFile() {
        for (int i = 0; i < 20; i++) {
            fx.create(HALF_HOUR);
        }
        advance(Duration.ofMinutes(29));
        assertEquals(new SweepResult(0, 0, 0, false), store.sweep(100));
        assertEquals(0, store.sweeper().sessionsRead.sum());
    }

    @Test
    void sweep_limit_isRespected_andTheNextCallResumes() {
        Set<String> doomed = new HashSet<>();
        for (int i = 0; i < 7; i++) {
            doomed.add(fx.create(Duration.ofMinutes(1 + i % 3)).id());
        }
        advance(Duration.ofMinutes(10));
        assertEquals(new SweepResult(3, 3, 0, true), store.sweep(3));
        assertEquals(new SweepResult(3, 3, 0, true), store.sweep(3));
        assertEquals(new SweepResult(1, 1, 0, false), store.sweep(3));
        assertEquals(new SweepResult(0, 0, 0, false), store.sweep(3));
        for (String id : doomed) {
            assertFalse(fx.stored(id));
        }
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void sweep_limitExactlyTheDueCount_saysNoMore() {
        fx.create(Duration.ofMinutes(1));
        fx.create(Duration.ofMinutes(1));
        advance(Duration.ofMinutes(10));
        assertEquals(new SweepResult(2, 2, 0, false), store.sweep(2));
    }

    @Test
    void sweep_removesDueBucketsOnceEmpty_andLeavesFutureOnes() throws IOException {
        fx.create(Duration.ofMinutes(1));
        Session live = fx.create(HALF_HOUR);
        advance(Duration.ofMinutes(10));
        store.sweep(10);
        try (Stream<Path> buckets = Files.list(layout.expiry())) {
            assertEquals(List.of(Long.toString(dueOf(expiryOf(live), MINUTE))),
                    buckets.map(p -> p.getFileName().toString()).toList());
        }
    }

    @Test
    void sweep_markerOfAMissingSession_isDropped() throws IOException {
        String ghost = unknownId(); // a create that crashed after its marker, or planted
        fx.plantMarker(ghost, clock.millis() - 5_000);
        SweepResult result = store.sweep(10);
        assertEquals(new SweepResult(1, 0, 0, false), result);
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void sweep_staleMarkerOfALiveSession_keepsIt_andLeavesOnlyTheRightMarker()
            throws IOException {
        Session s = fx.create(HALF_HOUR);
        long stale = clock.millis() - 1_000; // a move that crashed before unlinking the old one
        fx.plantMarker(s.id(), stale);
        assertEquals(new SweepResult(1, 0, 0, false), store.sweep(10));
        assertEquals(s.attributes(), store.find(s.id()).orElseThrow().attributes());
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(s), MINUTE))), fx.markers());
    }

    @Test
    void sweep_staleMarkerOfALiveSessionWhoseMarkerIsMissing_recreatesIt() throws IOException {
        Session s = fx.create(HALF_HOUR);
        Files.delete(layout.expiry().resolve(Long.toString(dueOf(expiryOf(s), MINUTE)))
                .resolve(s.id()));
        fx.plantMarker(s.id(), clock.millis());
        store.sweep(10);
        assertTrue(store.find(s.id()).isPresent());
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(s), MINUTE))), fx.markers());
    }

    @Test
    void sweep_sessionTouchedAfterItsMarkerWasListed_isKept() {
        // the marker of the state the sweep would have seen is gone: the touch moved it
        Session s = fx.create(Duration.ofMinutes(2));
        advance(Duration.ofSeconds(90));
        store.commit(s.id(), store.change().touch().build()).orElseThrow();
        advance(Duration.ofSeconds(60)); // past the first expiry, before the touched one
        assertEquals(new SweepResult(0, 0, 0, false), store.sweep(10));
        assertTrue(store.find(s.id()).isPresent());
    }

    @Test
    void sweep_aStaleMarkerMetByASweepThatTheSessionWasTouchedPast_isHarmless()
            throws IOException {
        // both markers exist (a touch crashed between creating the new and unlinking the old)
        Session s = fx.create(Duration.ofMinutes(2));
        long oldDue = dueOf(expiryOf(s), 1_000);
        advance(Duration.ofSeconds(90));
        Session touched = store.commit(s.id(), store.change().touch().build()).orElseThrow();
        fx.plantMarker(s.id(), oldDue);
        advance(Duration.ofSeconds(60));
        assertEquals(new SweepResult(1, 0, 0, false), store.sweep(10));
        assertTrue(store.find(s.id()).isPresent());
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(touched), 1_000))), fx.markers());
    }

    @Test
    void sweep_afterShorterInterval_removesAtTheNewExpiry_afterLonger_keepsPastTheOld() {
        Session shortened = fx.create(HALF_HOUR);
        Session lengthened = fx.create(Duration.ofMinutes(2));
        store.commit(shortened.id(), store.change().maxInactiveInterval(Duration.ofMinutes(1))
                .build()).orElseThrow();
        store.commit(lengthened.id(), store.change().maxInactiveInterval(HALF_HOUR).build())
                .orElseThrow();
        advance(Duration.ofMinutes(3));
        assertEquals(new SweepResult(1, 1, 0, false), store.sweep(10));
        assertFalse(fx.stored(shortened.id()));
        assertTrue(store.find(lengthened.id()).isPresent());
    }

    @Test
    void sweep_sessionPutIntoThePastByACommit_isFound_alsoIfItsBucketWasRemoved() {
        Session s = fx.create(HALF_HOUR);
        Session keep = fx.create(Duration.ofMinutes(1));
        advance(Duration.ofMinutes(10));
        store.sweep(10); // removes keep, and its (now past) bucket
        // shorten without a touch: expiry = created + 1 min, ten minutes ago
        Session after = store.commit(s.id(), store.change().maxInactiveInterval(
                Duration.ofMinutes(1)).build()).orElseThrow();
        assertTrue(after.expiryTime().orElseThrow().isBefore(clock.instant()));
        assertEquals(Map.of(s.id(), List.of(dueOf(expiryOf(after), 1_000))), fx.markers(),
                "the marker went into a past bucket, made again");
        assertEquals(new SweepResult(1, 1, 0, false), store.sweep(10));
        assertFalse(fx.stored(s.id()));
        assertFalse(fx.stored(keep.id()));
    }

    @Test
    void sweep_busySession_isSkippedWithoutWaiting_andRemovedOnceFree() throws Exception {
        Session busy = fx.create(Duration.ofMinutes(1));
        Session idle = fx.create(Duration.ofMinutes(1));
        advance(Duration.ofMinutes(5));
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch done = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            try (SessionLock lock = store.lock(busy.id())) {
                assertEquals(busy.id(), lock.id()); // holds it without reading (that would
                                                    // meet it expired and remove it)
                held.countDown();
                done.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "request-holding-the-lock");
        holder.start();
        try {
            assertTrue(held.await(30, TimeUnit.SECONDS));
            // the lock timeout is 20 s: a sweep that waited for the lock would run into this
            SweepResult result = assertTimeoutPreemptively(Duration.ofSeconds(10),
                    () -> store.sweep(10));
            assertEquals(new SweepResult(2, 1, 1, false), result);
            assertTrue(fx.stored(busy.id()), "a session in use is not removed");
            assertFalse(fx.stored(idle.id()));
            assertEquals(Set.of(busy.id()), fx.markers().keySet());
        } finally {
            done.countDown();
            holder.join(30_000);
        }
        assertEquals(new SweepResult(1, 1, 0, false), store.sweep(10));
        assertFalse(fx.stored(busy.id()));
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void sweep_busySessions_doNotCountTowardTheLimit() throws Exception {
        Session busy = fx.create(Duration.ofMinutes(1));
        advance(Duration.ofMinutes(5));
        try (SessionLock lock = store.lock(busy.id())) {
            // this thread holds it: the sweep must neither wait for itself nor loop
            assertEquals(new SweepResult(1, 0, 1, false), store.sweep(1));
            assertTrue(lock.session().isEmpty(), "expired meanwhile, for the holder too");
        }
        assertFalse(fx.stored(busy.id()), "the holder met it expired and removed it");
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void sweep_sessionCommittedMeanwhileByALockHolder_isKept() {
        Session s = fx.create(Duration.ofMinutes(1));
        advance(Duration.ofSeconds(59));
        try (SessionLock lock = store.lock(s.id())) {
            advance(Duration.ofSeconds(2)); // it expires while held...
            assertEquals(new SweepResult(1, 0, 1, false), store.sweep(10), "...but is busy");
            assertTrue(lock.session().isEmpty());
        }
        assertFalse(fx.stored(s.id()));
    }

    @Test
    void sweep_damagedSessionFile_isQuarantinedAndTheSweepGoesOn() throws IOException {
        Session damaged = fx.create(Duration.ofMinutes(1));
        Session expired = fx.create(Duration.ofMinutes(1));
        Files.write(layout.current(damaged.id()), new byte[0]);
        advance(Duration.ofMinutes(5));
        SweepResult result = store.sweep(10);
        assertEquals(2, result.examined());
        assertEquals(1, result.removed());
        assertFalse(fx.stored(damaged.id()));
        assertFalse(fx.stored(expired.id()));
        assertEquals(Map.of(), fx.markers());
        try (Stream<Path> q = Files.list(layout.quarantine())) {
            assertEquals(1, q.count());
        }
    }

    @Test
    void sweep_byAStoreWithAnotherMacKey_leavesSessionsAndMarkers_forAStoreThatCanReadThem() {
        Session s = fx.create(Duration.ofMinutes(1));
        Map<String, List<Long>> before = fx.markers();
        FileSessionStore misconfigured = fx.open(fx.config()
                .macKey(TestKeys.random()).build());
        advance(Duration.ofMinutes(5));
        assertEquals(new SweepResult(1, 0, 1, false), misconfigured.sweep(10));
        assertTrue(fx.stored(s.id()), "refused and left in place");
        assertEquals(before, fx.markers(), "the marker stays for a store with the right key");
        assertEquals(new SweepResult(1, 1, 0, false), store.sweep(10));
        assertFalse(fx.stored(s.id()));
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void sweep_foreignEntriesOfADueBucket_areRemoved_otherTopLevelNamesAreLeftAlone()
            throws IOException {
        Path bucket = layout.expiry().resolve(Long.toString(clock.millis() - 1_000));
        Files.createDirectories(bucket.resolve("a-directory"));
        Files.createFile(bucket.resolve("not-an-id"));
        Path stray = Files.createDirectories(layout.expiry().resolve("README"));
        Files.createDirectories(layout.expiry().resolve(Long.toString(clock.millis() + MINUTE))
                .resolve("not-an-id-either"));
        for (int round = 0; round < 2; round++) {
            SweepResult result = store.sweep(10);
            assertFalse(result.more());
        }
        assertFalse(Files.exists(bucket), "a due bucket left empty is removed");
        assertTrue(Files.isDirectory(stray));
        assertTrue(Files.isDirectory(layout.expiry().resolve(Long.toString(clock.millis()
                + MINUTE))), "a future bucket is not walked");
    }

    @Test
    void sweep_plantedMarkerDirectoryWithContent_isMovedAsideAndTheSweepGoesOn()
            throws IOException {
        Session s = fx.create(Duration.ofMinutes(1));
        long due = dueOf(expiryOf(s), 1_000);
        String planted = unknownId();
        Path dirMarker = layout.expiry().resolve(Long.toString(due)).resolve(planted);
        Files.createDirectories(dirMarker.resolve("inside"));
        advance(Duration.ofMinutes(5));
        SweepResult result = store.sweep(10);
        assertEquals(new SweepResult(2, 1, 0, false), result);
        assertFalse(fx.stored(s.id()));
        assertEquals(Map.of(), fx.markers());
    }

    @Test
    void sweep_inAnotherStoreOnTheSameDirectory_seesTheSameIndex() {
        FileSessionStore other = fx.open(fx.config().build());
        Session s = fx.create(Duration.ofMinutes(1));
        advance(Duration.ofMinutes(5));
        assertEquals(new SweepResult(1, 1, 0, false), other.sweep(10));
        assertFalse(fx.stored(s.id()));
        assertEquals(1, other.sweptSessions());
        assertEquals(0, store.sweptSessions());
    }

    @Test
    void sweep_argumentsAndClosedStore_areRefused() {
        assertThrows(IllegalArgumentException.class, () -> store.sweep(0));
        assertThrows(IllegalArgumentException.class, () -> store.sweep(-1));
        store.close();
        assertThrows(IllegalStateException.class, () -> store.sweep(10));
    }

    @Test
    void sweepResult_refusesInconsistentCounts() {
        assertThrows(IllegalArgumentException.class, () -> new SweepResult(-1, 0, 0, false));
        assertThrows(IllegalArgumentException.class, () -> new SweepResult(1, 1, 1, false));
        assertEquals(new SweepResult(3, 1, 2, true), new SweepResult(3, 1, 2, true));
    }
}
