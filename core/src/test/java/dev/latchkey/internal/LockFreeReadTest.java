package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code find} answers without waiting for a lock, also when the answer is "no session" and the
 * session's stripe is held; the publish seqlock keeps that answer certain, and a sequence left odd
 * by a process that died mid-publish costs a locked read, never a wrong answer.
 */
final class LockFreeReadTest {
    private static final VarHandle LONGS =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());
    /** Long enough that waiting for it would be unmistakable. */
    private static final Duration LOCK_TIMEOUT = Duration.ofSeconds(5);

    @TempDir
    Path temp;
    private SessionStore store;

    @BeforeEach
    void open() {
        store = SessionStore.open(StoreConfig.builder(temp.resolve("store"))
                .clock(MutableClock.atFixedStart()).lockTimeout(LOCK_TIMEOUT).build());
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void find_sessionInvalidatedThroughHeldLock_isEmptyAtOnceFromAnotherThread() throws Exception {
        Session session = store.create();
        try (SessionLock lock = store.lock(session.id())) {
            assertTrue(lock.invalidate());
            long start = System.nanoTime();
            Optional<Session> seen = CompletableFuture.supplyAsync(() -> store.find(session.id()))
                    .get(LOCK_TIMEOUT.toSeconds() / 2, TimeUnit.SECONDS);
            assertTrue(seen.isEmpty());
            assertTrue(System.nanoTime() - start < LOCK_TIMEOUT.toNanos() / 2);
            // the holder itself may ask too, without waiting for itself
            assertTrue(store.find(session.id()).isEmpty());
        }
    }

    @Test
    void find_unknownIdOnHeldStripe_isEmptyWithoutWaiting() throws Exception {
        Session held = store.create();
        String unknown = idOnStripeOf(held.id());
        try (SessionLock lock = store.lock(held.id())) {
            assertTrue(lock.session().isPresent());
            assertTrue(CompletableFuture.supplyAsync(() -> store.find(unknown))
                    .get(LOCK_TIMEOUT.toSeconds() / 2, TimeUnit.SECONDS).isEmpty());
        }
    }

    @Test
    void find_sequenceLeftOddByDeadPublisher_stillAnswersRightAndNextPublishRepairs()
            throws Exception {
        Session live = store.create(store.change().set("a", 1).build());
        String missing = idOnStripeOf(live.id());
        int stripe = FileSessionStore.stripe(live.id());
        try (FileChannel ch = FileChannel.open(temp.resolve("store").resolve(
                LockTable.SEQUENCE_FILE), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            MappedByteBuffer sequences = ch.map(FileChannel.MapMode.READ_WRITE, 0,
                    (long) LockTable.STRIPES * Long.BYTES);
            LONGS.setVolatile(sequences, stripe * Long.BYTES, 41L); // died inside a publish
            assertTrue(store.find(missing).isEmpty(), "falls back to the lock, which is free");
            assertEquals(1, store.find(live.id()).orElseThrow().attribute("a"));
            store.commit(live.id(), store.change().set("a", 2).build());
            long after = (long) LONGS.getVolatile(sequences, stripe * Long.BYTES);
            assertEquals(0, after & 1, "a holder's publish leaves the sequence even: " + after);
            assertTrue(after > 41);
        }
    }

    /** A fresh well-formed id on the same lock stripe as {@code id}. */
    private static String idOnStripeOf(String id) {
        int stripe = FileSessionStore.stripe(id);
        // the stripe is made of letters 37..40; keep them, vary the first letters
        char[] chars = id.toCharArray();
        chars[0] = chars[0] == 'A' ? 'B' : 'A';
        String other = new String(chars);
        assertEquals(stripe, FileSessionStore.stripe(other));
        assertTrue(SessionIds.isWellFormed(other));
        return other;
    }
}
