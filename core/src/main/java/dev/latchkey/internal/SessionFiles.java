package dev.latchkey.internal;

import dev.latchkey.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The publish protocol of session files. Every method that changes a file must be called with the
 * session's stripe held; {@link #probe} may be called without it.
 *
 * <p>The current state of session ID is file {@code ID}; while a commit publishes, the previous
 * state sits in {@code ID.old}. A commit, holding the lock:
 * <ol>
 *   <li>writes the new state to {@code ID.tmp}, a name only the lock holder uses, as a new file
 *       (anything left there by a crash, or planted, is removed first, never written through);</li>
 *   <li>renames {@code ID} to {@code ID.old} (a fresh name: no data flush is forced);</li>
 *   <li>renames {@code ID.tmp} to {@code ID} (a fresh name again);</li>
 *   <li>unlinks {@code ID.old}.</li>
 * </ol>
 * A rename that replaces an existing file makes ext4 flush the data first (300–800 µs); these two
 * renames replace nothing and cost a few tens of µs. The rule for everyone, lock or no lock:
 * <b>{@code ID} if it exists, else {@code ID.old}, else no session.</b> At every instant between the
 * steps that rule names a complete state (the old one until step 3, the new one after it), and a
 * file once published is never written again, so a reader that opened it reads it whole.
 * A crash between any two steps leaves a state the rule reads correctly; lock holders remove the
 * leftovers: an {@code ID.tmp} is garbage (it is removed and written anew); an {@code ID.old}
 * beside an {@code ID} is stale, removed by a holder that reads {@code ID} while the stripe is
 * {@linkplain LockTable#CUT_SHORT flagged cut short} (a crash in steps 3 to 4 leaves the flag),
 * and otherwise replaced by the next publish's step 2. Removal deletes {@code ID.old} before
 * {@code ID}, so a crash in between cannot bring back an older state.
 *
 * <p>A reader without the lock tries {@code ID}, then {@code ID.old}. Finding neither is certain
 * only if no publish took {@code ID} away meanwhile (it may have looked for {@code ID} between
 * steps 2 and 3 and for {@code ID.old} after step 4): the holder marks steps 2 to 4 with the
 * stripe's {@linkplain LockTable#publishSequence publish sequence}, a seqlock in shared memory,
 * and the reader compares it before and after looking. A damaged file is left to a reader that
 * holds the lock, which moves it aside. Reads of bytes this store already decoded reuse the
 * decoded state ({@link DecodedStates}).
 */
final class SessionFiles {
    private static final Logger LOG = LoggerFactory.getLogger(SessionFiles.class);
    private static final Set<java.nio.file.OpenOption> WRITE_TEMP = Set.of(
            StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW, LinkOption.NOFOLLOW_LINKS);

    /** Larger files are damaged (or hostile): sessions are small. */
    static final long MAX_FILE_BYTES = 16L << 20;
    private static final Set<java.nio.file.OpenOption> READ_NO_FOLLOW =
            Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);

    private final Layout layout;
    private final RecordFormat format;
    private final FileAttribute<?>[] fileMode;
    private final FileAttribute<?>[] dirMode;

    /** Whether commits force files and directories to disk ({@code Durability.SYNCED}). */
    private final boolean sync;
    private final FileOps ops;
    /** Forces done, for tests that prove the synced path is taken. */
    final LongAdder forces = new LongAdder();
    /** Damaged files moved aside (or deleted), for {@code StoreStats}. */
    final LongAdder quarantined = new LongAdder();
    /** Crash leftovers resolved, lazily or by recovery, for {@code StoreStats}. */
    final LongAdder repairs = new LongAdder();
    /** Files verified and parsed (not answered by {@link #decoded}), for tests. */
    final LongAdder decodes = new LongAdder();
    /** The records of bytes already decoded or written: reads of unchanged files skip the decode. */
    private final DecodedStates decoded = new DecodedStates();

    SessionFiles(Layout layout, RecordFormat format, boolean sync) {
        this(layout, format, sync, FileOps.SYSTEM);
    }

    SessionFiles(Layout layout, RecordFormat format, boolean sync, FileOps ops) {
        this.layout = layout;
        this.format = format;
        this.sync = sync;
        this.ops = ops;
        this.fileMode = FileModes.file(layout.root());
        this.dirMode = FileModes.directory(layout.root());
    }

    /** What is on disk for one id, read under the lock. */
    static final class Current {
        final SessionRecord record; // null: no session
        final boolean fromOld;
        /** Whether reading it moved a damaged file aside ({@code ID.old} if fromOld). */
        final boolean quarantined;

        Current(SessionRecord record, boolean fromOld) {
            this(record, fromOld, false);
        }

        Current(SessionRecord record, boolean fromOld, boolean quarantined) {
            this(record, fromOld, quarantined, false);
        }

        /** Whether a file is there that this store refuses and leaves in place. */
        final boolean refused;

        Current(SessionRecord record, boolean fromOld, boolean quarantined, boolean refused) {
            this.record = record;
            this.fromOld = fromOld;
            this.quarantined = quarantined;
            this.refused = refused;
        }
    }

    /** What {@link #probe} returns for a damaged file: only a reader holding the lock decides. */
    static final SessionRecord DAMAGED = new SessionRecord("", 0, 0, 0, 0, Map.of());

    /**
     * Looks once, without the lock, by the rule: {@code ID}, else {@code ID.old}.
     *
     * @return the state; null if neither file exists (which is certain only if no publish of the
     *     stripe overlapped the look: see {@link LockTable#publishSequence}); or {@link #DAMAGED}
     */
    SessionRecord probe(String id) {
        for (Path path : new Path[] {layout.current(id), layout.old(id)}) {
            byte[] bytes = readIfExists(path);
            if (bytes != null) {
                try {
                    return parse(bytes, id);
                } catch (RecordFormat.DamagedException e) {
                    return DAMAGED;
                }
            }
        }
        return null;
    }

    /** Reads the state under the lock, tidying leftovers of crashes and moving damage aside. */
    Current readLocked(String id) {
        return readLocked(id, false, true);
    }

    /**
     * As {@link #readLocked(String)}; {@code quiet}: a file refused and left in place is logged at
     * DEBUG, not WARN (a sweep, which meets the same files again and again, sums them up).
     */
    Current readLocked(String id, boolean quiet) {
        return readLocked(id, quiet, true);
    }

    /**
     * As {@link #readLocked(String, boolean)}; {@code lookForStale}: whether to remove a stale
     * {@code ID.old} beside a readable {@code ID} (one system call). A commit passes its stripe's
     * {@linkplain LockTable#CUT_SHORT cut-short flag}: only a publish cut short after its step 3
     * leaves one, and the flag says when that may have happened. A stale {@code ID.old} that is
     * not looked for is harmless: by the rule {@code ID} wins; the next publish's step 3 replaces
     * it; a removal deletes {@code ID.old} first; and it is removed whenever {@code ID} turns out
     * damaged or refused, so that it never stands in for a quarantined {@code ID}.
     */
    Current readLocked(String id, boolean quiet, boolean lookForStale) {
        Path current = layout.current(id);
        Path old = layout.old(id);
        byte[] bytes = readIfExists(current);
        boolean fromOld = false;
        if (bytes != null) {
            if (lookForStale) {
                removeStale(old);
            }
        } else {
            bytes = readIfExists(old);
            fromOld = true;
            if (bytes == null) {
                return new Current(null, false);
            }
        }
        try {
            return new Current(parse(bytes, id), fromOld);
        } catch (RecordFormat.DamagedException e) {
            if (!fromOld && !lookForStale) {
                removeStale(old); // it must not stand in for ID once ID is moved aside
            }
            Path damaged = fromOld ? old : current;
            if (e.leaveInPlace) {
                if (quiet) {
                    LOG.debug("session file {} is refused: {}; it is left in place",
                            Redaction.path(damaged), Redaction.text(e.getMessage()));
                } else {
                    LOG.warn("session file {} is refused: {}; it is left in place",
                            Redaction.path(damaged), Redaction.text(e.getMessage()));
                }
                return new Current(null, false, false, true);
            }
            quarantine(damaged, e.getMessage());
            return new Current(null, fromOld, true);
        }
    }

    /** Removes an {@code ID.old} beside a present {@code ID}: the trace of a cut-short publish. */
    private void removeStale(Path old) {
        if (deleteIfExists(old)) { // stale: a publish crashed after its step 3
            repairs.increment();
            LOG.debug("removed stale {}", Redaction.path(old));
        }
    }

    /** What {@link #repair} found and did for one id. */
    static final class Repair {
        final boolean republished;
        final int leftoversRemoved;
        final boolean quarantined;

        Repair(boolean republished, int leftoversRemoved, boolean quarantined) {
            this.republished = republished;
            this.leftoversRemoved = leftoversRemoved;
            this.quarantined = quarantined;
        }
    }

    /**
     * Resolves the crash leftovers of one id now, by the same steps the next writer would take:
     * {@link #readLocked} removes a stale {@code ID.old} and moves damage aside; a state that only
     * {@code ID.old} holds is published again by {@link #publish} (which removes a leftover
     * {@code ID.tmp} on its way and {@code ID.old} at its end); an {@code ID.tmp} beside nothing
     * to publish is removed as {@link #writeTemp} would remove it. The stripe must be held.
     */
    Repair repair(String id, LockTable.Held held) {
        Path old = layout.old(id);
        Path temp = layout.temp(id);
        boolean hadOld = exists(old);
        boolean hadTemp = exists(temp);
        Current current = readLocked(id);
        boolean republished = current.record != null && current.fromOld;
        if (republished) {
            publish(current, current.record, held);
        } else if (hadTemp) {
            removeLeftover(temp);
        }
        boolean oldWasDamaged = current.quarantined && current.fromOld;
        int removed = (hadOld && !republished && !oldWasDamaged && !exists(old) ? 1 : 0)
                + (hadTemp && !exists(temp) ? 1 : 0);
        return new Repair(republished, removed, current.quarantined);
    }

    private static boolean exists(Path path) {
        return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    }

    /**
     * Publishes {@code next} as the new state; {@code previous} is what {@link #readLocked} saw,
     * {@code held} the stripe of {@code next}'s id.
     */
    void publish(Current previous, SessionRecord next, LockTable.Held held) {
        String id = next.id;
        Path temp = layout.temp(id);
        Path current = layout.current(id);
        if (previous.record == null) {
            verifyDirectories(id); // a new file named by its bearer id: never through a link
        }
        byte[] bytes = bytesOf(next);
        writeTemp(temp, bytes);
        boolean hides = previous.record != null && !previous.fromOld;
        if (previous.record != null && previous.fromOld) {
            repairs.increment(); // completes a publish that a crash cut between its renames
            LOG.debug("publishing {} over the state a crashed publish left in {}",
                    Redaction.path(current), Redaction.path(layout.old(id)));
        }
        Path old = layout.old(id);
        // from here until ID.old is gone, a lock-free reader may miss both names (when hides),
        // and a crash leaves an ID.old beside ID: the window says so (see LockTable.CUT_SHORT)
        boolean window = previous.record != null;
        if (window && held.beginPublish()) {
            repairs.increment(); // a holder died inside this window before
        }
        boolean tidy = false; // true once no ID.old is left beside ID
        try {
            try {
                if (hides) {
                    moveAside(current, old);
                }
                ops.move(temp, current);
            } catch (IOException e) {
                // undo what can be undone; by the rule the old state is still current
                tidy = true; // ID, or a lone ID.old, holds it: nothing stale
                StoreException failure = storeException("cannot publish session", current, e);
                try {
                    ops.deleteIfExists(temp);
                } catch (IOException cleanup) {
                    failure.addSuppressed(cleanup);
                }
                throw failure;
            }
            if (sync) {
                forceDirectory(current.getParent()); // the renames are on disk
            }
            if (window) {
                try {
                    ops.deleteIfExists(old);
                    tidy = true;
                } catch (IOException e) {
                    // the new state is published (ID wins over ID.old by the rule): the commit
                    // stands; the flag the window ends with makes the next holder remove it
                    LOG.warn("session {} is published, but its previous state {} could not be"
                            + " removed; it is stale and removed by the next commit or by"
                            + " recover()", FileSessionStore.describe(id), Redaction.path(old),
                            Redaction.cause(e));
                }
            }
        } finally {
            if (window) {
                held.endPublish(!tidy);
            }
        }
        // published: what a reader of the file decodes; remembered after the window closes, so
        // that lock-free readers waiting on the sequence do not wait for the memo's size walk
        decoded.put(id, bytes, next);
    }

    /**
     * Step 3: renames {@code ID} to {@code ID.old}. A stale {@code ID.old} (a file left by a crash
     * that no flag reported) is replaced by the rename; anything else standing there (a directory
     * planted at the name) is removed, never entered, and the rename tried once more.
     */
    private void moveAside(Path current, Path old) throws IOException {
        try {
            ops.move(current, old);
        } catch (IOException e) {
            if (!Files.exists(old, LinkOption.NOFOLLOW_LINKS)
                    || Files.isRegularFile(old, LinkOption.NOFOLLOW_LINKS)) {
                throw e;
            }
            removeLeftover(old);
            ops.move(current, old);
        }
    }

    private byte[] bytesOf(SessionRecord next) {
        byte[] bytes = format.write(next);
        if (bytes.length > MAX_FILE_BYTES) {
            // readers refuse larger files as damaged: refuse to write one, nothing changes
            throw new IllegalArgumentException(FileSessionStore.describe(next.id)
                    + " would take " + bytes.length + " bytes, over the limit of "
                    + MAX_FILE_BYTES + "; keep large data out of the session");
        }
        return bytes;
    }

    /**
     * Moves a session to a new id ({@code changeId}); both ids' stripes must be held and
     * {@code next} must carry the new id, which has no files yet. The steps:
     * <ol>
     *   <li>write the state to {@code NEW.tmp} (forced to disk when synced);</li>
     *   <li>remove the old id's files, by {@link #delete} (the directory forced when synced): the
     *       old id dies here;</li>
     *   <li>rename {@code NEW.tmp} to {@code NEW}: the new id is born here.</li>
     * </ol>
     * The old id is removed <em>before</em> the new one is published, so no crash, at any instant,
     * leaves both alive: the old id is the one a session-fixation defence wants dead, and a
     * published new id beside a live old one is exactly that failure. A crash between steps 2 and
     * 3 (a few microseconds: the slow write is done before) leaves neither: the user logs in again.
     * Only the caller knows the new id until the operation returns, so no reader can tell that the
     * new id appeared a little after the old one died: the move is linearizable at step 2.
     * {@code NEW.tmp} left by a crash names no session; the rule ignores it.
     */
    void move(String oldId, SessionRecord next) {
        Path temp = layout.temp(next.id);
        Path current = layout.current(next.id);
        verifyDirectories(next.id);
        writeTemp(temp, bytesOf(next));
        try {
            delete(oldId);
            if (sync) {
                forceDirectory(layout.current(oldId).getParent()); // gone before NEW appears
            }
        } catch (RuntimeException e) {
            try {
                ops.deleteIfExists(temp);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        try {
            ops.move(temp, current);
        } catch (IOException e) {
            StoreException failure = storeException("cannot publish the session under its new id"
                    + " (the old id is already removed: the session is lost)", current, e);
            try {
                ops.deleteIfExists(temp);
            } catch (IOException cleanup) {
                failure.addSuppressed(cleanup);
            }
            throw failure;
        }
        if (sync) {
            forceDirectory(current.getParent());
        }
    }

    private void forceDirectory(Path dir) {
        try (FileChannel channel = FileChannel.open(dir, StandardOpenOption.READ)) {
            channel.force(true);
            forces.increment();
        } catch (IOException e) {
            throw storeException("cannot force the session directory to disk (the commit is"
                    + " published, but may not survive a power loss)", dir, e);
        }
    }

    /** Removes every file of a session, in the order that keeps a crash from reviving it. */
    void delete(String id) {
        decoded.remove(id);
        deleteIfExists(layout.old(id));
        deleteIfExists(layout.current(id));
        deleteIfExists(layout.temp(id));
    }

    Layout layout() {
        return layout;
    }

    /**
     * Writes the temp file as a new file ({@code O_CREAT|O_EXCL}, which follows no link). Whatever
     * stands at the temp name (a crash's leftover, or something planted: a link, a hard link to
     * another file, a FIFO, a directory) is removed first and never written through.
     */
    private void writeTemp(Path temp, byte[] bytes) {
        for (int attempt = 0; ; attempt++) {
            try (FileChannel out = ops.openNew(temp, WRITE_TEMP, fileMode)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    ops.write(out, buffer);
                }
                if (sync) {
                    out.force(true); // the data is on disk before any name points at it
                    forces.increment();
                }
                return;
            } catch (NoSuchFileException e) {
                if (attempt >= 3) {
                    throw storeException("cannot write session file", temp, e);
                }
                createDirectory(temp.getParent());
            } catch (FileAlreadyExistsException e) {
                if (attempt >= 3) {
                    throw storeException("cannot write session file", temp, e);
                }
                removeLeftover(temp);
            } catch (IOException e) {
                // the channel is closed (try-with-resources): remove the partial file
                StoreException failure = storeException("cannot write session file", temp, e);
                try {
                    ops.deleteIfExists(temp);
                } catch (IOException cleanup) {
                    failure.addSuppressed(cleanup);
                }
                throw failure;
            }
        }
    }

    /** Removes a leftover {@code ID.tmp} of an id, if there is one; the stripe must be held. */
    void removeLeftoverTemp(String id) {
        Path temp = layout.temp(id);
        if (exists(temp)) {
            removeLeftover(temp);
        }
    }

    private void removeLeftover(Path temp) {
        if (!Files.isRegularFile(temp, LinkOption.NOFOLLOW_LINKS)) {
            LOG.warn("removing {}: not a regular file", Redaction.path(temp));
        }
        try {
            if (ops.deleteIfExists(temp)) {
                repairs.increment();
                LOG.debug("removed leftover {}", Redaction.path(temp));
            }
        } catch (DirectoryNotEmptyException e) {
            quarantine(temp, "directory at the temp name");
        } catch (IOException e) {
            throw storeException("cannot remove a leftover temp file", temp, e);
        }
    }

    private void createDirectory(Path dir) {
        try {
            RealDirectories.ensure(layout.sessions(), dirMode);
            RealDirectories.ensure(dir, dirMode);
        } catch (IOException e) {
            throw storeException("cannot create session subdirectory", dir, e);
        }
    }

    /**
     * Before a file under a new id is written (create, changeId): {@code sessions/} and the id's
     * subdirectory must be real directories, not links planted to carry the file, whose name is
     * the bearer id, out of the session directory. Two {@code lstat}s; commits of existing
     * sessions do not need them (through a link they find no file of their id, and write nothing).
     */
    private void verifyDirectories(String id) {
        Path subdirectory = layout.current(id).getParent();
        try {
            RealDirectories.ensure(layout.sessions(), dirMode);
            RealDirectories.refuseNonDirectory(subdirectory); // a missing one is made on write
        } catch (IOException e) {
            throw storeException("cannot check session subdirectory", subdirectory, e);
        }
    }

    /** What {@link #readIfExists} returns for a link, directory, FIFO or device. */
    private static final byte[] NOT_REGULAR = new byte[0];
    /** What {@link #readIfExists} returns for a file over {@link #MAX_FILE_BYTES}. */
    private static final byte[] TOO_LARGE = new byte[0];

    private SessionRecord parse(byte[] bytes, String id) throws RecordFormat.DamagedException {
        if (bytes == NOT_REGULAR) {
            throw new RecordFormat.DamagedException("not a regular file: a symbolic link,"
                    + " directory or special file", false);
        }
        if (bytes == TOO_LARGE) {
            throw new RecordFormat.DamagedException("larger than " + MAX_FILE_BYTES + " bytes",
                    false);
        }
        SessionRecord known = decoded.get(id, bytes);
        if (known != null) {
            return known; // the same bytes as an earlier read or write: the same state
        }
        decodes.increment();
        SessionRecord record = format.read(bytes, id);
        decoded.put(id, bytes, record);
        return record;
    }

    /**
     * Reads a whole file without following a symbolic link. Anything but a regular file where a
     * session file should be (a symbolic link, a directory, a FIFO that would block the reader, a
     * device), or a file larger than {@link #MAX_FILE_BYTES}, reads as a marker: damaged. A missing
     * file reads as null.
     */
    private static byte[] readIfExists(Path path) {
        try {
            BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            if (!attributes.isRegularFile()) {
                return NOT_REGULAR;
            }
            if (attributes.size() > MAX_FILE_BYTES) {
                return TOO_LARGE;
            }
            try (SeekableByteChannel in = Files.newByteChannel(path, READ_NO_FOLLOW)) {
                long size = in.size();
                if (size > MAX_FILE_BYTES) {
                    return TOO_LARGE;
                }
                ByteBuffer buffer = ByteBuffer.allocate((int) size);
                while (buffer.hasRemaining() && in.read(buffer) >= 0) {
                    // a published file never changes, so its size is its length
                }
                return buffer.hasRemaining() ? new byte[0] : buffer.array();
            }
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            if (Files.isSymbolicLink(path)) {
                return NOT_REGULAR; // swapped in between the two looks
            }
            throw storeException("cannot read session file", path, e);
        }
    }

    private boolean deleteIfExists(Path path) {
        try {
            return ops.deleteIfExists(path);
        } catch (IOException e) {
            throw storeException("cannot delete session file", path, e);
        }
    }

    private void quarantine(Path damaged, String reason) {
        int detail = reason.indexOf(':'); // "MAC mismatch: why" names the file "...MAC-mismatch"
        String slug = (detail > 0 ? reason.substring(0, detail) : reason)
                .replaceAll("[^A-Za-z0-9]+", "-");
        if (slug.length() > 40) {
            slug = slug.substring(0, 40);
        }
        Path target = layout.quarantine().resolve(damaged.getFileName() + "."
                + System.currentTimeMillis() + "." + slug);
        try {
            RealDirectories.ensure(layout.quarantine(), dirMode);
            Files.move(damaged, target, StandardCopyOption.ATOMIC_MOVE);
            quarantined.increment();
            LOG.warn("session file {} is damaged ({}); moved to {}", Redaction.path(damaged),
                    Redaction.text(reason), Redaction.path(target));
        } catch (IOException e) {
            LOG.warn("session file {} is damaged ({}) and could not be moved aside; deleting it",
                    Redaction.path(damaged), Redaction.text(reason), Redaction.cause(e));
            deleteIfExists(damaged);
            quarantined.increment();
        }
    }

    /**
     * The exception for a failed file operation. A session file is named by its directory (the
     * exception's path) and its name with the id shortened; the OS's message, which names the
     * full path, is replaced by a copy with the id shortened too (see {@link Redaction}).
     */
    static StoreException storeException(String what, Path path, IOException e) {
        Path named = path;
        String name = path.getFileName() == null ? "" : path.getFileName().toString();
        String shortName = Redaction.text(name);
        if (!shortName.equals(name) && path.getParent() != null) {
            what += " " + shortName;
            named = path.getParent();
        }
        IOException cause = Redaction.cause(e);
        if (e instanceof ClosedByInterruptException) {
            return new StoreException(what + ": the thread was interrupted", named, cause);
        }
        if (e instanceof AccessDeniedException) {
            return new StoreException(what + ": permission denied; the directory and its files"
                    + " must be readable and writable by every worker's user", named, cause);
        }
        return new StoreException(what, named, cause);
    }
}
