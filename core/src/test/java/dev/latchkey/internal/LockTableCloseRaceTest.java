package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Closing a store while its operations are in flight, then opening another on the same directory
 * (a filter's destroy and a new filter's init during a redeploy), must leave exactly one lock
 * table registered, owned by the open store. Before the fix, an in-flight operation revived the
 * closed table and its later release unregistered the new one; a third store then opened and
 * closed a second channel on the lock file, which dropped every lock of the JVM.
 */
final class LockTableCloseRaceTest {
    @TempDir
    Path temp;

    @Test
    void close_whileOperationsInFlight_registryStaysConsistent() throws Exception {
        Path dir = temp.resolve("store");
        StoreConfig config = StoreConfig.builder(dir).lockTimeout(Duration.ofSeconds(2)).build();
        Path lockFile = dir.resolve(Layout.LOCK_FILE);
        String id;
        try (SessionStore setup = SessionStore.open(config)) {
            id = setup.create().id();
        }
        ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
        for (int round = 0; round < 200; round++) {
            SessionStore closing = SessionStore.open(config);
            AtomicBoolean stop = new AtomicBoolean();
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < 2; t++) {
                Thread worker = new Thread(() -> {
                    while (!stop.get()) {
                        try {
                            closing.commit(id, closing.change().touch().build());
                        } catch (IllegalStateException closed) {
                            return; // the expected answer once the store is closed
                        } catch (RuntimeException | Error e) {
                            unexpected.add(e);
                            return;
                        }
                    }
                });
                worker.start();
                workers.add(worker);
            }
            Thread.onSpinWait();
            closing.close();
            SessionStore next = SessionStore.open(config);
            stop.set(true);
            for (Thread worker : workers) {
                worker.join(10_000);
            }
            assertEquals(1, LockTable.referencesOf(lockFile),
                    "round " + round + ": the open store's table must be registered, alone");
            next.close();
            assertEquals(0, LockTable.referencesOf(lockFile), "round " + round);
        }
        assertTrue(unexpected.isEmpty(), "in-flight calls of a closed store must end with"
                + " IllegalStateException, got " + unexpected);
    }
}
