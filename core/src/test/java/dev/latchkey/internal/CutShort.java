package dev.latchkey.internal;

import java.nio.file.Path;
import java.time.Duration;

/**
 * What a publish that was cut short after its step 3 leaves in the publish sequence, for tests
 * that plant its files by hand: {@link #diedInWindow} as a holder killed inside the window (the
 * sequence left odd; the next holder flags the stripe), {@link #unlinkFailed} as a holder whose
 * unlink of {@code ID.old} failed (the stripe flagged at once).
 */
final class CutShort {
    private CutShort() {
    }

    static void diedInWindow(Path storeDir, String id) {
        LockTable table = LockTable.open(new Layout(storeDir).lockFile());
        try {
            LockTable.Held held = table.acquire(FileSessionStore.stripe(id), Duration.ofSeconds(20),
                    "test");
            held.beginPublish(); // a holder that dies here never calls endPublish
            held.release();
        } finally {
            table.release();
        }
    }

    static void unlinkFailed(Path storeDir, String id) {
        LockTable table = LockTable.open(new Layout(storeDir).lockFile());
        try {
            LockTable.Held held = table.acquire(FileSessionStore.stripe(id), Duration.ofSeconds(20),
                    "test");
            held.beginPublish();
            held.endPublish(true);
            held.release();
        } finally {
            table.release();
        }
    }

    static boolean flagged(Path storeDir, String id) {
        LockTable table = LockTable.open(new Layout(storeDir).lockFile());
        try {
            return table.cutShort(FileSessionStore.stripe(id));
        } finally {
            table.release();
        }
    }
}
