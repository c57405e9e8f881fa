package dev.latchkey.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.Durability;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.RecoveryReport;
import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.StoreException;
import dev.latchkey.StoreStats;
import dev.latchkey.SweepResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.UnaryOperator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The file-system {@link SessionStore}. See {@link SessionStore} for the contract,
 * {@link SessionFiles} for the publish protocol and {@link LockTable} for the locks.
 *
 * <p>Lock discipline: every operation that changes a session holds that session's stripe (a
 * {@link LockTable.Held}) from before it reads the session until after it has published or
 * removed it. {@link #changeId} holds two stripes, taken in ascending stripe order, so two of them
 * cannot deadlock. Reads take no lock unless the lock-free read is inconclusive.
 *
 * <p>Expiry index: every publish and removal keeps the {@link ExpiryIndex} right under the same
 * lock (a marker is created before the state it covers is published and unlinked after that state
 * is gone); {@link #sweep} reads it through the {@link Sweeper}.
 *
 * <p>Thread-safety: thread-safe; holds no mutable state besides the closed flag, the background
 * sweep's task and the {@link StoreStats} counters ({@link LongAdder}s: no lock on the hot path).
 */
public final class FileSessionStore implements SessionStore {
    private static final Logger LOG = LoggerFactory.getLogger(FileSessionStore.class);

    private final StoreConfig config;
    private final ValueCodec codec;
    private final SessionFiles files;
    private final LockTable locks;
    private final ExpiryIndex index;
    private final Sweeper sweeper;
    private final AtomicBoolean closed = new AtomicBoolean();
    private final LongAdder commits = new LongAdder();
    private final LongAdder concurrentMerges = new LongAdder();
    private final LongAdder lockWaits = new LongAdder();
    private final LongAdder lockTimeouts = new LongAdder();
    private final LongAdder swept = new LongAdder();
    private final LongAdder recoveries = new LongAdder();
    /** The background sweep's task, if one is scheduled; cancelled on close. */
    private volatile ScheduledFuture<?> backgroundSweep;

    private FileSessionStore(StoreConfig config, LockTable locks, ValueCodec codec,
            SessionFiles files, ExpiryIndex index) {
        this.config = config;
        this.locks = locks;
        this.codec = codec;
        this.files = files;
        this.index = index;
        this.sweeper = new Sweeper(index, files, this::tryLockStripe, config.clock(),
                () -> !closed.get(), swept);
    }

    /**
     * Opens a store; see {@link SessionStore#open(StoreConfig)}, which this calls.
     *
     * @param config the configuration
     * @return the open store
     */
    public static FileSessionStore open(StoreConfig config) {
        return (FileSessionStore) SessionStore.open(config);
    }

    /**
     * Opens a store; called by {@link SessionStore#open(StoreConfig)} with the key bytes that the
     * configuration keeps to itself (it has no public accessor for them, so that nothing that
     * walks a configuration's getters, a framework's config dump for one, prints a key).
     *
     * @param config the configuration
     * @param macKey the bytes given to {@code StoreConfig.Builder.macKey}, or null
     * @param previousMacKeys the bytes given to {@code StoreConfig.Builder.previousMacKeys}
     * @return the open store
     */
    public static FileSessionStore open(StoreConfig config, byte[] macKey,
            List<byte[]> previousMacKeys) {
        return open(config, macKey, previousMacKeys, FileOps.SYSTEM);
    }

    /**
     * For tests that inject OS failures into the write path: a store whose configuration gives
     * no key bytes (it may name key files), with its file writes going through {@code ops}.
     */
    static FileSessionStore open(StoreConfig config, FileOps ops) {
        return open(config, null, List.of(), ops);
    }

    private static FileSessionStore open(StoreConfig config, byte[] macKey,
            List<byte[]> previousMacKeys, FileOps ops) {
        Objects.requireNonNull(config, "config");
        Layout layout = new Layout(config.directory());
        prepareDirectory(layout);
        MacKeys keys = MacKeys.load(layout, macKey, config.macKeyFile().orElse(null),
                previousMacKeys, config.previousMacKeyFiles());
        ValueCodec codec = new ValueCodec(config);
        SessionFiles files = new SessionFiles(layout, new RecordFormat(codec.mapper(), keys),
                config.durability() == Durability.SYNCED, ops);
        LockTable locks = LockTable.open(layout.lockFile());
        FileSessionStore store = new FileSessionStore(config, locks, codec, files,
                new ExpiryIndex(layout));
        config.sweepExecutor().ifPresent(store::scheduleSweep);
        LOG.info("opened session store in {} ({})", layout.root(), config.durability());
        return store;
    }

    private void scheduleSweep(ScheduledExecutorService executor) {
        long period = Math.max(1, Math.min(config.sweepPeriod().toMillis(),
                TimeUnit.DAYS.toMillis(365)));
        try {
            backgroundSweep = executor.scheduleWithFixedDelay(
                    () -> sweeper.runInBackground(period), period, period, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            close();
            throw new IllegalStateException("the background sweep executor refused the sweep"
                    + " task; pass an executor that is not shut down", e);
        }
    }

    private static void prepareDirectory(Layout layout) {
        Path root = layout.root();
        try {
            if (Files.exists(root, LinkOption.NOFOLLOW_LINKS) && !Files.isDirectory(root)) {
                throw new StoreException("the session directory is not a directory; configure a"
                        + " directory path", root, null);
            }
            if (!Files.isDirectory(root)) {
                Path parent = root.getParent();
                if (parent != null) {
                    Files.createDirectories(parent);
                }
                try {
                    Files.createDirectory(root, FileModes.directory(root));
                    LOG.info("created session directory {}", root);
                } catch (java.nio.file.FileAlreadyExistsException raced) {
                    // another process made it
                }
            }
            Path sessions = layout.sessions();
            // a link planted at one of these names is removed, never followed (RealDirectories)
            RealDirectories.ensure(sessions, FileModes.directory(root));
            RealDirectories.refuseNonDirectory(layout.expiry());
            RealDirectories.refuseNonDirectory(layout.quarantine());
            if (!Files.isReadable(root) || !Files.isWritable(root)
                    || !Files.isWritable(sessions)) {
                throw new StoreException("the session directory must be readable and writable by"
                        + " this process's user", root, null);
            }
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot create the session directory", root, e);
        }
    }

    @Override
    public SessionChange.Builder change() {
        return new ChangeImpl.Builder(codec);
    }

    @Override
    public Session create(SessionChange initial) {
        ChangeImpl change = ChangeImpl.of(initial);
        requireOpen();
        long now = now();
        long interval = SessionRecord.intervalMillis(change.maxInactiveInterval()
                .orElse(config.defaultMaxInactiveInterval()));
        String id = SessionIds.generate();
        SessionRecord blank = new SessionRecord(id, now, now, interval, -1, new LinkedHashMap<>());
        SessionRecord record = blank.apply(change, now);
        LockTable.Held held = lockStripe(stripe(id), config.lockTimeout(), describe(id));
        try {
            publish(new SessionFiles.Current(null, false), record, held);
        } finally {
            held.release();
        }
        LOG.debug("created session {}", describe(id));
        return snapshot(record);
    }

    @Override
    public Optional<Session> find(String id) {
        Objects.requireNonNull(id, "id");
        requireOpen();
        if (!SessionIds.isWellFormed(id)) {
            return Optional.empty();
        }
        SessionRecord record = readWithoutLock(id);
        if (record == SessionFiles.DAMAGED) {
            LockTable.Held held = lockStripe(stripe(id), config.lockTimeout(), describe(id));
            try {
                record = files.readLocked(id).record;
            } finally {
                held.release();
            }
        }
        return record == null || record.isExpired(now()) ? Optional.empty()
                : Optional.of(snapshot(record));
    }

    /**
     * The lock-free read of {@link #find}: the state, null if certainly none, or
     * {@link SessionFiles#DAMAGED} if a holder of the lock must decide. A look that found nothing
     * while a publish of the stripe was under way is repeated; after a few such looks (a busy
     * stripe, or a holder that died inside a publish) the lock decides too.
     */
    private SessionRecord readWithoutLock(String id) {
        int stripe = stripe(id);
        for (int attempt = 0; attempt < 8; attempt++) {
            long before = locks.publishSequence(stripe);
            SessionRecord record = files.probe(id);
            if (record != null) {
                return record;
            }
            if ((before & 1) == 0 && locks.publishSequence(stripe) == before) {
                return null;
            }
            Thread.onSpinWait();
        }
        return SessionFiles.DAMAGED;
    }

    @Override
    public Optional<Session> commit(String id, SessionChange change) {
        ChangeImpl delta = ChangeImpl.of(change);
        return withLock(id, held -> commitLocked(id, delta, held));
    }

    @Override
    public Optional<Session> update(String id, String name, UnaryOperator<Object> function) {
        ValueCodec.checkName(name);
        Objects.requireNonNull(function, "function");
        return withLock(id, held -> updateLocked(id, name, function, held));
    }

    @Override
    public boolean invalidate(String id) {
        return withLock(id, held -> invalidateLocked(id));
    }

    @Override
    public Optional<Session> changeId(String id) {
        Objects.requireNonNull(id, "id");
        requireOpen();
        if (!SessionIds.isWellFormed(id)) {
            return Optional.empty();
        }
        String newId = SessionIds.generate();
        int a = stripe(id);
        int b = stripe(newId);
        LockTable.Held first = lockStripe(Math.min(a, b), config.lockTimeout(), describe(id));
        try {
            LockTable.Held second = a == b ? null
                    : lockStripe(Math.max(a, b), config.lockTimeout(), describe(newId));
            try {
                return moveLocked(id, newId);
            } finally {
                if (second != null) {
                    second.release();
                }
            }
        } finally {
            first.release();
        }
    }

    @Override
    public SessionLock lock(String id, Duration timeout) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.compareTo(StoreConfig.MAX_LOCK_TIMEOUT) > 0) {
            throw new IllegalArgumentException("timeout must be between zero and "
                    + StoreConfig.MAX_LOCK_TIMEOUT + ", was " + timeout);
        }
        requireOpen();
        // a malformed id names no session: its handle guards nothing and finds nothing
        LockTable.Held held = SessionIds.isWellFormed(id)
                ? lockStripe(stripe(id), timeout, describe(id)) : null;
        return new HeldSessionLock(this, id, held);
    }

    @Override
    public SweepResult sweep(int limit) {
        return sweeper.sweep(limit);
    }

    @Override
    public StoreConfig config() {
        return config;
    }

    @Override
    public RecoveryReport recover() {
        requireOpen();
        RecoveryReport report = new Recovery(this, files).run();
        recoveries.increment();
        return report;
    }

    @Override
    public StoreStats stats() {
        return new StoreStats(commits.sum(), concurrentMerges.sum(), lockWaits.sum(),
                lockTimeouts.sum(), files.quarantined.sum(), swept.sum(), files.repairs.sum(),
                recoveries.sum());
    }

    /** Adds to the swept-sessions counter (the sweeper shares the adder; tests call this). */
    void countSwept(long sessions) {
        swept.add(sessions);
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            ScheduledFuture<?> task = backgroundSweep;
            if (task != null) {
                task.cancel(false); // a run under way stops at its next marker
            }
            locks.release();
            LOG.info("closed session store in {}", config.directory());
        }
    }

    /** For tests: how many times this store forced a file or directory to disk. */
    long forces() {
        return files.forces.sum();
    }

    /** For tests: how many session files this store verified and parsed (not known bytes). */
    long decodes() {
        return files.decodes.sum();
    }

    /** Sessions removed by this store's sweeps (explicit and background). */
    long sweptSessions() {
        return swept.sum();
    }

    /** For tests: the sweeper, whose counters show how much work sweeps did. */
    Sweeper sweeper() {
        return sweeper;
    }

    /** The expiry index (recovery adds missing markers; tests count the writers' index I/O). */
    ExpiryIndex expiryIndex() {
        return index;
    }

    @Override
    public String toString() {
        return "FileSessionStore[" + config.directory() + (closed.get() ? ", closed]" : "]");
    }

    // ---- operations with the stripe held; also used by HeldSessionLock ----

    interface Locked<T> {
        T run(LockTable.Held held);
    }

    private <T> T withLock(String id, Locked<T> work) {
        Objects.requireNonNull(id, "id");
        requireOpen();
        if (!SessionIds.isWellFormed(id)) {
            return work.run(null);
        }
        LockTable.Held held = lockStripe(stripe(id), config.lockTimeout(), describe(id));
        try {
            return work.run(held);
        } finally {
            held.release();
        }
    }

    /** The live record of a session, or null; deletes an expired one (we hold its lock). */
    private SessionFiles.Current live(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return new SessionFiles.Current(null, false);
        }
        // a stale ID.old is looked for only where a publish of the stripe may have been cut short
        SessionFiles.Current current = files.readLocked(id, false, locks.cutShort(stripe(id)));
        if (current.record != null && current.record.isExpired(now())) {
            remove(current.record);
            LOG.debug("removed expired session {}", describe(id));
            return new SessionFiles.Current(null, false);
        }
        return current;
    }

    Optional<Session> readLocked(String id) {
        SessionRecord record = live(id).record;
        return record == null ? Optional.empty() : Optional.of(snapshot(record));
    }

    Optional<Session> commitLocked(String id, ChangeImpl change, LockTable.Held held) {
        SessionFiles.Current current = live(id);
        if (current.record == null) {
            return Optional.empty();
        }
        if (change.isEmpty()) {
            return Optional.of(snapshot(current.record)); // nothing to write
        }
        SessionRecord next = current.record.apply(change, now());
        publish(current, next, held);
        commits.increment();
        if (change.metConcurrentChange(current.record)) {
            concurrentMerges.increment();
        }
        return Optional.of(snapshot(next));
    }

    Optional<Session> updateLocked(String id, String name, UnaryOperator<Object> function,
            LockTable.Held held) {
        SessionFiles.Current current = live(id);
        if (current.record == null) {
            return Optional.empty();
        }
        JsonNode stored = current.record.attributes.get(name);
        Object value = stored == null ? null : codec.decode(name, stored);
        Object next = function.apply(value);
        ChangeImpl change = ChangeImpl.singleSet(name, next == null ? null
                : codec.encode(name, next));
        SessionRecord record = current.record.apply(change, now());
        publish(current, record, held);
        commits.increment();
        return Optional.of(snapshot(record));
    }

    boolean invalidateLocked(String id) {
        SessionFiles.Current current = live(id);
        if (current.record == null) {
            return false;
        }
        remove(current.record);
        LOG.debug("invalidated session {}", describe(id));
        return true;
    }

    /**
     * Moves a session; the stripes of both ids must be held. See {@link SessionFiles#move} for
     * why the old id dies before the new one is published.
     */
    Optional<Session> moveLocked(String id, String newId) {
        SessionFiles.Current current = live(id);
        if (current.record == null) {
            return Optional.empty();
        }
        SessionRecord moved = current.record.withId(newId);
        index.move(null, moved).before(); // the new id's marker, before the new id is published
        files.move(id, moved);
        index.removed(current.record); // the old id's marker, after its files are gone
        LOG.debug("moved session {} to {}", describe(id), describe(newId));
        return Optional.of(snapshot(moved));
    }

    /**
     * Publishes a state and keeps the expiry index right: a new marker before the publish, the
     * old one unlinked after it (see {@link ExpiryIndex}). A failed publish leaves the new marker:
     * an extra marker is harmless, a missing one is not.
     */
    private void publish(SessionFiles.Current previous, SessionRecord next, LockTable.Held held) {
        ExpiryIndex.Move move = index.move(previous.record, next);
        move.before();
        files.publish(previous, next, held);
        move.after();
    }

    /** Removes a session's files, then its marker (a crash in between leaves a stale marker). */
    private void remove(SessionRecord record) {
        files.delete(record.id);
        index.removed(record);
    }

    LockTable.Held acquire(String id, Duration timeout) {
        return lockStripe(stripe(id), timeout, describe(id));
    }

    /** One attempt, not counted as a wait or a timeout: the held stripe, or null if busy. */
    LockTable.Held tryAcquire(String id) {
        try {
            return countRepair(locks.acquire(stripe(id), Duration.ZERO, describe(id)));
        } catch (LockTimeoutException busy) {
            return null;
        }
    }

    /**
     * One attempt at a stripe, not counted as a wait or a timeout (a sweep skips busy sessions):
     * the held stripe, or null if busy. A repair the acquisition made is counted.
     */
    LockTable.Held tryLockStripe(int stripe) {
        LockTable.Held held = locks.tryAcquire(stripe);
        return held == null ? null : countRepair(held);
    }

    /** Counts the repair of an odd publish sequence that acquiring the stripe did. */
    private LockTable.Held countRepair(LockTable.Held held) {
        if (held.repairedOnAcquire()) {
            files.repairs.increment();
        }
        return held;
    }

    /** Every acquisition of this store goes through here, for the lock counters. */
    LockTable.Held lockStripe(int stripe, Duration timeout, String what) {
        LockTable.Held held;
        try {
            held = locks.acquire(stripe, timeout, what);
        } catch (LockTimeoutException e) {
            lockWaits.increment();
            lockTimeouts.increment();
            throw e;
        }
        if (held.waited()) {
            lockWaits.increment();
        }
        countRepair(held);
        return held;
    }

    long publishSequence(int stripe) {
        return locks.publishSequence(stripe);
    }

    static int stripe(String id) {
        return SessionIds.stripe(id, LockTable.STRIPES);
    }

    private Session snapshot(SessionRecord record) {
        return new SnapshotSession(record, codec);
    }

    private long now() {
        return config.clock().millis();
    }

    private void requireOpen() {
        if (closed.get()) {
            throw new IllegalStateException("the session store is closed");
        }
    }

    /** Ids are secrets: logs and messages show their first 6 letters only. */
    static String describe(String id) {
        if (!SessionIds.isWellFormed(id)) {
            return "session <malformed id>";
        }
        return "session " + id.substring(0, 6) + "…";
    }
}
