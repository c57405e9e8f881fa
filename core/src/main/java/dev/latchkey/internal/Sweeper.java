package dev.latchkey.internal;

import dev.latchkey.StoreException;
import dev.latchkey.SweepResult;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Clock;
import java.util.Iterator;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import java.util.function.IntFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sweep of expired sessions, driven by the {@link ExpiryIndex}. For each marker of a due
 * bucket it tries the session's lock (a held lock means the session is in use: it is skipped,
 * never waited for), re-reads the session under the lock and then:
 *
 * <ul>
 *   <li>no session (removed meanwhile, or damaged and moved aside): unlinks the marker;</li>
 *   <li>a file this store refuses but leaves in place (signed with a MAC key it lacks, or of a
 *       newer format): skips it, keeping the marker for a store that can read it;</li>
 *   <li>expired by the clock, read now: removes the session's files ({@code ID.old} before
 *       {@code ID}), then its markers;</li>
 *   <li>not expired (a stale marker: a crash between the steps of a marker move, or a planted
 *       one): makes sure the session's right marker exists, then unlinks this one. If this one
 *       is the right one (the clock went back) it stays.</li>
 * </ul>
 *
 * A bucket is removed once a walk left it empty. The work of a call is the markers it looks at
 * plus one listing of the index's top directory: proportional to what is due, never to the number
 * of sessions.
 *
 * <p>Thread-safety: thread-safe; sweeps in several threads or processes only compete for markers.
 */
final class Sweeper {
    private static final Logger LOG = LoggerFactory.getLogger(Sweeper.class);
    /** Markers acted on per batch of a background run. */
    static final int BACKGROUND_BATCH = 1_000;

    private final ExpiryIndex index;
    private final SessionFiles files;
    /** Tries a stripe once: the held stripe, or null if busy (the store counts repairs). */
    private final IntFunction<LockTable.Held> tryLock;
    private final Clock clock;
    private final BooleanSupplier open;

    /** Sessions removed by sweeps of this store: the store's {@code StoreStats.swept}. */
    private final LongAdder swept;
    /** Index entries looked at by sweeps (markers and buckets), for tests that count the work. */
    final LongAdder entriesVisited = new LongAdder();
    /** Session files read by sweeps, for tests that count the work. */
    final LongAdder sessionsRead = new LongAdder();

    Sweeper(ExpiryIndex index, SessionFiles files, IntFunction<LockTable.Held> tryLock,
            Clock clock, BooleanSupplier open, LongAdder swept) {
        this.swept = swept;
        this.index = index;
        this.files = files;
        this.tryLock = tryLock;
        this.clock = clock;
        this.open = open;
    }

