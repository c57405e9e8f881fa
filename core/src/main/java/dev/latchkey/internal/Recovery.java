package dev.latchkey.internal;

import dev.latchkey.LatchkeyException;
import dev.latchkey.RecoveryReport;
import java.io.IOException;
import java.nio.file.DirectoryIteratorException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link dev.latchkey.SessionStore#recover()} scan. It lists the expiry index once (the ids
 * that have a marker), then each subdirectory of {@code sessions/}, without any lock (a listing
 * only proposes candidates). For each id with an {@code ID.old} or {@code ID.tmp} it takes that
 * id's stripe and lets {@link SessionFiles#repair} apply the next writer's repair, which re-checks
 * every file under the lock. For each stored session that had no marker in the listing (written
 * before the index existed, or its marker deleted by hand) it takes the stripe, reads the session
 * and creates the marker of its current bucket if it can expire ({@link ExpiryIndex#add}, the
 * writers' own code; a marker that appeared meanwhile is kept and not counted). Sessions that
 * have a marker are not read: a marker in any bucket brings the sweep to the session (one in the
 * wrong bucket is corrected when it comes due), and checking that it is the right bucket would
 * take a read and parse of every session file, where the listing costs one directory entry per
 * marker. Last, it takes each stripe whose publish sequence is odd and makes it even (under the
 * lock nobody is inside a publish). Every failure is collected and the scan goes on.
 *
 * <p>Not thread-safe: one scan per instance; any number of scans may run at once, in any
 * processes, since every change happens under a lock.
 */
final class Recovery {
    private static final Logger LOG = LoggerFactory.getLogger(Recovery.class);

    private final FileSessionStore store;
    private final SessionFiles files;
    private final List<LatchkeyException> errors = new ArrayList<>();
    private long examined;
    private long republished;
    private long removed;
    private long quarantined;
    private long sequences;
    private long markersAdded;

    Recovery(FileSessionStore store, SessionFiles files) {
        this.store = store;
        this.files = files;
    }

    RecoveryReport run() {
        BitSet cutShort = cutShortStripes(); // before the listing: see clearCutShort
        ExpiryIndex.Marked marked = marked(); // before the sessions: see visit
        Path sessions = files.layout().sessions();
        for (Path dir : subdirectories(sessions)) {
            Listing listing = list(dir);
            Set<String> ids = new TreeSet<>(listing.withLeftovers);
            if (marked != null) {
                for (String id : listing.stored) {
                    if (!marked.contains(id)) {
                        ids.add(id);
                    }
                }
            }
            for (String id : ids) {
                boolean leftovers = listing.withLeftovers.contains(id);
                if (leftovers) {
                    examined++;
                }
                visit(id, leftovers, marked != null && listing.stored.contains(id)
                        && !marked.contains(id));
            }
        }
        repairSequences();
        if (errors.isEmpty()) {
            clearCutShort(cutShort);
        }
        RecoveryReport report = new RecoveryReport(examined, republished, removed, quarantined,
                sequences, markersAdded, errors);
        for (LatchkeyException error : errors) {
            LOG.warn("recovery of {}: {}", files.layout().root(), error.getMessage());
        }
        LOG.info("recovery of {}: {} sessions with leftovers, {} republished, {} leftovers"
                + " removed, {} quarantined, {} publish sequences repaired, {} expiry markers"
                + " added, {} errors", files.layout().root(), examined, republished, removed,
                quarantined, sequences, markersAdded, errors.size());
        return report;
    }

    /** The ids with a marker; null (and an error) if the index cannot be listed. */
    private ExpiryIndex.Marked marked() {
        try {
            return store.expiryIndex().marked();
        } catch (LatchkeyException e) {
            errors.add(e); // the repairs go on; no marker is added by this scan
            return null;
        }
    }

    private List<Path> subdirectories(Path sessions) {
        List<Path> dirs = new ArrayList<>();
        try {
            RealDirectories.refuseNonDirectory(sessions); // a planted link is never walked
        } catch (IOException e) {
            errors.add(SessionFiles.storeException("cannot check the session directory",
                    sessions, e));
            return dirs;
        }
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(sessions)) {
            for (Path entry : stream) {
                if (Files.isDirectory(entry, LinkOption.NOFOLLOW_LINKS)) {
                    dirs.add(entry);
                }
            }
        } catch (IOException | DirectoryIteratorException e) {
            errors.add(SessionFiles.storeException("cannot list the session directory",
                    sessions, ioCause(e)));
        }
        dirs.sort(null);
        return dirs;
    }

    /** The well-formed ids of one subdirectory's files. */
    private static final class Listing {
        /** Ids with a {@code .old} or {@code .tmp} file. */
        final Set<String> withLeftovers = new TreeSet<>();
        /** Ids with an {@code ID} or {@code ID.old} file: a stored session, by the rule. */
        final Set<String> stored = new HashSet<>();
    }

    private Listing list(Path dir) {
        Listing listing = new Listing();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path entry : stream) {
                String name = entry.getFileName().toString();
                boolean old = name.endsWith(".old");
                boolean leftover = old || name.endsWith(".tmp");
                String id = leftover ? name.substring(0, name.length() - 4) : name;
                if (SessionIds.isWellFormed(id)
                        && dir.equals(files.layout().current(id).getParent())) {
                    if (leftover) {
                        listing.withLeftovers.add(id);
                    }
                    if (!leftover || old) {
                        listing.stored.add(id);
                    }
                }
            }
        } catch (NoSuchFileException e) {
            // removed meanwhile: nothing to repair there
        } catch (IOException | DirectoryIteratorException e) {
            errors.add(SessionFiles.storeException("cannot list a session subdirectory", dir,
                    ioCause(e)));
        }
        return listing;
    }

    /**
     * Repairs one id's leftovers and/or adds its missing marker, under its lock. The index was
     * listed before the sessions, so a session created after that listing may look unmarked
     * here: under the lock its marker is found present ({@link ExpiryIndex#add} creates nothing),
     * since a writer creates a marker before the state it covers.
     */
    private void visit(String id, boolean leftovers, boolean unmarked) {
        LockTable.Held held;
        try {
            held = store.lockStripe(FileSessionStore.stripe(id),
                    store.config().lockTimeout(), FileSessionStore.describe(id));
        } catch (LatchkeyException e) {
            errors.add(e);
            return;
        }
        try {
            if (leftovers) {
                SessionFiles.Repair done = files.repair(id, held);
                republished += done.republished ? 1 : 0;
                removed += done.leftoversRemoved;
                quarantined += done.quarantined ? 1 : 0;
            }
            if (unmarked) {
                SessionFiles.Current current = files.readLocked(id);
                quarantined += current.quarantined ? 1 : 0;
                long due = current.record == null ? ExpiryIndex.NONE
                        : ExpiryIndex.due(current.record);
                if (due != ExpiryIndex.NONE && store.expiryIndex().add(id, due)) {
                    markersAdded++;
                }
            }
        } catch (LatchkeyException e) {
            errors.add(e);
        } finally {
            held.release();
        }
    }

    /**
     * The stripes whose {@link LockTable#CUT_SHORT} flag is set, or whose sequence is odd (the
     * next holder sets the flag): a read of shared memory.
     */
    private BitSet cutShortStripes() {
        BitSet stripes = new BitSet(LockTable.STRIPES);
        for (int stripe = 0; stripe < LockTable.STRIPES; stripe++) {
            if ((store.publishSequence(stripe) & (LockTable.CUT_SHORT | 1)) != 0) {
                stripes.set(stripe);
            }
        }
        return stripes;
    }

    /**
     * Clears the cut-short flags that were set before the listing, once the scan has resolved,
     * without an error, every {@code ID.old} it listed: no stale {@code ID.old} of those stripes
     * is left, so their commits need not look for one again. A publish cut short while the scan
     * ran may lose its flag here; its {@code ID.old} is then harmless (see
     * {@link SessionFiles#readLocked(String, boolean, boolean)}) and goes with the session's next
     * publish or the next recovery.
     */
    private void clearCutShort(BitSet stripes) {
        for (int stripe = stripes.nextSetBit(0); stripe >= 0;
                stripe = stripes.nextSetBit(stripe + 1)) {
            underStripeLock(stripe, LockTable.Held::clearCutShort);
        }
    }

    /**
     * Runs {@code work} holding the stripe's lock; a lock that cannot be had (timeout, OS error)
     * is added to the report's errors and the stripe is skipped.
     */
    private void underStripeLock(int stripe, Consumer<LockTable.Held> work) {
        LockTable.Held held;
        try {
            held = store.lockStripe(stripe, store.config().lockTimeout(), "lock stripe " + stripe);
        } catch (LatchkeyException e) {
            errors.add(e);
            return;
        }
        try {
            work.accept(held);
        } finally {
            held.release();
        }
    }

    private void repairSequences() {
        for (int stripe = 0; stripe < LockTable.STRIPES; stripe++) {
            if ((store.publishSequence(stripe) & 1) == 0) {
                continue; // the usual case: no lock taken
            }
            underStripeLock(stripe, held -> {
                if (held.repairedOnAcquire()) {
                    sequences++; // repaired and counted by the acquisition
                } else if (held.repairSequence()) {
                    sequences++;
                    files.repairs.increment();
                }
            });
        }
    }

    private static IOException ioCause(Exception e) {
        return e instanceof DirectoryIteratorException ? ((DirectoryIteratorException) e).getCause()
                : (IOException) e;
    }
}
