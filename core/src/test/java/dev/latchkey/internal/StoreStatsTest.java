package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latchkey.LockTimeoutException;
import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.StoreStats;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Each counter of {@link SessionStore#stats()}, by making its event happen. */
@Timeout(value = 2, unit = TimeUnit.MINUTES)
final class StoreStatsTest {
    @TempDir
    Path temp;
    private Path dir;
    private Layout layout;
    private FileSessionStore store;

    @BeforeEach
    void open() {
        dir = temp.resolve("store");
        layout = new Layout(dir);
        store = openStore();
    }

    private FileSessionStore openStore() {
        return (FileSessionStore) SessionStore.open(StoreConfig.builder(dir)
                .clock(MutableClock.atFixedStart()).lockTimeout(Duration.ofSeconds(20)).build());
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** commits, merges, waits, timeouts, quarantined, swept, repairs, recoveries. */
    private List<Long> counters() {
        StoreStats s = store.stats();
        return List.of(s.commits(), s.concurrentMerges(), s.lockWaits(), s.lockTimeouts(),
                s.quarantined(), s.swept(), s.repairs(), s.recoveries());
    }

    @Test
    void newStore_allZero() {
        assertEquals(List.of(0L, 0L, 0L, 0L, 0L, 0L, 0L, 0L), counters());
        assertTrue(store.stats().toString().startsWith("StoreStats[commits=0"));
    }

    @Test
    void commits_countPublishedChangesOnly() {
        String id = store.create().id();
        assertEquals(0, store.stats().commits(), "create is not a commit");
        store.commit(id, store.change().set("a", 1).build());
        store.update(id, "n", v -> 1);
        store.commit(id, store.change().build()); // empty: writes nothing
        try (SessionLock lock = store.lock(id)) {
            lock.commit(store.change().set("b", 2).build());
            lock.update("n", v -> 2);
        }
        store.invalidate(id);
        store.commit(id, store.change().set("a", 2).build()); // gone: writes nothing
        assertEquals(4, store.stats().commits());
    }

    @Test
    void concurrentMerges_changeBasedOnAnOlderRevision() {
        Session loaded = store.find(store.create().id()).orElseThrow();
        String id = loaded.id();
        store.commit(id, store.change().basedOn(loaded).set("a", 1).build());
        assertEquals(0, store.stats().concurrentMerges(), "based on the current revision");

        // two requests loaded revision 1; the second commits after the first
        Session both = store.find(id).orElseThrow();
        store.commit(id, store.change().basedOn(both).set("b", 1).build());
        Session merged = store.commit(id, store.change().basedOn(both).set("c", 1).build())
                .orElseThrow();
        assertEquals(1, store.stats().concurrentMerges());
        assertEquals(1, merged.attribute("b"), "the delta was merged, not the loaded state");

        store.commit(id, store.change().set("d", 1).build()); // no basedOn: never counted
        assertEquals(1, store.stats().concurrentMerges());
        assertEquals(4, store.stats().commits());
    }

    @Test
    void lockWaitsAndTimeouts_threadsOfThisJvm() throws Exception {
        String id = store.create().id();
        SessionLock held = store.lock(id);
        assertEquals(0, store.stats().lockWaits(), "the first attempt succeeded");

        Thread other = new Thread(() -> assertThrows(LockTimeoutException.class,
                () -> store.lock(id, Duration.ofMillis(20))));
        other.start();
        other.join();
        assertEquals(List.of(1L, 1L), List.of(store.stats().lockWaits(),
                store.stats().lockTimeouts()));

        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread waiter = new Thread(() -> {
            try {
                store.commit(id, store.change().set("a", 1).build()).orElseThrow();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        waiter.start();
        awaitBlocked(waiter);
        held.close();
        waiter.join();
        assertEquals(null, failure.get());
        assertEquals(List.of(2L, 1L), List.of(store.stats().lockWaits(),
                store.stats().lockTimeouts()));
    }

    private static void awaitBlocked(Thread thread) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (thread.getState() != Thread.State.TIMED_WAITING
                && thread.getState() != Thread.State.WAITING) {
            if (System.nanoTime() > deadline || !thread.isAlive()) {
                fail("the thread never waited for the lock: " + thread.getState());
            }
            Thread.sleep(1);
        }
    }

    /** The wait for another process's OS lock is counted too. */
    @Test
    void lockWaitsAndTimeouts_anotherProcess() {
        String id = store.create().id();
        try (ChildJvms jvms = new ChildJvms()) {
            ChildJvms.Child holder = jvms.start("holder", "holdLock", dir, id);
            holder.awaitLine(ChildWorker.READY, ChildJvms.START_TIMEOUT);
            assertThrows(LockTimeoutException.class, () -> store.lock(id, Duration.ofMillis(50)));
            assertEquals(List.of(1L, 1L), List.of(store.stats().lockWaits(),
                    store.stats().lockTimeouts()));
            holder.send(ChildWorker.RELEASE);
            holder.awaitSuccess(ChildJvms.WORK_TIMEOUT);
        }
        try (SessionLock lock = store.lock(id, Duration.ofSeconds(5))) {
            assertTrue(lock.session().isPresent());
        }
    }

    @Test
    void quarantined_damagedFile() throws Exception {
        String id = store.create().id();
        Files.write(layout.current(id), "not a session".getBytes(StandardCharsets.UTF_8));
        assertTrue(store.find(id).isEmpty());
        assertEquals(1, store.stats().quarantined());
    }

    @Test
    void swept_countedForTheSweeper() {
        store.countSwept(3);
        store.countSwept(2);
        assertEquals(5, store.stats().swept());
    }

    @Test
    void repairs_lazyRepairsOfCrashLeftovers() throws Exception {
        String id = store.create(store.change().set("a", 1).build()).id();
        byte[] state = Files.readAllBytes(layout.current(id));
        Files.write(layout.old(id), state); // a publish that died after its second rename
        CutShort.diedInWindow(dir, id); // ... which leaves its publish window open
        store.commit(id, store.change().set("a", 2).build());
        assertEquals(2, store.stats().repairs(), "the odd sequence and the stale ID.old");

        Files.move(layout.current(id), layout.old(id)); // died between the renames
        Files.write(layout.temp(id), state); // with its next state written
        store.commit(id, store.change().set("a", 3).build());
        assertEquals(4, store.stats().repairs(), "the publish completed and the temp removed");
        assertEquals(3, store.find(id).orElseThrow().attribute("a"));
    }

    /** The sweep takes locks with one attempt each; a stripe it finds left odd is a repair. */
    @Test
    void repairs_countTheStripeRepairOfASweep() {
        MutableClock clock = MutableClock.atFixedStart();
        try (FileSessionStore sweeping = (FileSessionStore) SessionStore.open(
                StoreConfig.builder(dir).clock(clock).build())) {
            String id = sweeping.create(sweeping.change().maxInactiveInterval(Duration.ofSeconds(1))
                    .build()).id();
            int stripe = FileSessionStore.stripe(id);
            LockTable table = LockTable.open(layout.lockFile());
            try {
                LockTable.Held held = table.acquire(stripe, Duration.ofSeconds(20), "test");
                held.beginPublish(); // a holder that dies here never calls endPublish
                held.release();
            } finally {
                table.release();
            }
            assertEquals(1, sweeping.publishSequence(stripe) & 1);
            clock.advance(Duration.ofSeconds(5));

            assertEquals(1, sweeping.sweep(10).removed());
            assertEquals(0, sweeping.publishSequence(stripe) & 1);
            assertEquals(1, sweeping.stats().repairs(), "the sweep's acquisition repaired it");
            assertEquals(1, sweeping.stats().swept());
        }
    }

    @Test
    void recoveries_andStatsAfterClose() {
        store.recover();
        store.recover();
        store.close();
        assertEquals(2, store.stats().recoveries(), "readable after close");
        assertThrows(IllegalStateException.class, () -> store.recover());
    }

    @Test
    void countersArePerStore() {
        String id = store.create().id();
        try (FileSessionStore other = openStore()) {
            other.commit(id, other.change().set("a", 1).build());
            assertEquals(1, other.stats().commits());
            assertEquals(0, store.stats().commits());
        }
    }
}
