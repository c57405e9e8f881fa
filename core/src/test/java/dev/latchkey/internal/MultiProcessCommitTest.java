package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Writers in several JVM processes on one session directory: the inter-process claims of
 * {@link SessionStore} (no lost update, exact read-modify-write, no resurrection, readers see whole
 * states). Each test starts child JVMs with {@link ChildJvms}, releases them together at a barrier
 * and checks the directory afterwards from this JVM.
 */
@Timeout(value = 2, unit = TimeUnit.MINUTES) // a broken lock must fail the build, not hang it
final class MultiProcessCommitTest {
    private static final int PROCESSES = 3;

    @Test
    void commit_processesSetDisjointAttributes_noUpdateLost(@TempDir Path dir) {
        int commits = 250;
        try (SessionStore store = open(dir); ChildJvms jvms = new ChildJvms()) {
            String id = createNeverExpiring(store, Map.of());
            for (int i = 0; i < PROCESSES; i++) {
                jvms.start("writer-" + i, "disjoint", dir, id, i, commits);
            }
            jvms.awaitAllReady();
            jvms.goAll();
            for (Map<String, String> result : jvms.awaitAllSucceeded()) {
                assertEquals("0", result.get("missing"), "commits that found no session");
            }

            Session session = store.find(id).orElseThrow();
            Map<String, Object> attributes = session.attributes();
            List<String> wrong = new ArrayList<>();
            for (int i = 0; i < PROCESSES; i++) {
                for (int k = 0; k < commits; k++) {
                    expect(attributes, "c" + i + "-" + k, k, wrong);
                }
                expect(attributes, "c" + i + "-last", commits - 1, wrong);
            }
            assertTrue(wrong.isEmpty(), () -> wrong.size() + " attributes lost or stale, e.g. "
                    + wrong.subList(0, Math.min(10, wrong.size())));
            assertEquals(PROCESSES * (commits + 1), attributes.size(), "attribute count");
            assertEquals(PROCESSES * commits, session.revision(), "one revision per commit");
        }
    }

    @Test
    void update_processesIncrementOneCounter_exactTotal(@TempDir Path dir) {
        assertCounterExact(dir, 1, 300);
    }

    @Test
    void update_processesWithTwoThreadsEachIncrementOneCounter_exactTotal(@TempDir Path dir) {
        assertCounterExact(dir, 2, 150);
    }

    private static void assertCounterExact(Path dir, int threads, int times) {
        try (SessionStore store = open(dir); ChildJvms jvms = new ChildJvms()) {
            String id = createNeverExpiring(store, Map.of());
            for (int i = 0; i < PROCESSES; i++) {
                jvms.start("counter-" + i, "counter", dir, id, times, threads);
            }
            jvms.awaitAllReady();
            jvms.goAll();
            for (Map<String, String> result : jvms.awaitAllSucceeded()) {
                assertEquals("0", result.get("missing"), "updates that found no session");
            }

            Session session = store.find(id).orElseThrow();
            assertEquals(PROCESSES * threads * times, session.attribute("n"),
                    PROCESSES + " processes x " + threads + " threads x " + times + " updates");
            assertEquals(PROCESSES * threads * times, session.revision(),
                    "one revision per update");
        }
    }

