package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The look for existing sessions when a new default key file is made: files that come and go
 * while it looks (commits of threads that already use the new key: their temp files are renamed
 * away) are passed over, never an error that fails the store's open. A clean-clone CI run found
 * it: MacKeyTest's threads opening a fresh directory at once failed with NoSuchFileException.
 */
final class MacKeysSessionScanTest {
    @TempDir
    Path temp;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void holdsSessions_whileFilesComeAndGo_answersWithoutThrowing() throws Exception {
        Layout layout = new Layout(temp.resolve("store"));
        List<Path> buckets = new ArrayList<>();
        for (String b : List.of("Aa", "Bb", "Cc", "Dd")) {
            buckets.add(Files.createDirectories(layout.sessions().resolve(b)));
        }
        AtomicBoolean stop = new AtomicBoolean();
        List<Throwable> churnErrors = new ArrayList<>();
        Thread churn = new Thread(() -> {
            try {
                for (int i = 0; !stop.get(); i++) {
                    Path dir = buckets.get(i % buckets.size());
                    Path tmp = dir.resolve("s" + (i % 50) + ".tmp");
                    Files.write(tmp, new byte[] {1});
                    Path done = dir.resolve("s" + (i % 50));
                    Files.move(tmp, done, StandardCopyOption.ATOMIC_MOVE);
                    Files.delete(done);
                }
            } catch (Exception e) {
                synchronized (churnErrors) {
                    churnErrors.add(e);
                }
            }
        }, "churn");
        churn.start();
        try {
            for (int i = 0; i < 20_000; i++) {
                MacKeys.holdsSessions(layout); // must not throw; the answer races the churn
            }
        } finally {
            stop.set(true);
            churn.join();
        }
        assertEquals(List.of(), churnErrors);
        assertFalse(MacKeys.holdsSessions(layout), "nothing left after the churn");
        Files.write(buckets.get(0).resolve("session"), new byte[] {1});
        assertTrue(MacKeys.holdsSessions(layout));
    }
}
