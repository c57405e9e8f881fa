package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of a process inside {@code changeId}, at random instants: never two live ids for one
 * session (the old id, the target of a session-fixation defence, must not survive a published new
 * one). The only other outcome allowed is none at all, when the kill fell between the removal of
 * the old id and the rename of the new id's temp file into place.
 */
@Timeout(240)
final class ChangeIdCrashTest {
    private static final int MOVERS = 4;
    private static final long BUDGET_NANOS = TimeUnit.SECONDS.toNanos(20);

    @TempDir
    Path dir;

    @Test
    void changeId_killedAtRandomInstants_neverLeavesTwoLiveIds() throws Exception {
        StoreConfig config = StoreConfig.builder(dir)
                .defaultMaxInactiveInterval(Duration.ofDays(1)).build();
        try (SessionStore store = SessionStore.open(config)) {
            String[] ids = new String[MOVERS];
            for (int k = 0; k < MOVERS; k++) {
                ids[k] = store.create(store.change().set("k", k).build()).id();
            }
            long end = System.nanoTime() + BUDGET_NANOS;
            int kills = 0;
            int lost = 0;
            for (int round = 0; round < 2 || System.nanoTime() < end; round++) {
                try (ChildJvms jvms = new ChildJvms()) {
                    List<ChildJvms.Child> movers = new ArrayList<>();
                    for (int k = 0; k < MOVERS; k++) {
                        movers.add(jvms.start("mover" + k, "changeIdLoop", dir, ids[k]));
                    }
                    jvms.awaitAllReady();
                    jvms.goAll();
                    for (ChildJvms.Child mover : movers) {
                        mover.awaitLine("MOVING", ChildJvms.START_TIMEOUT);
                    }
                    Thread.sleep(ThreadLocalRandom.current().nextInt(1, 40)); // a random instant
                    for (ChildJvms.Child mover : movers) {
                        mover.killHard();
                    }
                }
                kills += MOVERS;
                Set<String> candidates = idsOnDisk();
                for (int k = 0; k < MOVERS; k++) {
                    List<String> live = new ArrayList<>();
                    for (String id : candidates) {
                        Session s = store.find(id).orElse(null);
                        if (s != null && Integer.valueOf(k).equals(s.attribute("k"))) {
                            live.add(id);
                        }
                    }
                    assertTrue(live.size() <= 1, "round " + round + ": session " + k
                            + " is alive under " + live.size() + " ids");
                    if (live.isEmpty()) {
                        lost++;
                        assertTrue(hasTempFile(), "session " + k + " lost, but no kill fell"
                                + " between the removal of the old id and the rename of the new");
                        ids[k] = store.create(store.change().set("k", k).build()).id();
                    } else {
                        ids[k] = live.get(0);
                    }
                }
            }
            System.out.println("changeId kill test: " + kills + " kills, " + lost
                    + " sessions lost in the removal-to-rename window");
        }
    }

    /** Every id that names a file in the directory, with or without a suffix. */
    private Set<String> idsOnDisk() throws IOException {
        try (Stream<Path> files = Files.walk(dir.resolve(Layout.SESSIONS))) {
            return files.filter(Files::isRegularFile)
                    .map(p -> p.getFileName().toString().split("\\.")[0])
                    .filter(SessionIds::isWellFormed)
                    .collect(Collectors.toCollection(TreeSet::new));
        }
    }

    private boolean hasTempFile() throws IOException {
        try (Stream<Path> files = Files.walk(dir.resolve(Layout.SESSIONS))) {
            return files.anyMatch(p -> p.getFileName().toString().endsWith(".tmp"));
        }
    }
}
