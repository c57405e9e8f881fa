package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.LockTimeoutException;
import dev.latchkey.MutableClock;
import dev.latchkey.RecoveryReport;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The states a crash can leave between the steps of the publish protocol (see
 * {@link SessionFiles}), built from real files the store wrote: readers apply the rule "ID if it
 * exists, else ID.old, else no session", and the next lock holder tidies up; or
 * {@link SessionStore#recover()} does, by the same repair, for every session at once.
 */
final class CrashLeftoversTest {
    @TempDir
    Path temp;
    private Path dir;
    private Layout layout;
    private SessionStore store;
    private String id;
    /** The file of revision 0 ({@code a=1}) and of revision 1 ({@code a=2}). */
    private byte[] revision0;
    private byte[] revision1;

    @BeforeEach
    void open() throws Exception {
        dir = temp.resolve("store");
        layout = new Layout(dir);
        store = SessionStore.open(StoreConfig.builder(dir).clock(MutableClock.atFixedStart())
                .lockTimeout(Duration.ofSeconds(2)).build());
        id = store.create(store.change().set("a", 1).build()).id();
        revision0 = Files.readAllBytes(layout.current(id));
        store.commit(id, store.change().set("a", 2).build()).orElseThrow();
        revision1 = Files.readAllBytes(layout.current(id));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private boolean exists(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    private void assertOnlyCurrentFile() {
        assertTrue(exists(layout.current(id)), "ID missing");
        assertFalse(exists(layout.old(id)), "ID.old left behind");
        assertFalse(exists(layout.temp(id)), "ID.tmp left behind");
    }

    /** Crash after step 2 (ID renamed to ID.old) and before step 3 (ID.tmp renamed to ID). */
    @Test
    void oldOnly_crashBetweenTheRenames_readAsOldStateAndRepublishedByNextCommit()
            throws Exception {
        Files.delete(layout.current(id));
        Files.write(layout.old(id), revision0);
        Files.write(layout.temp(id), revision1); // the unpublished next state

        Session found = store.find(id).orElseThrow();
        assertEquals(1, found.attribute("a"));
        assertEquals(0, found.revision());
        assertFalse(exists(layout.current(id)), "find must not write");

        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 1, "b", 3), after.attributes());
        assertEquals(1, after.revision());
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 1, "b", 3), store.find(id).orElseThrow().attributes());
    }

    @Test
    void oldOnly_withoutTemp_isTheSessionForEveryOperation() throws Exception {
        Files.move(layout.current(id), layout.old(id));
        assertEquals(2, store.find(id).orElseThrow().attribute("a"));
        assertEquals(5, store.update(id, "a", v -> (Integer) v + 3).orElseThrow().attribute("a"));
        assertOnlyCurrentFile();
    }

    @Test
    void oldOnly_changeId_movesStateAndRemovesEveryOldFile() throws Exception {
        Files.move(layout.current(id), layout.old(id));
        String newId = store.changeId(id).orElseThrow().id();
        assertEquals(2, store.find(newId).orElseThrow().attribute("a"));
        assertFalse(exists(layout.current(id)));
        assertFalse(exists(layout.old(id)));
        assertTrue(store.find(id).isEmpty());
    }

    /** Crash after step 3 and before step 4: ID is the new state, ID.old is stale. */
    @Test
    void currentWithStaleOld_currentWinsAndNextCommitRemovesOld() throws Exception {
        Files.write(layout.old(id), revision0);

        Session found = store.find(id).orElseThrow();
        assertEquals(2, found.attribute("a"));
        assertEquals(1, found.revision());

        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 2, "b", 3), after.attributes());
        assertEquals(2, after.revision());
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    /**
     * Crash after step 4 and before step 5, as a kill leaves it: the stale ID.old and an open
     * publish window; the next holder flags the stripe and removes ID.old as soon as it reads.
     */
    @Test
    void currentWithStaleOld_windowLeftOpen_nextHolderRemovesOldWhenItReads() throws Exception {
        Files.write(layout.old(id), revision0);
        CutShort.diedInWindow(dir, id);

        assertEquals(2, store.find(id).orElseThrow().attribute("a"));
        try (SessionLock lock = store.lock(id)) {
            assertEquals(2, lock.session().orElseThrow().attribute("a"));
            assertFalse(exists(layout.old(id)), "removed by the read under the lock");
            assertTrue(CutShort.flagged(dir, id), "the stripe stays flagged until recover()");
        }
        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 2, "b", 3), after.attributes());
        assertOnlyCurrentFile();
    }

    /**
     * A stale ID.old that no flag reports (planted, or left by an older version): a read under the
     * lock does not look for it, and it is harmless: ID wins, and the next publish replaces it.
     */
    @Test
    void currentWithStaleOld_unflagged_notLookedForAndReplacedByTheNextPublish() throws Exception {
        Files.write(layout.old(id), revision0);

        try (SessionLock lock = store.lock(id)) {
            assertEquals(2, lock.session().orElseThrow().attribute("a"));
            assertTrue(exists(layout.old(id)), "no system call spent looking for it");
            Session after = lock.commit(store.change().set("b", 3).build()).orElseThrow();
            assertEquals(Map.of("a", 2, "b", 3), after.attributes());
        }
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    /** An unflagged stale ID.old never stands in for a damaged ID that is moved aside. */
    @Test
    void damagedCurrentWithUnflaggedStaleOld_isNoSession_notTheStaleState() throws Exception {
        Files.write(layout.old(id), revision0);
        Files.write(layout.current(id), "damaged".getBytes(StandardCharsets.UTF_8));

        assertTrue(store.commit(id, store.change().set("b", 3).build()).isEmpty());
        assertFalse(exists(layout.old(id)), "removed with the damaged ID");
        assertFalse(exists(layout.current(id)), "quarantined");
        assertTrue(store.find(id).isEmpty());
    }

    /** A directory planted at ID.old is removed, never entered, and the publish goes through. */
    @Test
    void directoryAtOld_unflagged_publishRemovesItAndCommits() throws Exception {
        Files.createDirectories(layout.old(id).resolve("inside"));
        Files.write(layout.old(id).resolve("inside").resolve("f"), revision0);

        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 2, "b", 3), after.attributes());
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    @Test
    void recover_staleOldOfAFlaggedStripe_removesItAndClearsTheFlag() throws Exception {
        Files.write(layout.old(id), revision0);
        CutShort.diedInWindow(dir, id);

        // the odd sequence is repaired by the visit's own lock acquisition, not counted there
        assertReport(store.recover(), 1, 0, 1, 0, 0);
        assertOnlyCurrentFile();
        assertFalse(CutShort.flagged(dir, id), "nothing stale is left on the stripe");
        assertEquals(2, store.find(id).orElseThrow().attribute("a"));
    }

    /** Crash during step 1: ID.tmp holds garbage. */
    @Test
    void garbageTemp_ignoredByFindAndOverwrittenByNextCommit() throws Exception {
        Files.write(layout.temp(id), "garbage, longer than the real file will be; ".repeat(20)
                .getBytes(StandardCharsets.UTF_8));

        assertEquals(2, store.find(id).orElseThrow().attribute("a"));
        assertArrayEquals(revision1, Files.readAllBytes(layout.current(id)));

        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 2, "b", 3), after.attributes());
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
        assertFalse(exists(dir.resolve("quarantine")), "a temp file is not damage");
    }

    @Test
    void symlinkAtTemp_nextCommitDoesNotWriteThroughIt() throws Exception {
        Path victim = Files.writeString(temp.resolve("victim.txt"), "do not overwrite");
        Files.createSymbolicLink(layout.temp(id), victim);

        store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals("do not overwrite", Files.readString(victim));
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    @Test
    void directoryAtTemp_nextCommitRemovesItAndPublishes() throws Exception {
        Files.createDirectory(layout.temp(id));

        store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    @Test
    void garbageTempOnly_isNoSession() throws Exception {
        Files.move(layout.current(id), layout.temp(id));
        assertTrue(store.find(id).isEmpty());
        assertTrue(store.commit(id, store.change().set("b", 3).build()).isEmpty());
        assertFalse(exists(layout.current(id)));
    }

    @Test
    void staleOld_invalidate_removesBoth() throws Exception {
        Files.write(layout.old(id), revision0);
        assertTrue(store.invalidate(id));
        assertFalse(exists(layout.current(id)));
        assertFalse(exists(layout.old(id)));
        assertTrue(store.find(id).isEmpty());
        assertTrue(store.commit(id, store.change().set("b", 3).build()).isEmpty());
        assertFalse(exists(layout.current(id)));
        assertFalse(exists(layout.old(id)));
    }

    @Test
    void oldOnly_invalidate_removesItAndTemp() throws Exception {
        Files.delete(layout.current(id));
        Files.write(layout.old(id), revision0);
        Files.write(layout.temp(id), revision1);
        assertTrue(store.invalidate(id));
        assertFalse(exists(layout.old(id)));
        assertFalse(exists(layout.temp(id)));
        assertFalse(exists(layout.current(id)));
        assertTrue(store.find(id).isEmpty());
        assertFalse(store.invalidate(id));
    }

    // ---- recover(): the same repairs, for every session with leftovers ----

    private static void assertReport(RecoveryReport report, long examined, long republished,
            long removed, long quarantined, long sequences) {
        assertEquals(List.of(), report.errors(), "errors");
        assertTrue(report.isClean());
        assertEquals(List.of(examined, republished, removed, quarantined, sequences),
                List.of(report.sessionsExamined(), report.republished(),
                        report.leftoversRemoved(), report.quarantined(),
                        report.sequencesRepaired()),
                "examined, republished, removed, quarantined, sequences: " + report);
    }

    private List<Path> leftoverFiles() throws Exception {
        try (Stream<Path> files = Files.walk(dir.resolve("sessions"))) {
            return files.filter(p -> p.toString().endsWith(".tmp") || p.toString().endsWith(".old"))
                    .toList();
        }
    }

    @Test
    void recover_oldAndTemp_republishesTheOldStateAndRemovesTheTemp() throws Exception {
        Files.delete(layout.current(id));
        Files.write(layout.old(id), revision0);
        Files.write(layout.temp(id), revision1);

        assertReport(store.recover(), 1, 1, 1, 0, 0);
        assertOnlyCurrentFile();
        Session found = store.find(id).orElseThrow();
        assertEquals(Map.of("a", 1), found.attributes());
        assertEquals(0, found.revision(), "recovery publishes the state, it commits nothing");
    }

    @Test
    void recover_staleOld_removesItAndKeepsTheCurrentFileAsItWas() throws Exception {
        Files.write(layout.old(id), revision0);

        assertReport(store.recover(), 1, 0, 1, 0, 0);
        assertOnlyCurrentFile();
        assertArrayEquals(revision1, Files.readAllBytes(layout.current(id)));
    }

    @Test
    void recover_garbageTemp_isRemoved() throws Exception {
        Files.write(layout.temp(id), "garbage".getBytes(StandardCharsets.UTF_8));

        assertReport(store.recover(), 1, 0, 1, 0, 0);
        assertOnlyCurrentFile();
        assertArrayEquals(revision1, Files.readAllBytes(layout.current(id)));
    }

    /** The next commit never removes a temp file of a session that is gone; recovery does. */
    @Test
    void recover_tempOfNoSession_isRemoved() throws Exception {
        Files.move(layout.current(id), layout.temp(id));

        assertReport(store.recover(), 1, 0, 1, 0, 0);
        assertEquals(List.of(), leftoverFiles());
        assertFalse(exists(layout.current(id)));
        assertTrue(store.find(id).isEmpty());
    }

    @Test
    void recover_damagedLoneOld_isQuarantined() throws Exception {
        Files.delete(layout.current(id));
        Files.write(layout.old(id), java.util.Arrays.copyOf(revision0, revision0.length / 2));

        assertReport(store.recover(), 1, 0, 0, 1, 0);
        assertEquals(List.of(), leftoverFiles());
        try (Stream<Path> moved = Files.list(dir.resolve("quarantine"))) {
            assertEquals(1, moved.count());
        }
        assertTrue(store.find(id).isEmpty());
        assertEquals(1, store.stats().quarantined());
    }

    @Test
    void recover_sessionWithoutLeftovers_isNotRead() throws Exception {
        Files.write(layout.current(id), "damaged, but nobody asked".getBytes(StandardCharsets.UTF_8));

        assertReport(store.recover(), 0, 0, 0, 0, 0);
        assertTrue(exists(layout.current(id)), "recovery reads only sessions with leftovers");
    }

    @Test
    void recover_oddPublishSequence_isMadeEven() {
        int stripe = FileSessionStore.stripe(id);
        LockTable table = LockTable.open(layout.lockFile());
        try {
            LockTable.Held held = table.acquire(stripe, Duration.ofSeconds(2), "test");
            held.beginPublish(); // a holder that dies here never calls endPublish
            held.release();
            assertEquals(1, table.publishSequence(stripe) & 1);

            assertReport(store.recover(), 0, 0, 0, 0, 1);
            assertEquals(0, table.publishSequence(stripe) & 1);
            assertReport(store.recover(), 0, 0, 0, 0, 0);
        } finally {
            table.release();
        }
    }

    @Test
    void recover_busyLock_isReportedAndTheScanGoesOn() throws Exception {
        String other = store.create(store.change().set("x", 1).build()).id();
        Files.write(layout.old(id), revision0);
        Files.write(layout.temp(other), revision1);
        RecoveryReport report;
        try (SessionLock held = store.lock(id)) {
            report = store.recover();
            assertTrue(exists(layout.old(id)), "not touched without its lock");
            assertEquals(id, held.id());
        }
        assertEquals(1, report.errors().size(), report.errors().toString());
        assertTrue(report.errors().get(0) instanceof LockTimeoutException,
                report.errors().get(0).toString());
        assertFalse(report.isClean());
        assertEquals(2, report.sessionsExamined());
        assertEquals(1, report.leftoversRemoved(), "the other session was still repaired");
        assertFalse(exists(layout.temp(other)));
        assertEquals(1, store.stats().lockTimeouts());

        assertReport(store.recover(), 1, 0, 1, 0, 0);
        assertEquals(List.of(), leftoverFiles());
    }

    @Test
    void recover_twice_secondFindsNothingAndStatsCountBoth() throws Exception {
        Files.delete(layout.current(id));
        Files.write(layout.old(id), revision0);
        Files.write(layout.temp(id), revision1);
        long repairsBefore = store.stats().repairs();

        store.recover();
        assertReport(store.recover(), 0, 0, 0, 0, 0);
        assertEquals(2, store.stats().recoveries());
        assertEquals(repairsBefore + 2, store.stats().repairs(),
                "a publish completed from ID.old and a temp file removed");
    }

    @Test
    void recover_emptyStore_isClean() {
        store.invalidate(id);
        assertReport(store.recover(), 0, 0, 0, 0, 0);
    }
}
