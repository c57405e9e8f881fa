package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.StoreConfig;
import dev.latchkey.SweepResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * One {@code sweep(limit)} does bounded work whatever was planted in the index, entries it must
 * leave in place do not make every call redo them, and the sweep removes what a crashed
 * {@code changeId} leaves.
 */
@Timeout(120)
final class SweepBoundTest {
    @TempDir
    Path temp;

    private static long entries(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.count();
        }
    }

    @Test
    void sweep_plantedEmptyBuckets_eachCountsTowardTheLimit() throws Exception {
        Path dir = temp.resolve("store");
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).build())) {
            Path expiry = Files.createDirectories(dir.resolve("expiry"));
            int n = 500;
            for (int i = 1; i <= n; i++) {
                Files.createDirectory(expiry.resolve(Long.toString(i)));
            }
            assertEquals(new SweepResult(0, 0, 0, false), store.sweep(10),
                    "empty buckets are not due markers");
            assertEquals(n - 10, entries(expiry), "sweep(10) removes 10 empty buckets");
            for (int call = 2; call <= n / 10; call++) {
                store.sweep(10);
                assertEquals(n - 10L * call, entries(expiry));
            }
            assertEquals(0, entries(expiry));
        }
    }

    @Test
    void sweep_plantedForeignKeyFiles_boundedPerCall_resumedNotRedone_oneWarnPerCall()
            throws Exception {
        Path other = temp.resolve("other");
        byte[] foreign;
        try (FileSessionStore b = FileSessionStore.open(StoreConfig.builder(other).build())) {
            String bid = b.create(b.change().set("x", 1).build()).id();
            foreign = Files.readAllBytes(new Layout(other).current(bid));
        }
        Path dir = temp.resolve("store");
        MutableClock clock = MutableClock.atFixedStart();
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).clock(clock)
                .defaultMaxInactiveInterval(Duration.ofMinutes(1)).build())) {
            Layout layout = new Layout(dir);
            Path bucket = Files.createDirectories(dir.resolve("expiry/1000"));
            int n = 200;
            for (int i = 0; i < n; i++) {
                String id = SessionIds.generate();
                Files.createDirectories(layout.current(id).getParent());
                Files.write(layout.current(id), foreign);
                Files.createFile(bucket.resolve(id));
            }
            String expired = store.create().id(); // a newer bucket behind the planted ones
            clock.advance(Duration.ofMinutes(5));
            try (LogCapture log = new LogCapture()) {
                long read0 = store.sweeper().sessionsRead.sum();
                SweepResult first = store.sweep(10);
                assertEquals(new SweepResult(10, 0, 10, true), first);
                assertEquals(10, store.sweeper().sessionsRead.sum() - read0);
                assertEquals(1, log.warnings("refuses").size(), "one summary line per call");
                assertEquals(0, log.warnings("is refused").size(), "no WARN per file");
            }
            long read0 = store.sweeper().sessionsRead.sum();
            int calls = 1;
            SweepResult r;
            do {
                r = store.sweep(10);
                calls++;
                assertTrue(r.examined() <= 10);
            } while (r.more());
            assertEquals(n + 1 - 10, store.sweeper().sessionsRead.sum() - read0,
                    "each planted file is read once per pass, not once per call");
            assertTrue(calls <= n / 10 + 2, calls + " calls");
            assertFalse(Files.exists(layout.current(expired)), "the session behind them is swept");
            assertEquals(n, entries(bucket), "refused files keep their markers");
        }
    }

    @Test
    void sweep_changeIdCrashLeftover_newTmpIsRemoved() throws Exception {
        Path dir = temp.resolve("store");
        MutableClock clock = MutableClock.atFixedStart();
        AtomicBoolean die = new AtomicBoolean();
        FileOps dying = new FileOps() {
            @Override
            void move(Path source, Path target) throws IOException {
                if (die.get() && source.toString().endsWith(".tmp") && !Files.exists(target)) {
                    throw new IllegalStateException("simulated kill -9");
                }
                super.move(source, target);
            }
        };
        StoreConfig config = StoreConfig.builder(dir).clock(clock)
                .defaultMaxInactiveInterval(Duration.ofMinutes(30)).build();
        try (FileSessionStore store = FileSessionStore.open(config, dying)) {
            String id = store.create(store.change().set("secret", "s3cr3t").build()).id();
            die.set(true);
            assertThrows(IllegalStateException.class, () -> store.changeId(id));
            die.set(false);
            assertEquals(1, countTmp(dir), "the crash left NEW.tmp");
            clock.advance(Duration.ofHours(2));
            while (store.sweep(100).more()) {
                // drain
            }
            assertEquals(0, countTmp(dir), "NEW.tmp (a full copy of the session) is left");
        }
    }

    private static long countTmp(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir.resolve("sessions"))) {
            return s.filter(p -> p.toString().endsWith(".tmp")).count();
        }
    }

    @Test
    void backgroundRun_anError_isLoggedAndRethrown() {
        Path dir = temp.resolve("store");
        AtomicBoolean fail = new AtomicBoolean();
        Error error = new AssertionError("an error made by the test");
        Clock clock = new Clock() {
            @Override
            public Instant instant() {
                if (fail.get()) {
                    throw error;
                }
                return Instant.parse("2026-01-01T00:00:00Z");
            }

            @Override
            public ZoneId getZone() {
                return ZoneId.of("UTC");
            }

            @Override
            public Clock withZone(ZoneId zone) {
                throw new UnsupportedOperationException();
            }
        };
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).clock(clock)
                .build()); LogCapture log = new LogCapture()) {
            fail.set(true);
            Error thrown = assertThrows(Error.class, () -> store.sweeper().runInBackground(1000));
            assertSame(error, thrown);
            assertEquals(1, log.errors("background sweep", "stopped").size());
        }
    }
}
