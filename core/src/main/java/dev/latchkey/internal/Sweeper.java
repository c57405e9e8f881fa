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
import java.util.concurrent.atomic.AtomicReference;
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
 * it removes have a bound of the same size; plus one listing of the index's top directory and one
 * of each due bucket it enters. Proportional to what is due, never to the number of sessions. The
 * walk never follows a link ({@link IndexWalk}).
 *
 * <p><b>Passes.</b> A call visits the due markers in order of bucket time, then of marker name
 * ({@link NameWindow}). A pass of this store is its first call after the store opened or after a
 * pass ended, and the calls after it up to the one that ends the pass; each call continues after
 * the last marker the call before it visited (a cursor in memory: a bucket time and a name, never
 * a position in a listing, which moves as entries come and go). A call that stops at its limit
 * with a marker after its cursor returns {@code more}; one that reaches the end of the due
 * buckets ends the pass. What a pass guarantees:
 *
 * <ul>
 *   <li>a marker that is in a due bucket from the first call of the pass to its last is visited
 *       by exactly one call of the pass (more than one only if calls of this store run at the
 *       same time: they never skip one), whatever comes of it: removed, dropped, or left in place
 *       (a session in use, a refused or unreadable file, the right marker of a live session);</li>
 *   <li>a marker that appears during the pass (a writer whose clock lags, a crash's leftover, a
 *       planted file) is visited by the pass if it is there when a call of the pass lists its
 *       bucket and its name sorts after that call's cursor; otherwise (its bucket or name sorts
 *       before the cursor) it waits for the next pass. A bucket that comes due during the pass
 *       sorts after the cursor (its time is later than every bucket the pass has walked, unless
 *       the clock went back), so its markers are visited by the pass;</li>
 *   <li>so no marker is visited twice by a pass, and a pass ends: each call before the last
 *       visits {@code limit} markers after its cursor and moves it past them. A pass over
 *       {@code N} markers takes at most {@code ceil(N / limit) + 1} calls, also when every one
 *       of them stays in place (a thread that is interrupted reads no file and skips them
 *       all).</li>
 * </ul>
 *
 * <p>Thread-safety: thread-safe; sweeps in several threads or processes only compete for markers.
 * Calls of one store share its cursor: calls at the same time may visit a marker twice, never
 * skip one (see the field {@code cursor}). Other stores and processes have cursors of their own.
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
    /** Entries of due buckets read from directory listings, for tests that count the work. */
    final LongAdder entriesListed = new LongAdder();
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
     * Where this store's pass stands: every due marker up to {@code (bucket, name)}, in the order
     * of bucket time and then marker name, has been visited by a call of the pass. The next call
     * continues with the names after it. A call that reaches the end of the due buckets ends the
     * pass and puts a fresh {@link Cursor#start start} here, so the next call begins a new pass
     * from the oldest bucket. Concurrent calls of one store each move it only from the value they
     * began with ({@code compareAndSet} on the object, so a new pass's start is never mistaken
     * for an old one): a call that lost the race leaves the winner's cursor, and some markers may
     * be visited twice, none skipped.
     */
    private final AtomicReference<Cursor> cursor = new AtomicReference<>(Cursor.start());

    /**
     * A position in a pass: the buckets before {@code bucket} are done, and so are the names up
     * to {@code after} in it (none if null). Immutable; compared by identity.
     */
    private static final class Cursor {
        final long bucket;
        final Path after;

        private Cursor(long bucket, Path after) {
            this.bucket = bucket;
            this.after = after;
        }

        /** The start of a new pass: nothing visited yet. */
        static Cursor start() {
            return new Cursor(Long.MIN_VALUE, null);
        }

        @Override
        public String toString() {
            // a name is a bearer id: shown shortened, as every log line does
            return bucket == Long.MIN_VALUE ? "start" : "bucket " + bucket
                    + (after == null ? "" : " after " + Redaction.text(after.toString()));
        }
    }

    SweepResult sweep(int limit) {
        if (limit < 1) {
            throw new IllegalArgumentException("the sweep limit must be at least 1, was " + limit);
        }
        requireOpen();
        long start = clock.millis();
        Counts counts = new Counts(limit);
        Cursor from = cursor.get();
        Cursor next = null; // where this call stopped at its bound; null: it ended the pass
        try (IndexWalk walk = IndexWalk.open(index)) {
            List<Long> due = walk.dueBuckets(start);
            counts.buckets += walk.linksRemoved;
            walk.linksRemoved = 0;
            entriesVisited.add(due.size());
            for (long bucket : due) {
                if (bucket < from.bucket) {
                    continue; // visited earlier in this pass
                }
                Path after = bucket == from.bucket ? from.after : null;
                Walked walked = sweepBucket(walk, bucket, after, counts);
                if (walked.stopped) {
                    // the bound is reached and this bucket has a marker after the last visited
                    next = new Cursor(bucket, walked.lastVisited);
                    break;
                }
                if (!walked.leftSome) {
                    // a bucket this call emptied is paid for by its markers; one found empty
                    // (left by writers moving markers, or planted) counts toward a bound of its
                    // own, so that empty buckets cannot crowd out the markers behind them
                    if (walked.visited > 0) {
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
        boolean more = next != null;
        // the pass is complete: the next call starts a new one from the oldest bucket
        cursor.compareAndSet(from, more ? next : Cursor.start());
        SweepResult result = new SweepResult(counts.examined, counts.removed, counts.skipped,
                more);
        if (counts.refused > 0) {
            LOG.warn("sweep of {} left {} session files in place that this store refuses (signed"
                    + " with a MAC key it lacks, or of a newer format): a store that can read them"
                    + " sweeps them (DEBUG names each)", index.root().getParent(), counts.refused);
        }
        LOG.debug("sweep of {}: {} (pass {} -> {})", index.root().getParent(), result, from,
                more ? next : "complete");
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

        Counts(int limit) {
            this.limit = limit;
        }
    }

    /** What the walk of one bucket did. */
    private static final class Walked {
        /** Markers visited. */
        int visited;
        /** Whether entries may be left in the bucket (it is not to be removed). */
        boolean leftSome;
        /** Whether it stopped at the bound with a marker left after {@link #lastVisited}. */
        boolean stopped;
        /** The name of the last marker visited in the bucket by this pass; null: none yet. */
        Path lastVisited;
    }

    /**
     * Walks one bucket in name order, from the first name after {@code after} (every name if
     * null): the names up to it were visited by earlier calls of this pass. The whole bucket is
     * listed (a directory read: no lock, no file read), and only the {@code budget + 1} smallest
     * names after {@code after} are kept, so memory follows the limit, not the bucket.
     */
    private Walked sweepBucket(IndexWalk walk, long bucket, Path after, Counts counts)
            throws IOException {
        Walked walked = new Walked();
        walked.lastVisited = after;
        int budget = counts.limit - counts.work;
        try (IndexWalk.Bucket markers = walk.bucket(bucket)) {
            if (markers == null) {
                counts.buckets += walk.linksRemoved; // a planted link removed
                walk.linksRemoved = 0;
                walked.leftSome = true; // removed by another sweep, or a link: nothing to rmdir
                return walked;
            }
            NameWindow window = new NameWindow(after, budget == Integer.MAX_VALUE ? budget
                    : budget + 1);
            Iterator<Path> it = markers.iterator();
            while (it.hasNext()) {
                entriesListed.increment();
                window.offer(it.next());
                if (budget == 0 && window.size() > 0) {
                    break; // the bound is reached: one marker after the cursor is enough to tell
                }
            }
            walked.leftSome = window.before() > 0;
            List<Path> names = window.sorted();
            for (Path marker : names) {
                if (counts.work >= counts.limit) {
                    walked.leftSome = true;
                    walked.stopped = true;
                    return walked;
                }
                requireOpen();
                entriesVisited.increment();
                counts.examined++;
                counts.work++;
                walked.visited++;
                walked.lastVisited = marker.getFileName();
                switch (visit(markers, marker, bucket, counts)) {
                    case REMOVED -> counts.removed++;
                    case DROPPED -> {
                        // acted on
                    }
                    case KEPT -> walked.leftSome = true;
                    case SKIPPED -> {
                        counts.skipped++;
                        walked.leftSome = true;
                    }
                    default -> throw new AssertionError();
                }
            }
        } catch (DirectoryIteratorException e) {
            throw SessionFiles.storeException("cannot list expiry bucket",
                    index.bucket(bucket), e.getCause());
        }
        return walked;
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
