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
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@link dev.latchkey.SessionStore#recover()} scan. It lists each subdirectory of
 * {@code sessions/} without the lock (a listing only proposes candidates), then, for each id with
 * an {@code ID.old} or {@code ID.tmp}, takes that id's stripe and lets
 * {@link SessionFiles#repair} apply the next writer's repair, which re-checks every file under the
 * lock. Last, it takes each stripe whose publish sequence is odd and makes it even (under the lock
 * nobody is inside a publish). Every failure is collected and the scan goes on.
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

    Recovery(FileSessionStore store, SessionFiles files) {
        this.store = store;
        this.files = files;
    }

    RecoveryReport run() {
        Path sessions = files.layout().sessions();
        for (Path dir : subdirectories(sessions)) {
            for (String id : idsWithLeftovers(dir)) {
                examined++;
                repair(id);
            }
        }
        repairSequences();
        RecoveryReport report = new RecoveryReport(examined, republished, removed, quarantined,
                sequences, errors);
        for (LatchkeyException error : errors) {
            LOG.warn("recovery of {}: {}", files.layout().root(), error.getMessage());
        }
        LOG.info("recovery of {}: {} sessions with leftovers, {} republished, {} leftovers"
                + " removed, {} quarantined, {} publish sequences repaired, {} errors",
                files.layout().root(), examined, republished, removed, quarantined, sequences,
                errors.size());
        return report;
    }

    private List<Path> subdirectories(Path sessions) {
        List<Path> dirs = new ArrayList<>();
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

    /** The well-formed ids with a {@code .old} or {@code .tmp} file in one subdirectory. */
    private Set<String> idsWithLeftovers(Path dir) {
        Set<String> ids = new TreeSet<>();
        try (DirectoryStream<Path> stream = Files.newDirectoryStream(dir)) {
            for (Path entry : stream) {
                String name = entry.getFileName().toString();
                if (name.endsWith(".old") || name.endsWith(".tmp")) {
                    String id = name.substring(0, name.length() - 4);
                    if (SessionIds.isWellFormed(id)
                            && dir.equals(files.layout().current(id).getParent())) {
                        ids.add(id);
                    }
                }
            }
        } catch (NoSuchFileException e) {
            // removed meanwhile: nothing to repair there
        } catch (IOException | DirectoryIteratorException e) {
            errors.add(SessionFiles.storeException("cannot list a session subdirectory", dir,
                    ioCause(e)));
        }
        return ids;
    }

    private void repair(String id) {
        LockTable.Held held;
        try {
            held = store.lockStripe(FileSessionStore.stripe(id),
                    store.config().lockTimeout(), FileSessionStore.describe(id));
        } catch (LatchkeyException e) {
            errors.add(e);
            return;
        }
        try {
            SessionFiles.Repair done = files.repair(id, held);
            republished += done.republished ? 1 : 0;
            removed += done.leftoversRemoved;
            quarantined += done.quarantined ? 1 : 0;
        } catch (LatchkeyException e) {
            errors.add(e);
        } finally {
            held.release();
        }
    }

    private void repairSequences() {
        for (int stripe = 0; stripe < LockTable.STRIPES; stripe++) {
            if ((store.publishSequence(stripe) & 1) == 0) {
                continue; // the usual case: no lock taken
            }
            LockTable.Held held;
            try {
                held = store.lockStripe(stripe, store.config().lockTimeout(),
                        "lock stripe " + stripe);
            } catch (LatchkeyException e) {
                errors.add(e);
                continue;
            }
            try {
                if (held.repairedOnAcquire()) {
                    sequences++; // repaired and counted by the acquisition
                } else if (held.repairSequence()) {
                    sequences++;
                    files.repairs.increment();
                }
            } finally {
                held.release();
            }
        }
    }

    private static IOException ioCause(Exception e) {
        return e instanceof DirectoryIteratorException ? ((DirectoryIteratorException) e).getCause()
                : (IOException) e;
    }
}
