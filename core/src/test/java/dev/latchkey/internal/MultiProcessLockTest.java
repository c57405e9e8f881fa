package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.LockInterruptedException;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The stripe locks across processes and across threads of one JVM: a lock held in one process is
 * held for all; a holder killed with SIGKILL frees it at once; a thread of this JVM that holds it
 * keeps other threads out; an interrupt of a thread that polls for one stripe drops no stripe that
 * other threads of this JVM hold.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES) // a broken lock must fail the build, not hang it
final class MultiProcessLockTest {

    @Test
    void lock_heldByKilledProcess_freeRightAfterKill(@TempDir Path dir) {
        try (SessionStore store = open(dir, Duration.ofSeconds(10));
                ChildJvms jvms = new ChildJvms()) {
            String id = createNeverExpiring(store);
            ChildJvms.Child holder = jvms.start("holder", "holdLock", dir, id);
            holder.awaitLine(ChildWorker.READY, ChildJvms.START_TIMEOUT);

            // really held across processes: a short wait fails, a commit cannot get in
            long start = System.nanoTime();
            assertThrows(LockTimeoutException.class, () -> store.lock(id, Duration.ofMillis(300)));
            assertTrue(elapsed(start).toMillis() >= 250, "waited " + elapsed(start));
            try (SessionStore impatient = open(dir, Duration.ofMillis(200))) {
                assertThrows(LockTimeoutException.class,
                        () -> impatient.commit(id, impatient.change().set("x", 1).build()));
            }
            // readers do not block on it
            assertTrue(store.find(id).isPresent(), "find while the lock is held elsewhere");

            holder.killHard();

            start = System.nanoTime();
            try (SessionLock lock = store.lock(id)) {
                Duration waited = elapsed(start);
                assertTrue(waited.compareTo(Duration.ofSeconds(2)) < 0,
                        "lock of a killed holder took " + waited + " (timeout 10 s)");
                Optional<Session> after = lock.commit(store.change().set("x", 2).build());
                assertEquals(2, after.orElseThrow().attribute("x"));
            }
            assertEquals(2, store.find(id).orElseThrow().attribute("x"));
        }
    }

