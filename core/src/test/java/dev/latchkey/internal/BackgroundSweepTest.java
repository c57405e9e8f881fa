package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.StoreConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The optional background sweep: scheduled on open, cancelled on close, robust to failures. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
final class BackgroundSweepTest {
    @TempDir
    Path temp;
    private Path dir;
    private Layout layout;
    private FailingClock clock;

    @BeforeEach
    void setUp() {
        dir = temp.resolve("store");
        layout = new Layout(dir);
        clock = new FailingClock(MutableClock.atFixedStart());
    }

    /** A fake clock that throws from its next {@code failures} reads. */
    static final class FailingClock extends Clock {
        final MutableClock time;
        final AtomicInteger failures = new AtomicInteger();

        FailingClock(MutableClock time) {
            this.time = time;
        }

        @Override
        public Instant instant() {
            if (failures.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                throw new IllegalStateException("a clock failure made by the test");
            }
            return time.instant();
        }

        @Override
        public ZoneId getZone() {
            return time.getZone();
        }

        @Override
        public Clock withZone(ZoneId zone) {
            throw new UnsupportedOperationException();
        }
    }

    private StoreConfig.Builder config() {
        return StoreConfig.builder(dir).clock(clock).defaultMaxInactiveInterval(
                Duration.ofMinutes(1));
    }

