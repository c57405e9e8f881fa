package dev.latchkey.internal;

import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The expiry index: one empty marker file {@code DIR/expiry/DUE/ID} per session that can expire,
 * so that a sweep finds the sessions that expired by listing a few directories, without looking at
 * (let alone parsing) the files of live sessions.
 *
 * <p>{@code DUE} is a time in epoch milliseconds, written in decimal: the end of the
 * {@linkplain #granularity granule} that holds the session's expiry time. Every session in bucket
 * {@code DUE} expires before {@code DUE}, so once the clock reaches {@code DUE} all of them have
 * expired, unless the marker is stale. A sweep walks only buckets whose {@code DUE} has come,
 * and removes a session at most one granule after it expired.
 *
 * <p>Invariant, kept by every writer under the session's lock: a session that can expire has a
 * marker, normally exactly one, in bucket {@link #due(SessionRecord)} of its current state. A
 * publish that moves the session to another bucket creates the new marker <em>before</em> it
 * publishes and unlinks the old one after, so a crash leaves an extra (stale) marker, never a
 * missing one; a removal unlinks the marker after the session's files. A touch moves the expiry
 * by the time since the last touch, so a busy session changes bucket at most once per granule:
 * most commits do no index I/O at all. Markers hold nothing and are never read; a planted
 * marker only makes a sweep look at that id under its lock.
 *
 * <p>Every method that changes a session's markers must be called with its stripe held, except
 * that a sweep may remove an empty bucket and foreign entries. Thread-safety: thread-safe.
 */
final class ExpiryIndex {
    private static final Logger LOG = LoggerFactory.getLogger(ExpiryIndex.class);

    /** What {@link #due} returns for a session that never expires: it has no marker. */
    static final long NONE = Long.MIN_VALUE;

    private static final long SECOND = 1_000;
    /** Granules from fine to coarse; see {@link #granularity}. */
    private static final long[] GRANULES = {SECOND, 10 * SECOND, 60 * SECOND, 600 * SECOND,
        3_600 * SECOND, 86_400 * SECOND};
    /** A session's granule is at most this fraction of its interval (when it can be). */
    private static final long GRANULES_PER_INTERVAL = 16;

    private final Layout layout;
    private final Path root;
    private final Path quarantine;
    private final FileAttribute<?>[] fileMode;
    private final FileAttribute<?>[] dirMode;

    /** Markers created or unlinked by writers (not by sweeps): tests count the commit path. */
    final LongAdder writerOperations = new LongAdder();

    ExpiryIndex(Layout layout) {
        this.layout = layout;
        this.root = layout.expiry();
        this.quarantine = layout.quarantine();
        this.fileMode = FileModes.file(layout.root());
        this.dirMode = FileModes.directory(layout.root());
    }

    /**
     * The granule of a session with this interval: the coarsest of 1 s, 10 s, 1 min, 10 min,
     * 1 h and 1 day that is at most 1/16 of the interval, and 1 s for intervals under 16 s. The
     * finer the granule, the sooner a sweep removes an expired session, and the more often a busy
     * session's marker moves: at most 16 times per interval of activity.
     */
    static long granularity(long maxInactive) {
        long granule = GRANULES[0];
        for (long g : GRANULES) {
            if (g * GRANULES_PER_INTERVAL <= maxInactive) {
                granule = g;
            }
        }
        return granule;
    }

    /** The bucket of a state: the end of the granule that holds its expiry, or {@link #NONE}. */
    static long due(SessionRecord record) {
        if (record.maxInactive <= 0) {
            return NONE;
        }
        long expiry = record.accessed + record.maxInactive;
        if (((record.accessed ^ expiry) & (record.maxInactive ^ expiry)) < 0) {
            expiry = Long.MAX_VALUE; // overflow: a clock near the end of time
        }
        long granule = granularity(record.maxInactive);
        long start = Math.floorDiv(expiry, granule) * granule;
        return start > Long.MAX_VALUE - granule ? Long.MAX_VALUE : start + granule;
    }

    /**
     * Keeps the index right across a publish of {@code next} over {@code previous} (null: none).
     * Call {@link Move#before} before the publish and {@link Move#after} once it succeeded.
     */
    Move move(SessionRecord previous, SessionRecord next) {
        return new Move(previous == null ? NONE : due(previous), due(next), next.id);
    }

    /** The index's part of one publish. */
    final class Move {
        private final long from;
        private final long to;
        private final String id;

        private Move(long from, long to, String id) {
            this.from = from;
            this.to = to;
            this.id = id;
        }

        /** Creates the new marker: before the state it covers exists. */
        void before() {
            if (to != from && to != NONE) {
                add(id, to);
                writerOperations.increment();
            }
        }

        /** Unlinks the old marker: after the state it covered is gone. */
        void after() {
            if (to != from && from != NONE) {
                remove(id, from);
                writerOperations.increment();
            }
        }
    }

    /** Unlinks the marker of a state whose files were just removed. */
    void removed(SessionRecord record) {
        long due = due(record);
        if (due != NONE) {
            remove(record.id, due);
            writerOperations.increment();
        }
    }

    Path root() {
        return root;
    }

    Layout layout() {
        return layout;
    }

    Path bucket(long due) {
        return root.resolve(Long.toString(due));
    }

    Path marker(String id, long due) {
        return bucket(due).resolve(id);
    }

    /**
     * Creates a marker if it is not there. A sweep may remove an empty bucket at any time (only
     * past buckets, but a commit can put a session into the past: one that shortens its interval
     * without a touch), so a vanished bucket is made again.
     *
     * @return true if this call created the marker, false if it was there already
     */
    boolean add(String id, long due) {
        Path marker = marker(id, due);
        try {
            // the marker is named by the bearer id: never created through a planted link
            RealDirectories.refuseNonDirectory(root);
            RealDirectories.refuseNonDirectory(marker.getParent());
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot check expiry bucket", marker.getParent(), e);
        }
        for (int attempt = 0; ; attempt++) {
            try {
                Files.createFile(marker, fileMode);
                return true;
            } catch (FileAlreadyExistsException e) {
                return false; // a stale marker from a crash, or a planted one: either will do
            } catch (NoSuchFileException e) {
                if (attempt >= 4) {
                    throw SessionFiles.storeException("cannot create expiry marker", marker, e);
                }
                createDirectory(marker.getParent());
            } catch (IOException e) {
                throw SessionFiles.storeException("cannot create expiry marker", marker, e);
            }
        }
    }

    void remove(String id, long due) {
        Path marker = marker(id, due);
        try {
            Files.deleteIfExists(marker);
        } catch (DirectoryNotEmptyException e) {
            quarantine(marker, "a directory where an expiry marker should be");
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot remove expiry marker", marker, e);
        }
    }

    private void createDirectory(Path bucket) {
        try {
            RealDirectories.ensure(root, dirMode);
            RealDirectories.ensure(bucket, dirMode);
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot create expiry bucket", bucket, e);
        }
    }

    /**
     * The buckets whose time has come ({@code DUE <= now}), oldest first. Lists the index's top
     * directory only, which holds one entry per granule in use, not one per session. Entries that
     * are not a bucket name are left alone.
     */
    List<Long> dueBuckets(long now) {
        List<Long> due = new ArrayList<>();
        try (DirectoryStream<Path> buckets = Files.newDirectoryStream(root)) {
            for (Path bucket : buckets) {
                long time = parseBucket(bucket.getFileName().toString());
                if (time != NONE && time <= now) {
                    due.add(time);
                }
            }
        } catch (NoSuchFileException e) {
            return due; // no session ever had a marker here
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot list the expiry index", root, e);
        }
        due.sort(null);
        return due;
    }

    /**
     * The ids that have a marker in any bucket, due or not: for {@link Recovery}, which adds the
     * missing markers. It lists the whole index (one entry per marker, no session file is read).
     * The ids are kept as 64-bit keys ({@link Marked#contains}), 8 bytes per marker rather than a
     * string each, so a million sessions cost 8 MB here. Listed without any lock: a marker that
     * appears or goes meanwhile is decided under the session's lock by the caller.
     *
     * @throws dev.latchkey.StoreException if the index or one of its buckets cannot be listed
     */
    Marked marked() {
        long[] keys = new long[64];
        int size = 0;
        List<Path> buckets = new ArrayList<>();
        if (Files.isSymbolicLink(root)) {
            return new Marked(keys, 0); // a planted link: never walked (a sweep removes it)
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(root)) {
            for (Path bucket : stream) {
                if (parseBucket(bucket.getFileName().toString()) != NONE
                        && Files.isDirectory(bucket, LinkOption.NOFOLLOW_LINKS)) { // no link
                    buckets.add(bucket);
                }
            }
        } catch (NoSuchFileException e) {
            return new Marked(keys, 0); // no marker was ever made here
        } catch (IOException | DirectoryIteratorException e) {
            throw SessionFiles.storeException("cannot list the expiry index", root, ioCause(e));
        }
        for (Path bucket : buckets) {
            try (DirectoryStream<Path> stream = Files.newDirectoryStream(bucket)) {
                for (Path marker : stream) {
                    String id = marker.getFileName().toString();
                    if (SessionIds.isWellFormed(id)) {
                        if (size == keys.length) {
                            keys = Arrays.copyOf(keys, size * 2);
                        }
                        keys[size++] = Marked.key(id);
                    }
                }
            } catch (NoSuchFileException e) {
                // removed by a sweep meanwhile: its markers are gone
            } catch (IOException | DirectoryIteratorException e) {
                throw SessionFiles.storeException("cannot list expiry bucket", bucket, ioCause(e));
            }
        }
        return new Marked(keys, size);
    }

    /** The ids that had a marker when {@link #marked()} listed the index. Immutable. */
    static final class Marked {
        private final long[] keys;

        private Marked(long[] keys, int size) {
            this.keys = Arrays.copyOf(keys, size);
            Arrays.sort(this.keys);
        }

        /**
         * Whether the id had a marker. Keys are 64-bit hashes: two random ids share one with a
         * chance of about n&sup2;/2<sup>65</sup> among n markers (10<sup>-7</sup> for a million),
         * and the cost of a false "yes" is only that recovery leaves that session's missing
         * marker to its next commit.
         */
        boolean contains(String id) {
            return Arrays.binarySearch(keys, key(id)) >= 0;
        }

        /** FNV-1a, 64 bits, over the id's characters (ASCII). */
        static long key(String id) {
            long h = 0xcbf29ce484222325L;
            for (int i = 0; i < id.length(); i++) {
                h = (h ^ id.charAt(i)) * 0x100000001b3L;
            }
            return h;
        }
    }

    private static IOException ioCause(Exception e) {
        return e instanceof DirectoryIteratorException d ? d.getCause() : (IOException) e;
    }

    /** The markers of a bucket, lazily; null if the bucket is gone. Close it. */
    DirectoryStream<Path> markers(long due) {
        Path bucket = bucket(due);
        try {
            return Files.newDirectoryStream(bucket);
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot list expiry bucket", bucket, e);
        }
    }

    /**
     * Removes a due bucket if it is empty. A writer that adds a marker to it meanwhile makes it
     * again ({@link #add}), so this never loses a marker.
     */
    void removeBucketIfEmpty(long due) {
        Path bucket = bucket(due);
        try {
            Files.deleteIfExists(bucket);
        } catch (DirectoryNotEmptyException e) {
            // a marker came in, or one is left for a later sweep
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot remove expiry bucket", bucket, e);
        }
    }

    /** Removes an entry of a due bucket that cannot be a marker (its name is not an id). */
    void removeForeign(Path entry) {
        LOG.warn("removing {} from the expiry index: not a session id", Redaction.path(entry));
        try {
            Files.deleteIfExists(entry);
        } catch (DirectoryNotEmptyException e) {
            quarantine(entry, "a directory in the expiry index");
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot remove a foreign entry of the expiry index",
                    entry, e);
        }
    }

    private void quarantine(Path entry, String reason) {
        Path target = quarantine.resolve("expiry." + entry.getParent().getFileName() + "."
                + entry.getFileName() + "." + System.currentTimeMillis());
        try {
            RealDirectories.ensure(quarantine, dirMode);
            Files.move(entry, target, StandardCopyOption.ATOMIC_MOVE);
            LOG.warn("{} is {}; moved to {}", Redaction.path(entry), reason,
                    Redaction.path(target));
        } catch (IOException e) {
            throw SessionFiles.storeException("cannot move " + reason + " aside", entry, e);
        }
    }

    /** A bucket's time, or {@link #NONE} if the name is not one (plain decimal digits). */
    static long parseBucket(String name) {
        if (name.isEmpty() || name.length() > 19) {
            return NONE;
        }
        int start = name.charAt(0) == '-' && name.length() > 1 ? 1 : 0;
        for (int i = start; i < name.length(); i++) {
            if (name.charAt(i) < '0' || name.charAt(i) > '9') {
                return NONE;
            }
        }
        try {
            return Long.parseLong(name);
        } catch (NumberFormatException e) {
            return NONE;
        }
    }
}