    @Test
    void invalidate_whileOtherProcessesCommit_sessionNeverSeenAgain(@TempDir Path dir)
            throws IOException {
        int minRevisionAtInvalidate = 150;
        try (SessionStore store = open(dir); ChildJvms jvms = new ChildJvms()) {
            String id = createNeverExpiring(store, Map.of());
            List<ChildJvms.Child> committers = new ArrayList<>();
            for (int i = 0; i < PROCESSES; i++) {
                committers.add(jvms.start("committer-" + i, "commitUntilGone", dir, id, i,
                        300, 20_000));
            }
            ChildJvms.Child invalidator = jvms.start("invalidator", "invalidateWhenBusy", dir,
                    id, minRevisionAtInvalidate, 1_000);
            jvms.awaitAllReady();
            jvms.goAll();

            Map<String, String> invalidated = invalidator.awaitSuccess(ChildJvms.WORK_TIMEOUT);
            assertEquals("true", invalidated.get("invalidated"), "invalidate removed the session");
            assertTrue(Long.parseLong(invalidated.get("revisionAtInvalidate"))
                    >= minRevisionAtInvalidate, "the committers were busy when it was invalidated");
            assertEquals("0", invalidated.get("resurrections"),
                    "finds of the invalidator that saw the session again");
            long commits = 0;
            for (ChildJvms.Child committer : committers) {
                Map<String, String> result = committer.awaitSuccess(ChildJvms.WORK_TIMEOUT);
                assertEquals("true", result.get("observedGone"), committer.name
                        + " never saw the session gone");
                assertEquals("0", result.get("resurrections"), () -> committer.name
                        + " saw the session after it was gone: " + result.get("firstResurrection"));
                commits += Long.parseLong(result.get("commits"));
            }
            assertTrue(commits >= minRevisionAtInvalidate, "commits " + commits);

            assertTrue(store.find(id).isEmpty(), "find after all processes are done");
            assertEquals(List.of(), filesNamed(dir, id), "files of the invalidated session");
        }
    }

    @Test
    void find_whileOtherProcessesRewrite_alwaysOneWholeState(@TempDir Path dir) {
        int commits = 400;
        int finalRevision = PROCESSES * commits;
        try (SessionStore store = open(dir); ChildJvms jvms = new ChildJvms()) {
            String id = createNeverExpiring(store, Map.of("a", 0, "b", 0, "c", 0,
                    "blob", ChildWorker.blob(0)));
            ChildJvms.Child reader = jvms.start("reader", "readConsistent", dir, id, 3_000,
                    finalRevision);
            List<ChildJvms.Child> writers = new ArrayList<>();
            for (int i = 1; i <= PROCESSES; i++) {
                writers.add(jvms.start("rewriter-" + i, "rewrite", dir, id, i, commits));
            }
            jvms.awaitAllReady();
            jvms.goAll();
            for (ChildJvms.Child writer : writers) {
                Map<String, String> result = writer.awaitSuccess(ChildJvms.WORK_TIMEOUT);
                assertEquals("0", result.get("missing"), "commits that found no session");
            }
            reader.send(ChildWorker.STOP);

            Map<String, String> read = reader.awaitSuccess(ChildJvms.WORK_TIMEOUT);
            assertEquals("0", read.get("bad"), () -> "reads of an empty, partial or mixed state,"
                    + " first: " + read.get("firstBad") + " (of " + read.get("reads") + ")");
            assertTrue(Integer.parseInt(read.get("reads")) >= 3_000, "reads " + read);
            assertEquals(String.valueOf(finalRevision), read.get("lastRevision"),
                    "the reader read until the writers were done");
            // the reader really ran during the writes: it saw many states, not one or two
            assertTrue(Integer.parseInt(read.get("distinctRevisions")) >= 50,
                    "distinct states the reader saw: " + read.get("distinctRevisions"));
        }
    }

    // ---- fixtures ----

    private static SessionStore open(Path dir) {
        return SessionStore.open(StoreConfig.builder(dir)
                .clock(Clock.fixed(Instant.parse("2026-01-01T00:00:00Z"), ZoneOffset.UTC))
                .build());
    }

    /** Creates a session that no clock of any process can expire. */
    private static String createNeverExpiring(SessionStore store, Map<String, Object> attributes) {
        var change = store.change().maxInactiveInterval(Duration.ZERO);
        attributes.forEach(change::set);
        return store.create(change.build()).id();
    }

    private static void expect(Map<String, Object> attributes, String name, int value,
            List<String> wrong) {
        Object actual = attributes.get(name);
        if (!Integer.valueOf(value).equals(actual)) {
            wrong.add(name + "=" + actual + " (expected " + value + ")");
        }
    }

    /** Every file anywhere under dir whose name starts with the id (ID, ID.old, ID.tmp, quarantine). */
    private static List<String> filesNamed(Path dir, String id) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(p -> p.getFileName().toString().startsWith(id))
                    .map(p -> dir.relativize(p).toString())
                    .collect(Collectors.toList());
        }
    }
}
