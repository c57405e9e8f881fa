package dev.latchkey.internal;

import dev.latchkey.StoreException;
import dev.latchkey.SweepResult;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
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
 * A bucket is removed once a walk left it empty. The work of a call is bounded by its limit: every
 * marker it looks at counts (whatever comes of it), and the buckets it finds empty and the links
 * it removes have a bound of the same size; plus one listing of the index's top directory. Proportional to what is due, never to
 * the number of sessions. A call that stops at its limit leaves a cursor, so the next resumes
 * after the entries it left in place. The walk never follows a link ({@link IndexWalk}).
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

    /**
     * Where the last call that stopped at its limit left off: its bucket and how many entries it
     * left in place there. The next call resumes there, so entries that stay (busy sessions,
     * refused files) cannot make every call redo the same work; a call that reaches the end of
     * the due buckets starts the next pass from the oldest again. Shared loosely by concurrent
     * sweeps (a stale value only moves work to the next pass).
     */
    private volatile long[] resume;

    SweepResult sweep(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("the sweep limit must be at least 1, was " + limit);
        }
        requireOpen();
        long start = clock.millis();
        Counts counts = new Counts(limit);
        boolean more = false;
        long[] from = resume;
        try (IndexWalk walk = IndexWalk.open(index)) {
            List<Long> due = walk.dueBuckets(start);
            counts.buckets += walk.linksRemoved;
            walk.linksRemoved = 0;
            entriesVisited.add(due.size());
            for (long bucket : due) {
                if (from != null && bucket < from[0]) {
                    continue; // done earlier in this pass
                }
                int skip = from != null && bucket == from[0] ? (int) from[1] : 0;
                Boolean leftSome = sweepBucket(walk, bucket, skip, counts);
                if (leftSome == null) {
                    more = true; // the bound is reached and this bucket has another entry
                    resume = new long[] {bucket, counts.leftInBucket};
                    break;
                }
                if (!leftSome) {
                    // a bucket this call emptied is paid for by its markers; one found empty
                    // (left by writers moving markers, or planted) counts toward a bound of its
                    // own, so that empty buckets cannot crowd out the markers behind them
                    if (counts.visitedInBucket > 0) {
                        walk.removeBucketIfEmpty(bucket);
                    } else if (counts.buckets < limit) {
                        counts.buckets++;
                        entriesVisited.increment();
                        walk.removeBucketIfEmpty(bucket);
                    } // else it stays for a later call; `more` speaks of markers only
                }
            }
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot walk the expiry index", index.root(), e);
        }
        if (!more) {
            resume = null; // the pass is complete: the next one starts from the oldest bucket
        }
        SweepResult result = new SweepResult(counts.examined, counts.removed, counts.skipped,
                more);
        if (counts.refused > 0) {
            LOG.warn("sweep of {} left {} session files in place that this store refuses (signed"
                    + " with a MAC key it lacks, or of a newer format): a store that can read them"
                    + " sweeps them (DEBUG names each)", index.root().getParent(), counts.refused);
        }
        LOG.debug("sweep of {}: {}", index.root().getParent(), result);
        return result;
    }

    /** Running totals of one sweep. */
    private static final class Counts {
        final int limit;
        int examined;
        int removed;
        int skipped;
        int refused;
        /** Markers visited, whatever their outcome: at most the limit. */
        int work;
        /** Empty buckets and planted links removed: at most the limit too. */
        int buckets;
        /** Entries left in place in the bucket being walked. */
        int leftInBucket;
        /** Entries visited in the bucket being walked. */
        int visitedInBucket;

        Counts(int limit) {
            this.limit = limit;
        }
    }

    /**
     * Walks one bucket, after skipping {@code skip} entries that an earlier call of this pass
     * left in place (a directory read only: no lock, no file read).
     *
     * @return whether it left entries in place; null if it stopped at the bound with one left
     */
    private Boolean sweepBucket(IndexWalk walk, long bucket, int skip, Counts counts)
            throws IOException {
        boolean leftSome = skip > 0;
        counts.leftInBucket = skip;
        counts.visitedInBucket = 0;
        try (IndexWalk.Bucket markers = walk.bucket(bucket)) {
            if (markers == null) {
                counts.buckets += walk.linksRemoved; // a planted link removed
                walk.linksRemoved = 0;
                return true; // removed by another sweep, or a link: nothing to rmdir
            }
            Iterator<Path> it = markers.iterator();
            for (int i = 0; i < skip && it.hasNext(); i++) {
                it.next();
            }
            while (it.hasNext()) {
                Path marker = it.next();
                if (counts.work >= counts.limit) {
                    return null;
                }
                requireOpen();
                entriesVisited.increment();
                counts.examined++;
                counts.work++;
                counts.visitedInBucket++;
                switch (visit(markers, marker, bucket, counts)) {
                    case REMOVED -> counts.removed++;
                    case DROPPED -> {
                        // acted on
                    }
                    case KEPT -> {
                        leftSome = true;
                        counts.leftInBucket++;
                    }
                    case SKIPPED -> {
                        counts.skipped++;
                        leftSome = true;
                        counts.leftInBucket++;
                    }
                    default -> throw new AssertionError();
                }
            }
        } catch (DirectoryIteratorException e) {
            throw SessionFiles.storeException("cannot list expiry bucket",
                    index.bucket(bucket), e.getCause());
        }
        return leftSome;
    }

    private enum Outcome { REMOVED, DROPPED, KEPT, SKIPPED }

    private Outcome visit(IndexWalk.Bucket markers, Path marker, long bucket, Counts counts) {
        String id = marker.getFileName().toString();
        if (!SessionIds.isWellFormed(id)) {
            markers.removeForeign(marker);
            return Outcome.DROPPED;
        }
        LockTable.Held held = tryLock.apply(FileSessionStore.stripe(id));
        if (held == null) {
            return Outcome.SKIPPED; // in use: whoever holds it keeps the index right
        }
        try {
            return visitLocked(markers, id, bucket, counts);
        } catch (StoreException e) {
            // one file the OS refuses (permissions, I/O error) must not stop every later sweep
            LOG.warn("sweep skips {}: {}", FileSessionStore.describe(id), e.getMessage(), e);
            return Outcome.SKIPPED;
        } finally {
            held.release();
        }
    }

    /** Decides one marker of a due bucket; the session's stripe is held. */
    private Outcome visitLocked(IndexWalk.Bucket markers, String id, long bucket,
            Counts counts) {
        SessionFiles.Current current = files.readLocked(id, true);
        SessionRecord record = current.record;
        sessionsRead.increment();
        if (record == null) {
            if (current.refused || stillStored(id)) {
                // refused and left in place (signed with a key this store lacks, or a newer
                // format; summed up at WARN per sweep): a store that can read it sweeps it
                counts.refused += current.refused ? 1 : 0;
                return Outcome.SKIPPED;
            }
            markers.removeMarker(id);
            removeTemp(id);
            return Outcome.DROPPED;
        }
        long due = ExpiryIndex.due(record);
        if (record.isExpired(clock.millis())) {
            files.delete(id);
            markers.removeMarker(id);
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
        markers.removeMarker(id);
        return Outcome.DROPPED;
    }

    /**
     * Removes an {@code ID.tmp} beside no session: a {@code changeId} that crashed between
     * removing the old id and publishing the new one leaves the whole state in {@code NEW.tmp},
     * and only the new id's marker leads to it. The stripe is held.
     */
    private void removeTemp(String id) {
        files.removeLeftoverTemp(id);
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
        } catch (Error e) {
            // rethrown: an Error (out of memory, a linkage error) is not the sweep's to swallow;
            // the executor then cancels the fixed-delay task, so say so where an operator looks
            LOG.error("background sweep of {} failed with an error; it is stopped and does not"
                    + " run again until the store is reopened (call sweep() meanwhile)",
                    index.root().getParent(), e);
            throw e;
        }
    }

    private void requireOpen() {
        if (!open.getAsBoolean()) {
            throw new IllegalStateException("the session store is closed");
        }
    }
}
