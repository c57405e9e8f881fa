package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.Session;
import dev.latchkey.SweepResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Odd marker names, two stores sweeping at once, a clock that goes back in the middle of a pass. */
final class SweepOddCasesTest {
    @TempDir
    Path temp;

    private static void plantOdd(Path bucket) throws Exception {
        Files.createDirectories(bucket);
        for (String name : List.of("\u00e9\u540d", "x".repeat(255), "\u00ff", "A", "~", ".hidden",
                "zzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzzz", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA.old",
                "\uD83D\uDE00")) {
            Files.createFile(bucket.resolve(name));
        }
        // a non-empty directory under a well-formed id, and a link under one
        Path dir = bucket.resolve("B".repeat(42) + "A");
        Files.createDirectories(dir.resolve("inner"));
        Files.createSymbolicLink(bucket.resolve("C".repeat(42) + "A"), Path.of("/etc/passwd"));
        // a name that is not UTF-8
        Process p = new ProcessBuilder("sh", "-c", "touch \"$1/$(printf '\\377\\376')\"", "sh",
                bucket.toString()).inheritIO().start();
        assertEquals(0, p.waitFor());
    }

    @Test
    void oddNames_limitOne_passEndsAndExpiredSessionsGo() throws Exception {
        try (IndexFixture f = new IndexFixture(temp, b -> b)) {
            List<String> ids = new ArrayList<>();
            long due = 0;
            for (int i = 0; i < 5; i++) {
                Session s = f.create(Duration.ofMinutes(1));
                ids.add(s.id());
                due = IndexFixture.dueOf(s);
            }
            plantOdd(f.layout.expiry().resolve(Long.toString(due)));
            f.clock.advance(Duration.ofMinutes(10));
            int calls = 0;
            SweepResult r;
            do {
                r = f.store.sweep(1);
                calls++;
            } while (r.more() && calls < 100);
            assertFalse(r.more(), "the pass ends");
            for (String id : ids) {
                assertFalse(f.stored(id), "swept " + id.substring(0, 6));
            }
            assertTrue(Files.readString(Path.of("/etc/passwd")).length() > 0);
        }
    }

    @Test
    void twoStoresSweepingAtOnce_everyExpiredSessionGoes() throws Exception {
        try (IndexFixture f = new IndexFixture(temp, b -> b)) {
            FileSessionStore other = f.open(f.config().build());
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                ids.add(f.create(Duration.ofMinutes(1 + i % 3)).id());
            }
            f.clock.advance(Duration.ofMinutes(10));
            ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
            List<Thread> ts = new ArrayList<>();
            for (FileSessionStore s : List.of(f.store, other, f.store, other)) {
                ts.add(new Thread(() -> {
                    try {
                        int calls = 0;
                        while (s.sweep(3).more() && ++calls < 10_000) {
                            // go on
                        }
                        if (calls >= 10_000) {
                            errors.add(new AssertionError("no end"));
                        }
                    } catch (Throwable e) {
                        errors.add(e);
                    }
                }));
            }
            ts.forEach(Thread::start);
            for (Thread t : ts) {
                t.join();
            }
            assertEquals(List.of(), new ArrayList<>(errors));
            // one more full pass of each store: everything must be gone
            while (f.store.sweep(50).more()) {
                // go on
            }
            long left = ids.stream().filter(f::stored).count();
            assertEquals(0, left, "sessions left: " + left);
            assertEquals(0, f.markers().size(), "markers left: " + f.markers());
        }
    }

    @Test
    void clockBackInTheMiddleOfAPass_endsAndLaterPassSweepsAll() throws Exception {
        try (IndexFixture f = new IndexFixture(temp, b -> b)) {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 30; i++) {
                ids.add(f.create(Duration.ofMinutes(1 + i % 5)).id());
            }
            f.clock.advance(Duration.ofMinutes(10));
            assertTrue(f.store.sweep(4).more());
            assertTrue(f.store.sweep(4).more());
            f.clock.advance(Duration.ofMinutes(-8)); // back: the cursor's bucket may not be due
            int calls = 0;
            while (f.store.sweep(4).more() && ++calls < 100) {
                // go on
            }
            assertTrue(calls < 100);
            f.clock.advance(Duration.ofMinutes(30));
            calls = 0;
            while (f.store.sweep(4).more() && ++calls < 100) {
                // go on
            }
            // a second pass, in case the first resumed from a stale cursor
            while (f.store.sweep(4).more()) {
                // go on
            }
            assertEquals(0, ids.stream().filter(f::stored).count());
        }
    }
}