    @Test
    void commit_otherThreadHoldsLock_waitsForItOrTimesOut(@TempDir Path dir) throws Exception {
        ExecutorService other = Executors.newSingleThreadExecutor();
        try (SessionStore store = open(dir, Duration.ofSeconds(10));
                SessionStore impatient = open(dir, Duration.ofMillis(300))) {
            String id = createNeverExpiring(store);
            try (SessionLock lock = store.lock(id)) {
                // a short lock timeout: the other thread gives up, having changed nothing
                long start = System.nanoTime();
                Future<Optional<Session>> refused = other.submit(
                        () -> impatient.commit(id, impatient.change().set("b", 1).build()));
                ExecutionException failure = assertThrows(ExecutionException.class,
                        () -> refused.get(10, TimeUnit.SECONDS));
                assertInstanceOf(LockTimeoutException.class, failure.getCause());
                assertTrue(elapsed(start).toMillis() >= 250, "waited " + elapsed(start));

                // a long lock timeout: the other thread waits until the holder is done
                Future<Optional<Session>> waiting = other.submit(
                        () -> store.commit(id, store.change().set("b", 2).build()));
                assertThrows(TimeoutException.class, () -> waiting.get(400, TimeUnit.MILLISECONDS));
                lock.commit(store.change().set("a", 1).build());
                assertEquals(Map.of("a", 1), store.find(id).orElseThrow().attributes(),
                        "the waiting commit got in while the lock was held");
            }
            Session after = other.submit(() -> store.commit(id,
                    store.change().build())).get(10, TimeUnit.SECONDS).orElseThrow();
            assertEquals(Map.of("a", 1, "b", 2), after.attributes(),
                    "the waiting commit ran after the holder, on top of its change");
        } finally {
            other.shutdownNow();
            assertTrue(other.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void lock_interruptOfThreadPollingForAnotherStripe_keepsLocksOfOtherThreads(@TempDir Path dir)
            throws Exception {
        int interrupts = 200;
        try (SessionStore store = open(dir, Duration.ofSeconds(20));
                ChildJvms jvms = new ChildJvms()) {
            String x = createNeverExpiring(store);
            String y = createNeverExpiring(store);
            while (FileSessionStore.stripe(y) == FileSessionStore.stripe(x)) {
                y = createNeverExpiring(store);
            }
            String yId = y;
            // another process holds Y, so a commit on Y polls the OS lock until interrupted
            ChildJvms.Child holderOfY = jvms.start("holderOfY", "holdLock", dir, yId);
            ChildJvms.Child proberOfX = jvms.start("proberOfX", "tryLock", dir, x, 500);
            holderOfY.awaitLine(ChildWorker.READY, ChildJvms.START_TIMEOUT);
            proberOfX.awaitLine(ChildWorker.READY, ChildJvms.START_TIMEOUT);

            try (SessionLock lockOfX = store.lock(x)) { // this thread is "thread A"
                Map<String, AtomicInteger> outcomes = new ConcurrentHashMap<>();
                AtomicInteger attempts = new AtomicInteger();
                AtomicBoolean stop = new AtomicBoolean();
                Thread poller = new Thread(() -> {
                    while (!stop.get()) {
                        attempts.incrementAndGet();
                        String outcome;
                        try {
                            store.commit(yId, store.change().set("never", 1).build());
                            outcome = "committed";
                        } catch (LockInterruptedException e) {
                            outcome = "interrupted";
                        } catch (LockTimeoutException e) {
                            outcome = "timeout";
                        } catch (RuntimeException e) {
                            outcome = e.toString();
                        }
                        Thread.interrupted(); // start the next attempt clean
                        outcomes.computeIfAbsent(outcome, o -> new AtomicInteger())
                                .incrementAndGet();
                    }
                }, "poller-of-Y");
                poller.start();
                try {
                    // one interrupt per attempt, each while the attempt polls the OS lock of Y
                    for (int i = 1; i <= interrupts; i++) {
                        while (attempts.get() < i && poller.isAlive()) {
                            Thread.sleep(1);
                        }
                        Thread.sleep(1);
                        poller.interrupt();
                    }
                } finally {
                    stop.set(true);
                    poller.interrupt();
                    poller.join(TimeUnit.SECONDS.toMillis(30));
                }
                assertFalse(poller.isAlive(), "the poller ended");

                // the claim: X is still held by this JVM, for every other process
                proberOfX.go();
                Map<String, String> probe = proberOfX.awaitSuccess(ChildJvms.WORK_TIMEOUT);
                assertEquals("TIMEOUT", probe.get("outcome"),
                        "another process got the lock of X that this JVM holds, after "
                                + outcomes + " on Y");

                assertEquals(Set.of("interrupted"), outcomes.keySet(),
                        "outcomes of the commits on Y: " + outcomes);
                assertTrue(outcomes.get("interrupted").get() >= interrupts,
                        "commits on Y ended by an interrupt: " + outcomes);
                assertEquals(1, lockOfX.commit(store.change().set("still", 1).build())
                        .orElseThrow().attribute("still"), "the handle of X still works");
            }
            holderOfY.send(ChildWorker.RELEASE);
            assertEquals("true", holderOfY.awaitSuccess(ChildJvms.WORK_TIMEOUT).get("released"));
            assertNotEquals(Optional.empty(), store.commit(yId, store.change().set("y", 1).build()));
        }
    }

    // ---- fixtures ----

    private static SessionStore open(Path dir, Duration lockTimeout) {
        return SessionStore.open(StoreConfig.builder(dir).lockTimeout(lockTimeout)
                .clock(Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC))
                .build());
    }

    private static String createNeverExpiring(SessionStore store) {
        return store.create(store.change().maxInactiveInterval(Duration.ZERO).build()).id();
    }

    private static Duration elapsed(long startNanos) {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }
}
