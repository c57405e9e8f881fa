package dev.latchkey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * The contract of {@link SessionStore}, as its Javadoc (and that of {@link Session},
 * {@link SessionChange} and {@link SessionLock}) states it. One subclass per implementation
 * supplies {@link #open(StoreConfig)}; every test gets its own directory and a clock that moves
 * only when the test moves it.
 */
public abstract class SessionStoreContract {
    /** Short, so that the tests that wait for a timeout stay quick. */
    protected static final Duration LOCK_TIMEOUT = Duration.ofMillis(300);
    protected static final Duration SHORT = Duration.ofMillis(50);
    private static final Pattern ID_SHAPE = Pattern.compile("[A-Za-z0-9_-]{43}");
    private static final SecureRandom RANDOM = new SecureRandom();

    @TempDir
    protected Path temp;
    protected MutableClock clock;
    protected SessionStore store;
    private final List<SessionStore> opened = new ArrayList<>();

    /**
     * Opens the implementation under test.
     *
     * @param config the configuration
     * @return an open store
     */
    protected abstract SessionStore open(StoreConfig config);

    /**
     * Asserts that nothing at all is stored for an id. Implementations that can look at their
     * storage check it there too.
     *
     * @param id a well-formed id
     */
    protected void assertNothingStored(String id) {
        assertTrue(store.find(id).isEmpty(), "a session is stored for the id");
    }

    /** The session directory of {@link #store}. */
    protected final Path directory() {
        return temp.resolve("store");
    }

    /** A configuration of {@link #directory()} with the test clock and the short lock timeout. */
    protected final StoreConfig.Builder config() {
        return StoreConfig.builder(directory()).clock(clock).lockTimeout(LOCK_TIMEOUT);
    }

    /** Opens a store that is closed after the test. */
    protected final SessionStore openStore(StoreConfig config) {
        SessionStore opened = open(config);
        this.opened.add(opened);
        return opened;
    }

    @BeforeEach
    final void openTheStore() {
        clock = MutableClock.atFixedStart();
        store = openStore(config().build());
    }

    @AfterEach
    final void closeStores() {
        opened.forEach(SessionStore::close);
    }

    /** A well-formed id that no store has ever issued. */
    protected static String unknownId() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }

    /** Runs work on a fresh thread (a second "request") and returns its result or rethrows. */
    protected static <T> T inOtherThread(Callable<T> work) throws InterruptedException {
        FutureTask<T> task = new FutureTask<>(work);
        Thread thread = new Thread(task, "second-request");
        thread.start();
        try {
            return task.get(20, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException) {
                throw (RuntimeException) e.getCause();
            }
            throw new AssertionError(e.getCause());
        } catch (java.util.concurrent.TimeoutException e) {
            thread.interrupt();
            throw new AssertionError("the other thread did not finish", e);
        }
    }

    private static void assertTimesOutInOtherThread(Callable<?> work)
            throws InterruptedException {
        LockTimeoutException e = assertThrows(LockTimeoutException.class,
                () -> inOtherThread(work));
        assertTrue(e.timeout().compareTo(Duration.ZERO) >= 0);
    }

    private Session createWith(String name, Object value) {
        return store.create(store.change().set(name, value).build());
    }

    private SessionChange set(String name, Object value) {
        return store.change().set(name, value).build();
    }

    // ---- create ----

    @Test
    void create_idIs43CharsOfUrlSafeBase64Carrying256Bits() {
        Session s = store.create();
        assertTrue(ID_SHAPE.matcher(s.id()).matches(), s.id());
        assertEquals(32, Base64.getUrlDecoder().decode(s.id()).length);
        // the last letter carries 4 bits: its 2 padding bits are zero, so it re-encodes exactly
        assertEquals(s.id(), Base64.getUrlEncoder().withoutPadding()
                .encodeToString(Base64.getUrlDecoder().decode(s.id())));
    }

    @Test
    void create_manyTimes_idsAreDistinct() {
        Set<String> ids = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            ids.add(store.create().id());
        }
        assertEquals(200, ids.size());
    }

    @Test
    void create_withoutChange_hasDefaultIntervalCurrentTimesAndRevisionZero() {
        Instant now = clock.instant();
        Session s = store.create();
        assertEquals(StoreConfig.DEFAULT_MAX_INACTIVE_INTERVAL, s.maxInactiveInterval());
        assertEquals(now, s.creationTime());
        assertEquals(now, s.lastAccessedTime());
        assertEquals(Optional.of(now.plus(StoreConfig.DEFAULT_MAX_INACTIVE_INTERVAL)),
                s.expiryTime());
        assertEquals(0, s.revision());
        assertEquals(Set.of(), s.attributeNames());
        assertEquals(Map.of(), s.attributes());

        Session found = store.find(s.id()).orElseThrow();
        assertEquals(s.id(), found.id());
        assertEquals(now, found.creationTime());
        assertEquals(now, found.lastAccessedTime());
        assertEquals(StoreConfig.DEFAULT_MAX_INACTIVE_INTERVAL, found.maxInactiveInterval());
        assertEquals(0, found.revision());
    }

    @Test
    void create_storeWithConfiguredDefault_usesThatInterval() {
        SessionStore other = openStore(config().defaultMaxInactiveInterval(Duration.ofMinutes(5))
                .build());
        Session s = other.create();
        assertEquals(Duration.ofMinutes(5), s.maxInactiveInterval());
        assertEquals(Duration.ofMinutes(5), store.find(s.id()).orElseThrow().maxInactiveInterval());
    }

    @Test
    void create_initialChange_isAppliedBeforeFirstPublish() {
        Session s = store.create(store.change().set("user", "alice").set("n", 7)
                .maxInactiveInterval(Duration.ofMinutes(2)).build());
        assertEquals("alice", s.attribute("user"));
        assertEquals(Duration.ofMinutes(2), s.maxInactiveInterval());
        assertEquals(0, s.revision());

        Session found = store.find(s.id()).orElseThrow();
        assertEquals(Map.of("user", "alice", "n", 7), found.attributes());
        assertEquals(Duration.ofMinutes(2), found.maxInactiveInterval());
        assertEquals(Optional.of(clock.instant().plus(Duration.ofMinutes(2))), found.expiryTime());
    }

    @Test
    void create_changeOfAnotherKind_throwsIllegalArgumentException() {
        SessionChange foreign = new ForeignChange();
        assertThrows(IllegalArgumentException.class, () -> store.create(foreign));
        Session s = store.create();
        assertThrows(IllegalArgumentException.class, () -> store.commit(s.id(), foreign));
        assertEquals(0, store.find(s.id()).orElseThrow().revision());
    }

    // ---- find ----

    @Test
    void find_unknownId_isEmpty() {
        assertTrue(store.find(unknownId()).isEmpty());
    }

    @Test
    void find_malformedIds_areEmpty() {
        String valid = store.create().id();
        for (String id : List.of("", "x", valid.substring(1), valid + "A", valid.replace(
                valid.charAt(5), '.'), "../" + valid.substring(3), valid.substring(0, 42) + "=")) {
            assertTrue(store.find(id).isEmpty(), id);
        }
    }

    @Test
    void find_nullId_throwsNullPointerException() {
        assertThrows(NullPointerException.class, () -> store.find(null));
    }

    @Test
    void find_expiredSession_isEmpty() {
        Session s = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(1)).build());
        clock.advance(Duration.ofMinutes(2));
        assertTrue(store.find(s.id()).isEmpty());
    }

    @Test
    void find_changeCommittedThroughAnotherStore_isSeenAtOnce() {
        SessionStore other = openStore(config().build());
        Session s = store.create();
        assertTrue(other.find(s.id()).isPresent());
        other.commit(s.id(), set("k", "v"));
        assertEquals("v", store.find(s.id()).orElseThrow().attribute("k"));
        store.invalidate(s.id());
        assertTrue(other.find(s.id()).isEmpty());
    }

    // ---- session snapshots ----

    @Test
    void session_snapshot_doesNotChangeAfterLaterCommit() {
        Session s = createWith("k", "before");
        Session loaded = store.find(s.id()).orElseThrow();
        store.commit(s.id(), set("k", "after"));
        assertEquals("before", loaded.attribute("k"));
        assertEquals(0, loaded.revision());
    }

    @Test
    void session_mutatingReturnedValue_changesOnlyCallersCopy() {
        Session s = createWith("list", List.of("a"));
        @SuppressWarnings("unchecked")
        List<Object> copy = (List<Object>) s.attribute("list");
        copy.add("b");
        assertEquals(List.of("a"), s.attribute("list"));
        assertThrows(UnsupportedOperationException.class, () -> s.attributeNames().add("x"));
        assertThrows(UnsupportedOperationException.class, () -> s.attributes().put("x", 1));
        assertNull(s.attribute("absent"));
    }

    // ---- change builder ----

    @Test
    void change_maxInactiveIntervalOverTenThousandYears_isRefusedAndTheLimitIsKeptExactly() {
        SessionChange.Builder b = store.change();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> b.maxInactiveInterval(Duration.ofDays(5_000_000)));
        assertTrue(e.getMessage().contains("maxInactiveInterval")
                && e.getMessage().contains("at most 315360000000 s"), e.getMessage());
        assertTrue(b.build().isEmpty(), "a refused interval is not recorded");
        Session s = store.create(b.maxInactiveInterval(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT)
                .build());
        assertEquals(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT,
                store.find(s.id()).orElseThrow().maxInactiveInterval());
        // every int number of seconds (HttpSession.setMaxInactiveInterval) is accepted as given
        Session max = store.create(store.change()
                .maxInactiveInterval(Duration.ofSeconds(Integer.MAX_VALUE)).build());
        assertEquals(Duration.ofSeconds(Integer.MAX_VALUE),
                store.find(max.id()).orElseThrow().maxInactiveInterval());
    }

    @Test
    void change_builder_validatesNamesAndKeepsLastCallPerName() {
        SessionChange.Builder b = store.change();
        assertThrows(IllegalArgumentException.class, () -> b.set("", 1));
        assertThrows(IllegalArgumentException.class, () -> b.set("x".repeat(257), 1));
        assertThrows(NullPointerException.class, () -> b.set(null, 1));
        assertThrows(IllegalArgumentException.class, () -> b.remove(""));
        assertThrows(NullPointerException.class, () -> b.remove(null));
        assertThrows(NullPointerException.class, () -> b.maxInactiveInterval(null));
        assertTrue(b.build().isEmpty());

        b.set("x".repeat(256), 1).set("a", 1).remove("a").remove("b").set("b", 2).set("c", null);
        SessionChange change = b.build();
        assertEquals(Set.of("x".repeat(256), "b"), change.setNames());
        assertEquals(Set.of("a", "c"), change.removedNames());
        assertFalse(change.touches());
        assertEquals(Optional.empty(), change.maxInactiveInterval());
        assertFalse(change.isEmpty());

        b.touch().maxInactiveInterval(Duration.ofSeconds(5));
        assertFalse(change.touches(), "a built change must not see later calls");
        SessionChange later = b.build();
        assertTrue(later.touches());
        assertEquals(Optional.of(Duration.ofSeconds(5)), later.maxInactiveInterval());
        assertThrows(UnsupportedOperationException.class, () -> later.setNames().add("z"));
        assertThrows(UnsupportedOperationException.class, () -> later.removedNames().add("z"));
    }

    // ---- commit ----

    @Test
    void commit_twoRequestsFromOneLoadedSnapshot_bothChangesSurvive() {
        String id = createWith("shared", 0).id();
        Session loadedByBoth = store.find(id).orElseThrow();
        SessionChange first = store.change().set("a", 1).build();
        SessionChange second = store.change().set("b", 2).remove("shared").build();
        store.commit(loadedByBoth.id(), first);
        Session after = store.commit(loadedByBoth.id(), second).orElseThrow();
        assertEquals(Map.of("a", 1, "b", 2), after.attributes());
        assertEquals(Map.of("a", 1, "b", 2), store.find(id).orElseThrow().attributes());
    }

    @Test
    void commit_sameAttributeFromTwoRequests_laterWins() {
        String id = store.create().id();
        store.commit(id, set("k", "first"));
        store.commit(id, set("k", "second"));
        assertEquals("second", store.find(id).orElseThrow().attribute("k"));
    }

    @Test
    void commit_remove_removesOnlyThatAttribute() {
        String id = store.create(store.change().set("a", 1).set("b", 2).build()).id();
        Session after = store.commit(id, store.change().remove("a").remove("never-there").build())
                .orElseThrow();
        assertEquals(Map.of("b", 2), after.attributes());
        assertEquals(Map.of("b", 2), store.find(id).orElseThrow().attributes());
        store.commit(id, set("b", null));
        assertEquals(Set.of(), store.find(id).orElseThrow().attributeNames());
    }

    @Test
    void commit_touch_movesLastAccessedAndExpiry() {
        Session s = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(10)).build());
        Instant later = clock.advance(Duration.ofMinutes(7));
        Session touched = store.commit(s.id(), store.change().touch().build()).orElseThrow();
        assertEquals(later, touched.lastAccessedTime());
        assertEquals(s.creationTime(), touched.creationTime());
        assertEquals(Optional.of(later.plus(Duration.ofMinutes(10))), touched.expiryTime());

        clock.advance(Duration.ofMinutes(7)); // past the first expiry, within the new one
        assertEquals(later, store.find(s.id()).orElseThrow().lastAccessedTime());
    }

    @Test
    void commit_withoutTouch_keepsLastAccessedAndExpiry() {
        Session s = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(10)).build());
        clock.advance(Duration.ofMinutes(7));
        Session after = store.commit(s.id(), set("k", 1)).orElseThrow();
        assertEquals(s.lastAccessedTime(), after.lastAccessedTime());
        clock.advance(Duration.ofMinutes(3));
        assertTrue(store.find(s.id()).isEmpty(), "a commit without touch must not extend life");
    }

    @Test
    void commit_maxInactiveInterval_changesIntervalAndExpiry() {
        Session s = store.create();
        Session after = store.commit(s.id(), store.change()
                .maxInactiveInterval(Duration.ofMinutes(1)).build()).orElseThrow();
        assertEquals(Duration.ofMinutes(1), after.maxInactiveInterval());
        assertEquals(Optional.of(s.lastAccessedTime().plus(Duration.ofMinutes(1))),
                after.expiryTime());
        assertEquals(Duration.ofMinutes(1), store.find(s.id()).orElseThrow().maxInactiveInterval());
        clock.advance(Duration.ofMinutes(1));
        assertTrue(store.find(s.id()).isEmpty());
    }

    @Test
    void commit_everyCommit_growsRevision() {
        String id = store.create().id();
        long previous = 0;
        for (SessionChange c : List.of(set("a", 1), store.change().touch().build(),
                store.change().remove("a").build())) {
            long revision = store.commit(id, c).orElseThrow().revision();
            assertTrue(revision > previous, revision + " after " + previous);
            assertEquals(revision, store.find(id).orElseThrow().revision());
            previous = revision;
        }
    }

    @Test
    void commit_emptyChange_writesNothingAndReturnsCurrentState() {
        String id = store.create(set("a", 1)).id();
        Session before = store.find(id).orElseThrow();
        Session after = store.commit(id, store.change().build()).orElseThrow();
        assertEquals(before.revision(), after.revision());
        assertEquals(before.attributes(), after.attributes());
        assertEquals(before.revision(), store.find(id).orElseThrow().revision());
    }

    @Test
    void commit_returnedState_isWhatTheNextFindSees() {
        String id = store.create().id();
        Session committed = store.commit(id, store.change().set("s", "x").set("n", 3L)
                .set("list", List.of(1, "two", List.of(3.5))).set("map", Map.of("k", true))
                .touch().build()).orElseThrow();
        Session found = store.find(id).orElseThrow();
        assertEquals(committed.revision(), found.revision());
        assertEquals(committed.attributes(), found.attributes());
        assertEquals(committed.lastAccessedTime(), found.lastAccessedTime());
        assertEquals(committed.expiryTime(), found.expiryTime());
    }

    @Test
    void commit_unknownId_returnsEmptyAndWritesNothing() {
        String id = unknownId();
        assertTrue(store.commit(id, set("k", "v")).isEmpty());
        assertNothingStored(id);
    }

    @Test
    void commit_invalidatedSession_returnsEmptyAndDoesNotResurrect() {
        String id = createWith("k", "v").id();
        Session loaded = store.find(id).orElseThrow();
        assertTrue(store.invalidate(id));
        assertTrue(store.commit(loaded.id(), store.change().set("k", "again").touch().build())
                .isEmpty());
        assertNothingStored(id);
    }

    @Test
    void commit_expiredSession_returnsEmptyAndDoesNotResurrect() {
        String id = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(1)).build())
                .id();
        clock.advance(Duration.ofMinutes(1));
        // this change would make the session immortal if it were applied
        assertTrue(store.commit(id, store.change().maxInactiveInterval(Duration.ZERO).touch()
                .build()).isEmpty());
        assertTrue(store.find(id).isEmpty());
        assertNothingStored(id);
    }

    @Test
    void commit_nullArguments_throwNullPointerException() {
        String id = store.create().id();
        assertThrows(NullPointerException.class, () -> store.commit(null, set("a", 1)));
        assertThrows(NullPointerException.class, () -> store.commit(id, null));
    }

    // ---- update ----

    @Test
    void update_functionResult_isStoredAndOthersKept() {
        String id = createWith("other", "kept").id();
        AtomicInteger calls = new AtomicInteger();
        List<Object> seen = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            store.update(id, "counter", v -> {
                calls.incrementAndGet();
                seen.add(v);
                return v == null ? 1 : (Integer) v + 1;
            });
        }
        assertEquals(3, calls.get(), "the function runs once per call");
        assertEquals(java.util.Arrays.asList(null, 1, 2), seen);
        Session s = store.find(id).orElseThrow();
        assertEquals(3, s.attribute("counter"));
        assertEquals("kept", s.attribute("other"));
        assertEquals(3, s.revision());
    }

    @Test
    void update_nullResult_removesAttribute() {
        String id = createWith("k", "v").id();
        Session after = store.update(id, "k", v -> null).orElseThrow();
        assertFalse(after.attributeNames().contains("k"));
        assertFalse(store.find(id).orElseThrow().attributeNames().contains("k"));
    }

    @Test
    void update_missingExpiredOrInvalidated_returnsEmptyWithoutCallingFunction() {
        String expired = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(1))
                .build()).id();
        String invalidated = store.create().id();
        store.invalidate(invalidated);
        clock.advance(Duration.ofMinutes(1));
        for (String id : List.of(unknownId(), expired, invalidated, "not-an-id")) {
            AtomicInteger calls = new AtomicInteger();
            assertTrue(store.update(id, "k", v -> {
                calls.incrementAndGet();
                return 1;
            }).isEmpty(), id);
            assertEquals(0, calls.get(), id);
        }
        assertNothingStored(expired);
        assertNothingStored(invalidated);
    }

    @Test
    void update_unstorableResult_throwsIllegalArgumentExceptionAndLeavesSessionUnchanged() {
        String id = createWith("k", "v").id();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.update(id, "k", v -> new Object()));
        assertTrue(e.getMessage().contains("'k'"), e.getMessage());
        Session s = store.find(id).orElseThrow();
        assertEquals("v", s.attribute("k"));
        assertEquals(0, s.revision());
    }

    @Test
    void update_badName_isRefused() {
        String id = store.create().id();
        assertThrows(IllegalArgumentException.class, () -> store.update(id, "", v -> 1));
        assertThrows(NullPointerException.class, () -> store.update(id, null, v -> 1));
        assertThrows(NullPointerException.class, () -> store.update(id, "k", null));
    }

    // ---- lock ----

    @Test
    void lock_handle_readsCommitsUpdatesAndInvalidates() {
        String id = createWith("k", "v").id();
        try (SessionLock lock = store.lock(id)) {
            assertEquals(id, lock.id());
            assertEquals("v", lock.session().orElseThrow().attribute("k"));
            assertEquals("w", lock.commit(set("k", "w")).orElseThrow().attribute("k"));
            assertEquals(1, lock.update("n", v -> v == null ? 1 : v).orElseThrow().attribute("n"));
            assertEquals(Map.of("k", "w", "n", 1), store.find(id).orElseThrow().attributes(),
                    "readers see what the holder published");
            assertEquals(2, lock.session().orElseThrow().revision());
            assertTrue(lock.invalidate());
            assertFalse(lock.invalidate());
            assertTrue(lock.session().isEmpty());
            assertTrue(lock.commit(set("k", "again")).isEmpty());
        }
        assertNothingStored(id);
    }

    @Test
    void lock_unknownId_handleSeesNoSessionAndWritesNothing() {
        String id = unknownId();
        try (SessionLock lock = store.lock(id)) {
            assertEquals(id, lock.id());
            assertTrue(lock.session().isEmpty());
            assertTrue(lock.commit(set("k", "v")).isEmpty());
            AtomicInteger calls = new AtomicInteger();
            assertTrue(lock.update("k", v -> calls.incrementAndGet()).isEmpty());
            assertEquals(0, calls.get());
            assertFalse(lock.invalidate());
            assertTrue(lock.changeId().isEmpty());
        }
        assertNothingStored(id);
    }

    @Test
    void lock_heldByOneThread_otherThreadsWritersTimeOutButReadersDoNot() throws Exception {
        String id = createWith("k", "v").id();
        try (SessionLock lock = store.lock(id)) {
            lock.commit(set("k", "held"));
            assertTimesOutInOtherThread(() -> store.lock(id, SHORT));
            assertTimesOutInOtherThread(() -> store.lock(id, Duration.ZERO));
            assertTimesOutInOtherThread(() -> store.commit(id, set("k", "other")));
            assertTimesOutInOtherThread(() -> store.update(id, "k", v -> "other"));
            assertTimesOutInOtherThread(() -> store.invalidate(id));
            assertTimesOutInOtherThread(() -> store.changeId(id));
            LockTimeoutException e = assertThrows(LockTimeoutException.class,
                    () -> inOtherThread(() -> store.lock(id, SHORT)));
            assertEquals(SHORT, e.timeout());
            long started = System.nanoTime();
            assertEquals("held", inOtherThread(() -> store.find(id)).orElseThrow().attribute("k"));
            assertTrue(System.nanoTime() - started < LOCK_TIMEOUT.toNanos(),
                    "find must not wait for the lock");
        }
        assertEquals("other", inOtherThread(() -> store.commit(id, set("k", "other")))
                .orElseThrow().attribute("k"));
    }

    @Test
    void lock_unknownId_isStillExclusive() throws Exception {
        String id = unknownId();
        try (SessionLock lock = store.lock(id)) {
            assertEquals(id, lock.id());
            assertTimesOutInOtherThread(() -> store.lock(id, SHORT));
        }
        inOtherThread(() -> store.lock(id, SHORT)).close();
    }

    @Test
    void lock_negativeTimeout_throwsIllegalArgumentException() {
        String id = store.create().id();
        assertThrows(IllegalArgumentException.class, () -> store.lock(id, Duration.ofMillis(-1)));
        assertThrows(NullPointerException.class, () -> store.lock(null));
    }

    @Test
    void lock_close_isIdempotentAndReleases() throws Exception {
        String id = store.create().id();
        SessionLock lock = store.lock(id);
        lock.close();
        lock.close();
        try (SessionLock again = inOtherThread(() -> store.lock(id, SHORT))) {
            assertTrue(again.session().isPresent());
            lock.close(); // must not release the other holder's lock
            assertTimesOutInOtherThread(() -> store.lock(id, SHORT));
        }
    }

    @Test
    void lock_useAfterClose_throwsIllegalStateException() {
        String id = store.create().id();
        SessionLock lock = store.lock(id);
        lock.close();
        List<Executable> uses = List.of(lock::session, () -> lock.commit(set("k", "v")),
                () -> lock.update("k", v -> 1), lock::invalidate, lock::changeId);
        for (Executable use : uses) {
            assertThrows(IllegalStateException.class, use);
        }
        Session s = store.find(id).orElseThrow();
        assertEquals(0, s.revision());
    }

    @Test
    void lock_handleAcquiredInOneThread_mayBeUsedAndClosedInAnother() throws Exception {
        String id = store.create().id();
        SessionLock lock = store.lock(id);
        inOtherThread(() -> {
            lock.commit(set("k", "async"));
            lock.close();
            return null;
        });
        assertEquals("async", store.commit(id, store.change().build()).orElseThrow()
                .attribute("k"));
    }

    @Test
    void lock_sessionExpiresWhileHeld_handleSeesNoSession() {
        String id = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(1)).build())
                .id();
        try (SessionLock lock = store.lock(id)) {
            assertTrue(lock.session().isPresent());
            clock.advance(Duration.ofMinutes(1));
            assertTrue(lock.session().isEmpty());
            assertTrue(lock.commit(store.change().touch().build()).isEmpty());
        }
        assertNothingStored(id);
    }

    @Test
    void lock_changeId_handleGuardsNewIdAndOldIdIsDead() throws Exception {
        Session original = createWith("k", "v");
        String oldId = original.id();
        try (SessionLock lock = store.lock(oldId)) {
            Session moved = lock.changeId().orElseThrow();
            String newId = moved.id();
            assertNotEquals(oldId, newId);
            assertEquals(newId, lock.id());
            assertTrue(ID_SHAPE.matcher(newId).matches());
            assertEquals(Map.of("k", "v"), moved.attributes());
            assertEquals("w", lock.commit(set("k", "w")).orElseThrow().attribute("k"));
            assertTimesOutInOtherThread(() -> store.commit(newId, set("k", "other")));
            assertTimesOutInOtherThread(() -> store.lock(newId, SHORT));
            assertTrue(inOtherThread(() -> store.commit(oldId, set("k", "old"))).isEmpty());
            assertEquals("w", store.find(newId).orElseThrow().attribute("k"));
            assertTrue(store.find(oldId).isEmpty());
        }
        assertNothingStored(oldId);
    }

    // ---- invalidate ----

    @Test
    void invalidate_liveSession_trueThenFalse() {
        String id = store.create().id();
        String other = createWith("k", "v").id();
        assertTrue(store.invalidate(id));
        assertFalse(store.invalidate(id));
        assertTrue(store.find(id).isEmpty());
        assertNothingStored(id);
        assertEquals("v", store.find(other).orElseThrow().attribute("k"));
    }

    @Test
    void invalidate_unknownOrExpired_returnsFalse() {
        String expired = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(1))
                .build()).id();
        clock.advance(Duration.ofMinutes(1));
        assertFalse(store.invalidate(unknownId()));
        assertFalse(store.invalidate(expired));
        assertFalse(store.invalidate("malformed"));
        assertNothingStored(expired);
    }

    // ---- changeId ----

    @Test
    void changeId_keepsAttributesTimesAndIntervalUnderNewId() {
        Session s = store.create(store.change().set("user", "alice")
                .maxInactiveInterval(Duration.ofMinutes(20)).build());
        clock.advance(Duration.ofMinutes(5));
        store.commit(s.id(), store.change().touch().build());
        Session before = store.find(s.id()).orElseThrow();
        clock.advance(Duration.ofMinutes(5));

        Session moved = store.changeId(s.id()).orElseThrow();
        assertNotEquals(s.id(), moved.id());
        assertTrue(ID_SHAPE.matcher(moved.id()).matches());
        Session found = store.find(moved.id()).orElseThrow();
        for (Session after : List.of(moved, found)) {
            assertEquals(before.attributes(), after.attributes());
            assertEquals(before.creationTime(), after.creationTime());
            assertEquals(before.lastAccessedTime(), after.lastAccessedTime());
            assertEquals(before.maxInactiveInterval(), after.maxInactiveInterval());
            assertEquals(before.expiryTime(), after.expiryTime());
        }
    }

    @Test
    void changeId_oldIdIsDeadForEveryOperation() {
        String oldId = createWith("k", "v").id();
        String newId = store.changeId(oldId).orElseThrow().id();
        assertTrue(store.find(oldId).isEmpty());
        assertTrue(store.commit(oldId, set("k", "revived")).isEmpty());
        AtomicInteger calls = new AtomicInteger();
        assertTrue(store.update(oldId, "k", v -> calls.incrementAndGet()).isEmpty());
        assertEquals(0, calls.get());
        try (SessionLock lock = store.lock(oldId)) {
            assertTrue(lock.session().isEmpty());
            assertTrue(lock.commit(set("k", "revived")).isEmpty());
        }
        assertTrue(store.changeId(oldId).isEmpty());
        assertFalse(store.invalidate(oldId));
        assertNothingStored(oldId);
        assertEquals("v", store.find(newId).orElseThrow().attribute("k"));
    }

    @Test
    void changeId_missingOrExpired_isEmpty() {
        String expired = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(1))
                .build()).id();
        clock.advance(Duration.ofMinutes(1));
        assertTrue(store.changeId(unknownId()).isEmpty());
        assertTrue(store.changeId(expired).isEmpty());
        assertTrue(store.changeId("../../etc/passwd").isEmpty());
        assertNothingStored(expired);
    }

    // ---- expiry ----

    @Test
    void expiry_exactlyAtExpiryTime_sessionIsExpired() {
        Session s = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(10)).build());
        Instant expiry = s.creationTime().plus(Duration.ofMinutes(10));
        assertEquals(Optional.of(expiry), s.expiryTime());
        clock.set(expiry.minusMillis(1));
        assertTrue(store.find(s.id()).isPresent(), "alive one millisecond before its expiry");
        clock.set(expiry);
        assertTrue(store.find(s.id()).isEmpty(), "expired at its expiry time");
        assertTrue(store.commit(s.id(), store.change().touch().build()).isEmpty());
    }

    @Test
    void expiry_touchJustBeforeExpiry_extendsLife() {
        Session s = store.create(store.change().maxInactiveInterval(Duration.ofMinutes(10)).build());
        clock.advance(Duration.ofMinutes(10).minusMillis(1));
        store.commit(s.id(), store.change().touch().build()).orElseThrow();
        clock.advance(Duration.ofMinutes(10).minusMillis(1));
        assertTrue(store.find(s.id()).isPresent());
        clock.advance(Duration.ofMillis(1));
        assertTrue(store.find(s.id()).isEmpty());
    }

    @Test
    void expiry_zeroOrNegativeInterval_neverExpires() {
        SessionStore immortalByDefault = openStore(config()
                .defaultMaxInactiveInterval(Duration.ZERO).build());
        String byDefault = immortalByDefault.create().id();
        String zero = store.create(store.change().maxInactiveInterval(Duration.ZERO).build()).id();
        String negative = store.create(store.change()
                .maxInactiveInterval(Duration.ofSeconds(-1)).build()).id();
        String changedLater = store.create().id();
        store.commit(changedLater, store.change().maxInactiveInterval(Duration.ofDays(-3)).build());

        clock.advance(Duration.ofDays(100_000));
        for (String id : List.of(byDefault, zero, negative, changedLater)) {
            Session s = store.find(id).orElseThrow(() -> new AssertionError("expired: " + id));
            assertEquals(Optional.empty(), s.expiryTime());
            assertTrue(store.commit(id, set("still", true)).isPresent());
        }
    }

    // ---- closing ----

    @Test
    void closedStore_everyOperationThrowsIllegalStateException() {
        String id = store.create().id();
        SessionChange change = set("k", "v");
        store.close();
        store.close(); // idempotent
        List<Executable> operations = List.of(store::create, () -> store.create(change),
                () -> store.find(id), () -> store.commit(id, change),
                () -> store.update(id, "k", v -> 1), () -> store.lock(id),
                () -> store.lock(id, SHORT), () -> store.invalidate(id),
                () -> store.changeId(id));
        for (Executable operation : operations) {
            assertThrows(IllegalStateException.class, operation);
        }
        assertEquals(directory(), store.config().directory());
    }

    @Test
    void close_otherStoresOnTheDirectoryAreUnaffected() {
        SessionStore other = openStore(config().build());
        String id = createWith("k", "v").id();
        store.close();
        assertEquals("v", other.find(id).orElseThrow().attribute("k"));
        assertTrue(other.commit(id, set("k", "w")).isPresent());
        try (SessionLock lock = other.lock(id, SHORT)) {
            assertEquals("w", lock.session().orElseThrow().attribute("k"));
        }
    }

    @Test
    void close_locksHeldThroughHandlesStayHeldUntilReleased() throws Exception {
        SessionStore other = openStore(config().build());
        String id = store.create().id();
        SessionLock lock = store.lock(id);
        store.close();
        assertTimesOutInOtherThread(() -> other.lock(id, SHORT));
        lock.close();
        try (SessionLock again = inOtherThread(() -> other.lock(id, SHORT))) {
            assertEquals(id, again.id());
        }
    }

    /** A change not built by a Latchkey store. */
    private static final class ForeignChange implements SessionChange {
        @Override
        public Set<String> setNames() {
            return Set.of("x");
        }

        @Override
        public Set<String> removedNames() {
            return Set.of();
        }

        @Override
        public boolean touches() {
            return false;
        }

        @Override
        public Optional<Duration> maxInactiveInterval() {
            return Optional.empty();
        }
    }
}
