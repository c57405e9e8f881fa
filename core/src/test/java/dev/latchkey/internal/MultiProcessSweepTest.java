package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A sweep in one process, concurrent with commits in others: one child sweeps in a tight loop
 * while two children keep sessions alive with a 2 s max-inactive interval (real time: the
 * children share no fake clock) and abandon others with 1 s. The keepers also plant stale
 * markers for their live sessions in due buckets, so the sweeper examines live sessions that are
 * being committed at that moment and must let them be (the re-check under the lock). No kept
 * session may be lost, and every abandoned one must be gone.
 */
@Timeout(value = 3, unit = TimeUnit.MINUTES)
final class MultiProcessSweepTest {
    private static final int KEEPERS = 2;
    private static final int KEPT = 20;
    private static final int ABANDONED = 150;
    private static final int INTERVAL_MILLIS = 2_000;
    private static final int KEEP_MILLIS = 8_000;

    @Test
    void sweeperInOneProcess_keepersInOthers_noLiveSessionLost_abandonedOnesGone(
            @TempDir Path dir) throws InterruptedException {
        try (ChildJvms jvms = new ChildJvms()) {
            ChildJvms.Child sweeper = jvms.start("sweeper", "sweepLoop", dir, "-", 10);
            List<ChildJvms.Child> keepers = new ArrayList<>();
            for (int i = 0; i < KEEPERS; i++) {
                keepers.add(jvms.start("keeper-" + i, "keepAlive", dir, "-", KEPT, ABANDONED,
                        INTERVAL_MILLIS, KEEP_MILLIS));
            }
            jvms.awaitAllReady();
            jvms.goAll();

            List<String> abandoned = new ArrayList<>();
            int excused = 0;
            for (ChildJvms.Child keeper : keepers) {
                Map<String, String> result = keeper.awaitSuccess(ChildJvms.WORK_TIMEOUT);
                assertEquals("0", result.get("lost"), keeper.name + " lost a live session: "
                        + result.get("firstLoss"));
                assertEquals("0", result.get("missingAtEnd"), keeper.name
                        + ": a kept session was missing at the end");
                assertTrue(Integer.parseInt(result.get("planted")) > 0, keeper.name
                        + " planted no stale marker");
                excused += Integer.parseInt(result.get("excused"));
                abandoned.addAll(List.of(result.get("abandoned").split(",")));
            }
            assertTrue(excused < KEEPERS * KEPT / 2, excused + " sessions went untouched for"
                    + " their whole interval: the machine stalled, the run proves little");
            assertTrue(abandoned.size() >= KEEPERS * 40, abandoned.size()
                    + " abandoned sessions made: too few rounds to prove much");

            // the sweeper removes the abandoned sessions on its own; wait for it (bounded)
            Layout layout = new Layout(dir);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            List<String> left = stillStored(layout, abandoned);
            while (!left.isEmpty() && System.nanoTime() < deadline) {
                Thread.sleep(50); // waiting for another process, not for expiry
                left = stillStored(layout, abandoned);
            }
            sweeper.send(ChildWorker.STOP);
            Map<String, String> swept = sweeper.awaitSuccess(ChildJvms.WORK_TIMEOUT);
            assertEquals(List.of(), left, "abandoned sessions the sweeper left");
            assertTrue(Long.parseLong(swept.get("removed")) >= abandoned.size(),
                    "the sweeper removed them: " + swept);
            assertTrue(Long.parseLong(swept.get("examined")) > Long.parseLong(swept.get("removed"))
                    + Long.parseLong(swept.get("skipped")), "the sweeper met live sessions through"
                    + " the planted markers and let them be: " + swept);
            for (String id : abandoned) {
                assertTrue(markersOf(layout, id).isEmpty(), "a marker of a removed session");
            }
        }
    }

    private static List<String> stillStored(Layout layout, List<String> ids) {
        List<String> left = new ArrayList<>();
        for (String id : ids) {
            if (Files.exists(layout.current(id), LinkOption.NOFOLLOW_LINKS)
                    || Files.exists(layout.old(id), LinkOption.NOFOLLOW_LINKS)) {
                left.add(id);
            }
        }
        return left;
    }

    private static List<Path> markersOf(Layout layout, String id) {
        List<Path> found = new ArrayList<>();
        if (!Files.isDirectory(layout.expiry())) {
            return found;
        }
        try (Stream<Path> buckets = Files.list(layout.expiry())) {
            for (Path bucket : buckets.toList()) {
                Path marker = bucket.resolve(id);
                if (Files.exists(marker, LinkOption.NOFOLLOW_LINKS)) {
                    found.add(marker);
                }
            }
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return found;
    }

    /** Two keepers' worth of work must fit in the children's work timeout. */
    @Test
    void parameters_fitTheChildTimeouts() {
        assertTrue(Duration.ofMillis(KEEP_MILLIS).multipliedBy(3).compareTo(ChildJvms.WORK_TIMEOUT)
                < 0);
    }
}
