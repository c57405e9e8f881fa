package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.StoreConfig;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link SessionLock#close()} from another thread (an asynchronous request's timeout) while an
 * operation of the handle runs: the operation keeps its stripes until it ends, and the handle
 * releases every stripe it holds exactly once.
 */
@Timeout(120)
final class SessionLockCloseTest {
    @TempDir
    Path temp;

    /** A FileOps whose openNew runs a hook once, when armed. */
    static final class HookOps extends FileOps {
        final AtomicReference<Runnable> hook = new AtomicReference<>();

        @Override
        FileChannel openNew(Path path, Set<? extends OpenOption> options,
                FileAttribute<?>... attributes) throws IOException {
            Runnable r = hook.getAndSet(null);
            if (r != null) {
                r.run();
            }
            return super.openNew(path, options, attributes);
        }
    }

    private static void runAndJoin(Runnable r) {
        Thread t = new Thread(r);
        t.start();
        try {
            t.join(TimeUnit.SECONDS.toMillis(60));
        } catch (InterruptedException e) {
            throw new AssertionError(e);
        }
        if (t.isAlive()) {
            throw new AssertionError("close() blocked");
        }
    }

    @Test
    void closeDuringChangeId_releasesTheNewStripe() throws Exception {
        Path dir = temp.resolve("store");
        HookOps ops = new HookOps();
        StoreConfig config = StoreConfig.builder(dir).lockTimeout(Duration.ofSeconds(5)).build();
        FileSessionStore store = FileSessionStore.open(config, ops);
        String id = store.create(store.change().set("n", 1).build()).id();
        SessionLock lock = store.lock(id);
        ops.hook.set(() -> runAndJoin(lock::close));
        String newId = lock.changeId().orElseThrow().id();
        lock.close();
        assertThrows(IllegalStateException.class, lock::session);
        AtomicReference<Optional<Session>> other = new AtomicReference<>();
        runAndJoin(() -> other.set(store.commit(newId, store.change().set("n", 2).build())));
        assertEquals(2, other.get().orElseThrow().attribute("n"));
        runAndJoin(() -> store.lock(id, Duration.ZERO).close()); // the old stripe is free too
        store.close();
        assertEquals(0, LockTable.referencesOf(dir.resolve("latchkey.lock")),
                "a stripe of the handle is never released");
    }

    @Test
    void closeDuringCommit_anotherWritersCommitIsKept() throws Exception {
        Path dir = temp.resolve("store");
        HookOps ops = new HookOps();
        StoreConfig config = StoreConfig.builder(dir).lockTimeout(Duration.ofSeconds(30)).build();
        try (FileSessionStore store = FileSessionStore.open(config, ops)) {
            String id = store.create(store.change().set("a", 0).build()).id();
            SessionLock lock = store.lock(id);
            AtomicReference<Thread> writer = new AtomicReference<>();
            AtomicReference<Optional<Session>> other = new AtomicReference<>();
            ops.hook.set(() -> {
                runAndJoin(lock::close); // the async timeout: must not release mid-commit
                Thread t = new Thread(() ->
                        other.set(store.commit(id, store.change().set("b", 1).build())));
                t.start(); // waits for the stripe until the running commit ends
                writer.set(t);
            });
            lock.commit(store.change().set("a", 1).build());
            writer.get().join(TimeUnit.SECONDS.toMillis(60));
            assertTrue(other.get().isPresent(), "the other writer's commit returned");
            Session s = store.find(id).orElseThrow();
            assertEquals(1, (Integer) s.attribute("a"));
            assertEquals(1, (Integer) s.attribute("b"), "an acknowledged commit was lost");
            assertThrows(IllegalStateException.class, () -> lock.commit(store.change().build()));
        }
    }
}