    SweepResult sweep(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("the sweep limit must be at least 1, was " + limit);
        }
        requireOpen();
        long start = clock.millis();
        List<Long> due = index.dueBuckets(start);
        entriesVisited.add(due.size());
        Counts counts = new Counts();
        boolean more = false;
        for (long bucket : due) {
            Boolean leftSome = sweepBucket(bucket, limit, counts);
            if (leftSome == null) {
                more = true; // the limit is reached and this bucket has another marker
                break;
            }
            if (!leftSome) {
                index.removeBucketIfEmpty(bucket);
            }
        }
        SweepResult result = new SweepResult(counts.examined, counts.removed, counts.skipped,
                more);
        LOG.debug("sweep of {}: {}", index.root().getParent(), result);
        return result;
    }

    /** Running totals of one sweep. */
    private static final class Counts {
        int examined;
        int removed;
        int skipped;
        int acted;
    }

    /**
     * Walks one bucket.
     *
     * @return whether it left markers in place; null if it stopped at the limit with one left
     */
    private Boolean sweepBucket(long bucket, int limit, Counts counts) {
        boolean leftSome = false;
        try (DirectoryStream<Path> markers = index.markers(bucket)) {
            if (markers == null) {
                return false; // removed by another sweep
            }
            Iterator<Path> it = markers.iterator();
            while (it.hasNext()) {
                Path marker = it.next();
                if (counts.acted >= limit) {
                    return null;
                }
                requireOpen();
                entriesVisited.increment();
                counts.examined++;
                switch (visit(marker, bucket)) {
                    case REMOVED -> {
                        counts.removed++;
                        counts.acted++;
                    }
                    case DROPPED -> counts.acted++;
                    case KEPT -> leftSome = true;
                    case SKIPPED -> {
                        counts.skipped++;
                        leftSome = true;
                    }
                    default -> throw new AssertionError();
                }
            }
        } catch (DirectoryIteratorException e) {
            throw SessionFiles.storeException("cannot list expiry bucket",
                    index.bucket(bucket), e.getCause());
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot list expiry bucket", index.bucket(bucket), e);
        }
        return leftSome;
    }

    private enum Outcome { REMOVED, DROPPED, KEPT, SKIPPED }

    private Outcome visit(Path marker, long bucket) {
        String id = marker.getFileName().toString();
        if (!SessionIds.isWellFormed(id)) {
            index.removeForeign(marker);
            return Outcome.DROPPED;
        }
        LockTable.Held held = tryLock.apply(FileSessionStore.stripe(id));
        if (held == null) {
            return Outcome.SKIPPED; // in use: whoever holds it keeps the index right
        }
        try {
            return visitLocked(id, bucket);
        } catch (StoreException e) {
            // one file the OS refuses (permissions, I/O error) must not stop every later sweep
            LOG.warn("sweep skips {}: {}", FileSessionStore.describe(id), e.getMessage(), e);
            return Outcome.SKIPPED;
        } finally {
            held.release();
        }
    }

    /** Decides one marker of a due bucket; the session's stripe is held. */
    private Outcome visitLocked(String id, long bucket) {
        SessionRecord record = files.readLocked(id).record;
        sessionsRead.increment();
        if (record == null) {
            if (stillStored(id)) {
                // refused and left in place (signed with a key this store lacks, or a newer
                // format; logged at WARN): a store that can read it sweeps it, keep its marker
                return Outcome.SKIPPED;
            }
            index.remove(id, bucket);
            return Outcome.DROPPED;
        }
        long due = ExpiryIndex.due(record);
        if (record.isExpired(clock.millis())) {
            files.delete(id);
            index.remove(id, bucket);
            if (due != bucket && due != ExpiryIndex.NONE) {
                index.remove(id, due);
            }
            swept.increment();
            LOG.debug("swept expired {}", FileSessionStore.describe(id));
            return Outcome.REMOVED;
        }
        if (due == bucket) {
            return Outcome.KEPT; // the right marker; the clock went back since the listing
        }
        if (due != ExpiryIndex.NONE) {
            index.add(id, due);
        }
        index.remove(id, bucket);
        return Outcome.DROPPED;
    }

    private boolean stillStored(String id) {
        Layout layout = index.layout();
        return Files.exists(layout.current(id), LinkOption.NOFOLLOW_LINKS)
                || Files.exists(layout.old(id), LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * One run of the background sweep: batches until nothing more is due or the store closes.
     * Never throws, so a scheduled executor keeps running it.
     */
    void runInBackground(long periodMillis) {
        try {
            SweepResult result;
            do {
                if (!open.getAsBoolean()) {
                    return;
                }
                result = sweep(BACKGROUND_BATCH);
            } while (result.more()); // more: the batch acted on BACKGROUND_BATCH markers
        } catch (RuntimeException e) {
            if (!open.getAsBoolean()) {
                LOG.debug("background sweep stopped: the store was closed", e);
                return;
            }
            LOG.warn("background sweep of {} failed; the next run is in {} ms",
                    index.root().getParent(), periodMillis, e);
        }
    }

    private void requireOpen() {
        if (!open.getAsBoolean()) {
            throw new IllegalStateException("the session store is closed");
        }
    }
}
