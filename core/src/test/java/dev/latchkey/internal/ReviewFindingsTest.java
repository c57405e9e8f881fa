package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.LockInterruptedException;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.StoreException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** Core findings of the attack review: each test failed before its fix. */
@Timeout(120)
final class ReviewFindingsTest {
    private static final VarHandle LONGS =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    @TempDir
    Path temp;

    /** A record nested without bound, allowed by the tests' configurations. */
    public record Node(Node next, int v) {
    }

    // ---- finding 2: attribute names must survive the file ----

    @Test
    void set_nameWithLoneSurrogate_refusedAndSessionStaysReadable() {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp).build())) {
            Session s = store.create(store.change().set("user", "alice").build());
            for (String name : List.of("pref\uD800", "a\uDC00b", "\uDC00\uD800", "end\uD83D")) {
                SessionChange.Builder change = store.change();
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> change.set(name, 1), name);
                assertTrue(e.getMessage().contains("surrogate"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> change.remove(name));
                assertThrows(IllegalArgumentException.class,
                        () -> store.update(s.id(), name, v -> 1));
            }
            // a valid pair is fine and round-trips through the file
            String emoji = "pref\uD83D\uDE00";
            store.commit(s.id(), store.change().set(emoji, 7).build());
            Session read = store.find(s.id()).orElseThrow();
            assertEquals(7, read.attribute(emoji));
            assertEquals("alice", read.attribute("user"));
        }
    }

    @Test
    void set_mapKeyWithLoneSurrogate_refusedAtSet() {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp).build())) {
            SessionChange.Builder change = store.change();
            assertThrows(IllegalArgumentException.class,
                    () -> change.set("m", Map.of("k\uD800", 1)));
            assertThrows(IllegalArgumentException.class,
                    () -> change.set("m", List.of(Map.of("x", Map.of("\uDFFF", 1)))));
        }
    }

    // ---- finding 5: an odd publish sequence left by a crash is repaired by the next holder ----

    @Test
    void find_missingIdWhileStripeHeld_afterCrashInsidePublish_emptyAtOnce() throws Exception {
        Path dir = temp.resolve("store");
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir)
                .lockTimeout(Duration.ofSeconds(3)).build());
                FileChannel ch = FileChannel.open(dir.resolve(LockTable.SEQUENCE_FILE),
                        StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            Session x = store.create(store.change().set("a", 1).build());
            int stripe = FileSessionStore.stripe(x.id());
            Layout layout = new Layout(dir);
            MappedByteBuffer seq = ch.map(FileChannel.MapMode.READ_WRITE, 0,
                    (long) LockTable.STRIPES * Long.BYTES);
            // what kill -9 between steps 3 and 4 of a publish leaves
            long v = (long) LONGS.getVolatile(seq, stripe * Long.BYTES);
            LONGS.setVolatile(seq, stripe * Long.BYTES, v + 1);
            Files.move(layout.current(x.id()), layout.old(x.id()));
            Files.writeString(layout.temp(x.id()), "partial");

            String other = sameStripe(x.id(), 'B');
            String missing = sameStripe(x.id(), 'C');
            // any holder of the stripe repairs it, here one that publishes nothing
            try (SessionLock lock = store.lock(other)) {
                assertTrue(lock.session().isEmpty());
                assertEquals(0, (long) LONGS.getVolatile(seq, stripe * Long.BYTES) & 1,
                        "sequence repaired by the holder");
                Optional<Session> found = CompletableFuture.supplyAsync(() -> store.find(missing))
                        .get(60, TimeUnit.SECONDS);
                assertTrue(found.isEmpty());
                assertEquals(1, (int) CompletableFuture.supplyAsync(
                        () -> store.find(x.id()).orElseThrow().attribute("a"))
                        .get(60, TimeUnit.SECONDS));
            }
            // the recovery commit and invalidate leave it even too
            store.commit(x.id(), store.change().set("a", 2).build());
            assertTrue(store.invalidate(x.id()));
            assertEquals(0, (long) LONGS.getVolatile(seq, stripe * Long.BYTES) & 1);
        }
    }

    private static String sameStripe(String id, char first) {
        char[] c = id.toCharArray();
        c[0] = first == c[0] ? 'D' : first;
        String s = new String(c);
        assertEquals(FileSessionStore.stripe(id), FileSessionStore.stripe(s));
        return s;
    }

    // ---- finding 7: full ids appear in no log line and no exception message ----

    @Test
    void damagedAndNewerFormatWarnings_showShortIdOnly() {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp).build())) {
            Session damaged = store.create(store.change().set("a", 1).build());
            Session newer = store.create(store.change().set("a", 1).build());
            Layout layout = new Layout(temp);
            String log = capturingStderr(() -> {
                Files.writeString(layout.current(damaged.id()), "garbage\n");
                assertTrue(store.find(damaged.id()).isEmpty());
                Files.writeString(layout.current(newer.id()), "{\"latchkey\":2,\"x\":1}\n");
                assertTrue(store.find(newer.id()).isEmpty());
                return null;
            });
            assertTrue(log.contains("damaged"), log);
            assertTrue(log.contains("refused"), log);
            for (Session s : List.of(damaged, newer)) {
                assertTrue(log.contains(s.id().substring(0, 6)), log);
                assertFalse(log.contains(s.id().substring(0, 12)), log);
            }
        }
    }

    @Test
    void storeException_messageAndCausesShowShortIdOnly() throws Exception {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp).build())) {
            Session s = store.create(store.change().set("a", 1).build());
            Path old = new Layout(temp).old(s.id());
            Files.createDirectories(old.resolve("x")); // a non-empty directory cannot be removed
            CutShort.unlinkFailed(temp, s.id()); // so the commit looks for a stale ID.old
            StoreException e = assertThrows(StoreException.class,
                    () -> store.commit(s.id(), store.change().set("a", 2).build()));
            String all = e.getMessage() + " " + e.path();
            for (Throwable t = e.getCause(); t != null; t = t.getCause()) {
                all += " " + t;
            }
            assertTrue(all.contains(s.id().substring(0, 6)), all);
            assertFalse(all.contains(s.id().substring(0, 12)), all);
        }
    }

    // ---- finding 8: too deep values are refused at set(), never later and never by a crash ----

    @Test
    void set_deepAllowedRecord_refusedWithIllegalArgumentAtEveryDepth() {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp)
                .allowTypes(Node.class).build())) {
            Session s = store.create(store.change().set("user", "alice").build());
            int accepted = 0;
            for (int depth : new int[] {10, 50, 60, 62, 63, 64, 65, 66, 70, 500, 990, 995, 998,
                    1000, 3000, 20_000}) {
                Node n = null;
                for (int i = 0; i < depth; i++) {
                    n = new Node(n, i);
                }
                Node value = n;
                SessionChange.Builder change = store.change();
                try {
                    change.set("n", value);
                } catch (IllegalArgumentException refused) {
                    assertTrue(refused.getMessage().contains("deeper"), refused.getMessage());
                    continue;
                }
                // accepted at set: the commit must succeed and read back
                accepted++;
                store.commit(s.id(), change.build());
                assertEquals(value, store.find(s.id()).orElseThrow().attribute("n"));
            }
            assertTrue(accepted >= 3, "shallow values are accepted");
        }
    }

    @Test
    void set_deepNativeList_refusedWithIllegalArgument() {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp).build())) {
            Object value = "leaf";
            for (int i = 0; i < 5000; i++) {
                value = List.of(value);
            }
            Object deep = value;
            assertThrows(IllegalArgumentException.class, () -> store.change().set("l", deep));
        }
    }

    // ---- finding 15: closing one lock from two threads releases it once ----

    @Test
    void close_fromTwoThreadsAtOnce_releasesOnce() throws Exception {
        Path dir = temp.resolve("dc");
        ExecutorService pool = Executors.newSingleThreadExecutor();
        try (SessionStore keeper = SessionStore.open(StoreConfig.builder(dir).build());
                SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
            Session s = store.create();
            assertTrue(keeper.find(s.id()).isPresent()); // keeps the table open throughout
            Path lockFile = dir.resolve(Layout.LOCK_FILE);
            int base = LockTable.referencesOf(lockFile);
            long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            for (int i = 0; i < 20_000 && System.nanoTime() < end; i++) {
                SessionLock lock = store.lock(s.id());
                AtomicInteger start = new AtomicInteger(2);
                Runnable close = () -> {
                    start.decrementAndGet();
                    for (int spins = 0; start.get() > 0; spins++) {
                        // both threads leave this loop at the same instant, unless descheduled
                        if (spins > 10_000) {
                            Thread.yield();
                        }
                        Thread.onSpinWait();
                    }
                    lock.close();
                };
                CompletableFuture<Void> other = CompletableFuture.runAsync(close, pool);
                close.run();
                other.get(10, TimeUnit.SECONDS);
                assertEquals(base, LockTable.referencesOf(lockFile), "after " + (i + 1));
                // one permit only: a second holder must not get in beside a first one
                try (SessionLock first = store.lock(s.id())) {
                    assertThrows(LockTimeoutException.class,
                            () -> store.lock(s.id(), Duration.ZERO).close(), "after " + (i + 1));
                    assertTrue(first.session().isPresent());
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    // ---- finding 16: an interrupted waiter is told it was interrupted ----

    @Test
    void commit_byInterruptedThread_throwsLockInterruptedAndKeepsFlag() throws Exception {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp)
                .lockTimeout(Duration.ofSeconds(10)).build())) {
            Session s = store.create(store.change().set("a", 1).build());
            CompletableFuture<Object[]> result = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                Thread.currentThread().interrupt();
                try {
                    store.commit(s.id(), store.change().set("a", 2).build());
                    result.complete(new Object[] {null, Thread.currentThread().isInterrupted()});
                } catch (RuntimeException e) {
                    result.complete(new Object[] {e, Thread.currentThread().isInterrupted()});
                }
            });
            t.start();
            Object[] r = result.get(60, TimeUnit.SECONDS);
            assertTrue(r[0] instanceof LockInterruptedException, String.valueOf(r[0]));
            assertFalse(((Exception) r[0]).getMessage().contains("waited"));
            assertTrue((Boolean) r[1], "interrupt flag kept");
            assertEquals(1, store.find(s.id()).orElseThrow().attribute("a"));
        }
    }

    @Test
    void lock_interruptedWhileWaitingForAnotherProcess_throwsLockInterrupted() throws Exception {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(temp)
                .lockTimeout(Duration.ofSeconds(30)).build());
                SessionLock held = store.lock(store.create().id())) {
            CompletableFuture<Throwable> result = new CompletableFuture<>();
            Thread t = new Thread(() -> {
                try {
                    store.lock(held.id()).close();
                    result.complete(null);
                } catch (RuntimeException e) {
                    result.complete(e);
                }
            });
            t.start();
            // wait until it waits, then interrupt it
            while (t.getState() != Thread.State.TIMED_WAITING && t.getState() != Thread.State.WAITING
                    && !result.isDone()) {
                Thread.onSpinWait();
            }
            t.interrupt();
            Throwable e = result.get(20, TimeUnit.SECONDS);
            assertTrue(e instanceof LockInterruptedException, String.valueOf(e));
        }
    }

    /** Runs {@code work} while System.err is captured; returns what was written to it. */
    private static String capturingStderr(java.util.concurrent.Callable<?> work) {
        PrintStream saved = System.err;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        System.setErr(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            work.call();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        } finally {
            System.setErr(saved);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }
}