    private List<String> createSessions(FileSessionStore store, int count) {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            ids.add(store.create().id());
        }
        return ids;
    }

    private boolean stored(String id) {
        return Files.exists(layout.current(id));
    }

    @Test
    void open_schedulesOneFixedDelayTask_withTheConfiguredPeriod() {
        ManualScheduler scheduler = new ManualScheduler();
        try (FileSessionStore store = FileSessionStore.open(config()
                .backgroundSweep(scheduler, Duration.ofSeconds(7)).build())) {
            assertEquals(1, scheduler.tasks().size());
            ManualScheduler.Task task = scheduler.tasks().get(0);
            assertTrue(task.fixedDelay);
            assertEquals(Duration.ofSeconds(7), task.period);
            assertEquals(Duration.ofSeconds(7), task.initialDelay);
            assertFalse(task.isCancelled());
            assertEquals(Duration.ofSeconds(7), store.config().sweepPeriod());
        }
    }

    @Test
    void defaultPeriod_isOneMinute_andWithoutAnExecutorNothingIsScheduled() {
        ManualScheduler scheduler = new ManualScheduler();
        StoreConfig config = config().backgroundSweep(scheduler).build();
        assertEquals(StoreConfig.DEFAULT_SWEEP_PERIOD, config.sweepPeriod());
        assertEquals(Duration.ofMinutes(1), StoreConfig.DEFAULT_SWEEP_PERIOD);
        try (FileSessionStore store = FileSessionStore.open(config)) {
            assertEquals(Duration.ofMinutes(1), store.config().sweepPeriod());
            assertEquals(Duration.ofMinutes(1), scheduler.tasks().get(0).period);
        }
        assertTrue(StoreConfig.builder(dir).build().sweepExecutor().isEmpty());
    }

    @Test
    void run_sweepsEverythingDue_inBatches() {
        ManualScheduler scheduler = new ManualScheduler();
        try (FileSessionStore store = FileSessionStore.open(config().backgroundSweep(scheduler)
                .build())) {
            int count = Sweeper.BACKGROUND_BATCH * 2 + 5;
            List<String> expired = createSessions(store, count);
            Session live = store.create(store.change().maxInactiveInterval(Duration.ofHours(1))
                    .build());
            clock.time.advance(Duration.ofMinutes(5));
            assertEquals(1, scheduler.runPeriodicTasks());
            assertEquals(count, store.sweptSessions(), "one run sweeps everything that is due");
            for (String id : expired) {
                assertFalse(stored(id));
            }
            assertTrue(store.find(live.id()).isPresent());
        }
    }

    @Test
    void close_cancelsTheTask_andLeavesTheExecutorRunning() {
        ManualScheduler scheduler = new ManualScheduler();
        FileSessionStore store = FileSessionStore.open(config().backgroundSweep(scheduler)
                .build());
        String id = store.create().id();
        store.close();
        ManualScheduler.Task task = scheduler.tasks().get(0);
        assertTrue(task.isCancelled());
        assertFalse(scheduler.isShutdown(), "the executor is the caller's");
        clock.time.advance(Duration.ofMinutes(5));
        // a run that was already under way when the store closed ends quietly and sweeps nothing
        assertDoesNotThrow(task.command::run);
        assertTrue(stored(id));
        assertEquals(0, store.sweptSessions());
    }

    @Test
    void failingRun_doesNotThrow_andTheNextRunSweeps() {
        ManualScheduler scheduler = new ManualScheduler();
        try (FileSessionStore store = FileSessionStore.open(config().backgroundSweep(scheduler)
                .build())) {
            List<String> ids = createSessions(store, 3);
            clock.time.advance(Duration.ofMinutes(5));
            clock.failures.set(1);
            assertDoesNotThrow(scheduler::runPeriodicTasks, "a failure is logged, not thrown");
            assertEquals(0, clock.failures.get(), "the run did meet the failure");
            assertEquals(0, store.sweptSessions());
            scheduler.runPeriodicTasks();
            assertEquals(3, store.sweptSessions());
            for (String id : ids) {
                assertFalse(stored(id));
            }
        }
    }

    @Test
    void realExecutor_runsAgainAfterFailures_andStopsOnClose() throws InterruptedException {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1);
        executor.setRemoveOnCancelPolicy(true);
        try {
            FileSessionStore store = FileSessionStore.open(config()
                    .backgroundSweep(executor, Duration.ofMillis(5)).build());
            List<String> ids;
            try {
                ids = createSessions(store, 20);
                clock.failures.set(3); // the first runs fail
                clock.time.advance(Duration.ofMinutes(5));
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
                while (store.sweptSessions() < ids.size() && System.nanoTime() < deadline) {
                    Thread.sleep(5); // waits for the executor's thread, not for expiry
                }
                assertEquals(0, clock.failures.get(), "the failing runs happened");
                assertEquals(ids.size(), store.sweptSessions(),
                        "a later run swept: the failures did not end the periodic task");
            } finally {
                store.close();
            }
            // a queued cancelled task is removed at once; one that was running is not queued again
            assertEquals(0, executor.getQueue().size(), "close cancelled the task");
            assertFalse(executor.isShutdown());
            for (String id : ids) {
                assertFalse(stored(id));
            }
        } finally {
            executor.shutdownNow();
            assertTrue(executor.awaitTermination(10, TimeUnit.SECONDS));
        }
    }

    @Test
    void open_withAShutDownExecutor_failsAndHoldsNothing() {
        ManualScheduler scheduler = new ManualScheduler();
        scheduler.shutdown();
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> FileSessionStore.open(config().backgroundSweep(scheduler).build()));
        assertTrue(e.getMessage().contains("not shut down"), e.getMessage());
        assertEquals(0, LockTable.referencesOf(layout.lockFile()), "the lock table was released");
    }

    @Test
    void config_backgroundSweep_isValidated() {
        ManualScheduler scheduler = new ManualScheduler();
        assertThrows(IllegalArgumentException.class,
                () -> StoreConfig.builder(dir).backgroundSweep(scheduler, Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> StoreConfig.builder(dir).backgroundSweep(scheduler, Duration.ofSeconds(-1)));
        assertThrows(NullPointerException.class,
                () -> StoreConfig.builder(dir).backgroundSweep(null));
        assertThrows(NullPointerException.class,
                () -> StoreConfig.builder(dir).backgroundSweep(scheduler, null));
        StoreConfig.Builder twice = StoreConfig.builder(dir).backgroundSweep(scheduler);
        assertThrows(IllegalStateException.class, () -> twice.backgroundSweep(scheduler));
        StoreConfig config = StoreConfig.builder(dir).backgroundSweep(scheduler,
                Duration.ofSeconds(30)).build();
        assertEquals(scheduler, config.sweepExecutor().orElseThrow());
        assertTrue(config.toString().contains("sweepPeriod=PT30S"), config.toString());
    }
}
