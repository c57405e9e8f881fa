package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.StoreConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Threads of two stores (two memos) on sessions that share one memo slot: find, commit and update
 * at random; no call returns another session's state, and no update is lost.
 */
final class DecodedStatesHammerTest {
    @TempDir
    Path temp;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void sharedSlot_concurrentFindCommitUpdate_noCrossTalkNoLostUpdate() throws Exception {
        StoreConfig config = StoreConfig.builder(temp.resolve("store"))
                .clock(MutableClock.atFixedStart()).build();
        try (FileSessionStore a = FileSessionStore.open(config);
                FileSessionStore b = FileSessionStore.open(config)) {
            List<String> ids = new ArrayList<>();
            int slot = -1;
            while (ids.size() < 6) {
                String id = a.create(a.change().set("owner", "x").set("n", 0).build()).id();
                int s = SessionIds.stripe(id, DecodedStates.SLOTS);
                if (slot < 0) {
                    slot = s;
                }
                if (s == slot) {
                    a.commit(id, a.change().set("owner", id).build());
                    ids.add(id);
                } else {
                    a.invalidate(id);
                }
            }
            AtomicLongArray done = new AtomicLongArray(ids.size());
            ConcurrentLinkedQueue<String> problems = new ConcurrentLinkedQueue<>();
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < 4; t++) {
                FileSessionStore store = t % 2 == 0 ? a : b;
                threads.add(new Thread(() -> {
                    ThreadLocalRandom r = ThreadLocalRandom.current();
                    for (int i = 0; i < 3000; i++) {
                        int k = r.nextInt(ids.size());
                        String id = ids.get(k);
                        Optional<Session> s;
                        switch (r.nextInt(3)) {
                            case 0 -> s = store.find(id);
                            case 1 -> s = store.commit(id, store.change().set("owner", id)
                                    .set("junk" + r.nextInt(3), "j" + r.nextInt(1000)).build());
                            default -> {
                                s = store.update(id, "n", v -> (Integer) v + 1);
                                done.incrementAndGet(k);
                            }
                        }
                        if (s.isEmpty() || !id.equals(s.get().id())
                                || !id.equals(s.get().attribute("owner"))) {
                            problems.add("cross talk on " + k + ": " + s);
                        }
                    }
                }));
            }
            threads.forEach(Thread::start);
            for (Thread th : threads) {
                th.join();
            }
            assertEquals(List.of(), new ArrayList<>(problems));
            for (int k = 0; k < ids.size(); k++) {
                assertEquals(done.get(k), ((Integer) b.find(ids.get(k)).orElseThrow()
                        .attribute("n")).longValue());
            }
        }
    }
}
