package dev.latchkey.internal;

import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * Where things live in a session directory (format 1):
 *
 * <pre>
 * DIR/latchkey.lock           lock file: one byte range per stripe, never replaced or removed
 * DIR/sessions/Ab/ID          the session's current state
 * DIR/sessions/Ab/ID.old      the previous state, only while a commit publishes (or after a crash)
 * DIR/sessions/Ab/ID.tmp      the next state being written by the lock holder
 * DIR/expiry/DUE/ID           expiry index: an empty marker per session that can expire
 * DIR/quarantine/ID.TIME.WHY  damaged files moved aside
 * </pre>
 *
 * "Ab" is the id's first two letters: 4,096 subdirectories, so a million sessions put about 250
 * files in each. Ids never contain '.', so the suffixes cannot collide with an id.
 */
final class Layout {
    static final String LOCK_FILE = "latchkey.lock";
    static final String SESSIONS = "sessions";
    static final String QUARANTINE = "quarantine";
    static final String EXPIRY = "expiry";

    private final Path root;
    private final Path sessions;
    private final AtomicReferenceArray<Path> subdirectories = new AtomicReferenceArray<>(64 * 64);

    Layout(Path root) {
        this.root = root;
        this.sessions = root.resolve(SESSIONS);
    }

    Path root() {
        return root;
    }

    Path lockFile() {
        return root.resolve(LOCK_FILE);
    }

    Path quarantine() {
        return root.resolve(QUARANTINE);
    }

    Path sessions() {
        return sessions;
    }

    /** The expiry index (see {@link ExpiryIndex}). */
    Path expiry() {
        return root.resolve(EXPIRY);
    }

    /** The current-state file of a well-formed id. */
    Path current(String id) {
        return subdirectory(id).resolve(id);
    }

    Path old(String id) {
        return subdirectory(id).resolve(id + ".old");
    }

    Path temp(String id) {
        return subdirectory(id).resolve(id + ".tmp");
    }

    /**
     * {@code sessions/Ab} of an id, from a table filled on first use (every request builds a few
     * of these paths; the table saves a substring and a path resolution each).
     */
    private Path subdirectory(String id) {
        int hi = SessionIds.value(id.charAt(0));
        int lo = SessionIds.value(id.charAt(1));
        if (hi < 0 || lo < 0) {
            return sessions.resolve(id.substring(0, 2));
        }
        int index = hi * 64 + lo;
        Path dir = subdirectories.get(index);
        if (dir == null) {
            dir = sessions.resolve(id.substring(0, 2));
            subdirectories.set(index, dir);
        }
        return dir;
    }
}
