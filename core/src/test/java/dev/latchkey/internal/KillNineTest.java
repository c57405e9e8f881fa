package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.latchkey.RecoveryReport;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Crash safety against {@code kill -9}: child JVMs ({@link ChildWorker}, mode {@code crashLoop})
 * commit in tight loops to a shared set of sessions, with plain commits of write-once attributes,
 * lock-and-commit increments and {@code update} increments, and print an acknowledgement after
 * each operation returns. The parent kills a random working child with SIGKILL (through its
 * {@link ProcessHandle}, which keeps the child's unread output: see
 * {@link ChildJvms.Child#signalKill()}) after a random delay of 1 to 120 ms, starts a replacement
 * from a pool of spare children that wait at the READY/GO barrier, and goes on. Start-up of the
 * replacements (about 0.4 s of CPU each) bounds the rate: one to five kills a second.
 * Afterwards, with every child dead:
 * <ul>
 *   <li>{@link SessionStore#recover()} is clean, and no {@code *.tmp} or {@code *.old} file is
 *       left; nothing was quarantined;</li>
 *   <li>every session file reads and validates, and every session's lock (so every stripe in
 *       use) can be taken at once, with an even publish sequence;</li>
 *   <li>every acknowledged commit is present: each write-once attribute with its value; for the
 *       lock-and-commit counter, exactly the increments on disk (its per-child sequence numbers
 *       tell which landed), with at most one unacknowledged per kill; for the {@code update}
 *       counter, acknowledged &lt;= final &lt;= acknowledged + kills.</li>
 * </ul>
 *
 * <p>The run lasts {@value #DEFAULT_SECONDS} seconds of killing by default (or until
 * {@value #TARGET_KILLS} kills), about a minute in all; on a machine so loaded that it has not
 * reached {@value #MIN_KILLS} kills by then, it goes on up to three times as long. A soak runs longer:
 * {@code mvn -pl core test -Dtest=KillNineTest -Dlatchkey.soak.seconds=600}. The seed is
 * printed; {@code -Dlatchkey.crash.seed=N} replays the same kill schedule (delays, victims and
 * the children's operations; the interleaving with the OS scheduler is not reproducible).
 */
@Timeout(value = 30, unit = TimeUnit.MINUTES)
final class KillNineTest {
    private static final int DEFAULT_SECONDS = 45;
    private static final int TARGET_KILLS = 400;
    /** Below this the run proved too little (a machine far too loaded to start JVMs). */
    private static final int MIN_KILLS = 20;
    private static final int SESSIONS = 12;
    private static final int WORKERS = 2;
    private static final int SPARES = 3;

    @TempDir
    Path temp;

    /** What the parent learned from the acknowledgements. */
    private static final class Acks {
        /** Session number to (attribute name to value) of acknowledged write-once commits. */
        final Map<Integer, Map<String, Integer>> written = new HashMap<>();
        /** Session number to (child index to the highest acknowledged lock increment number). */
        final Map<Integer, Map<Integer, Integer>> locked = new HashMap<>();
        /** Session number to the count of acknowledged update increments. */
        final Map<Integer, Integer> updated = new HashMap<>();
        long total;
        /** For failure messages: the last lines of each child. */
        final Map<Integer, List<String>> tails = new HashMap<>();

        void read(int child, List<String> lines) {
            tails.put(child, lines.subList(Math.max(0, lines.size() - 6), lines.size()));
            long expected = 0;
            for (String line : lines) {
                if (!line.startsWith(ChildWorker.ACK + " ")) {
                    continue;
                }
                String[] f = line.split(" ");
                assertEquals(expected++, Long.parseLong(f[1]), () -> "child " + child
                        + ": acknowledgement lines lost (by the pipe, not the store)");
                f = java.util.Arrays.copyOfRange(f, 1, f.length);
                int s = Integer.parseInt(f[2]);
                switch (f[1]) {
                    case "S" -> written.computeIfAbsent(s, k -> new HashMap<>())
                            .put(f[3], Integer.parseInt(f[4]));
                    case "L" -> locked.computeIfAbsent(s, k -> new HashMap<>())
                            .merge(child, Integer.parseInt(f[3]), Math::max);
                    case "U" -> updated.merge(s, 1, Integer::sum);
                    default -> fail("unknown acknowledgement " + line);
                }
                total++;
            }
        }
    }

    @Test
    void killNine_manyTimes_everyAcknowledgedCommitSurvivesAndNothingIsStuck() throws Exception {
        long seed = Long.getLong("latchkey.crash.seed", new Random().nextLong());
        int seconds = Integer.getInteger("latchkey.soak.seconds", DEFAULT_SECONDS);
        int targetKills = System.getProperty("latchkey.soak.seconds") == null ? TARGET_KILLS
                : Integer.MAX_VALUE;
        System.out.println("KillNineTest seed " + seed + " (replay: -Dlatchkey.crash.seed=" + seed
                + "), " + seconds + " s");
        Random random = new Random(seed);
        Path dir = temp.resolve("store");

        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir)
                .lockTimeout(Duration.ofSeconds(30)).build());
                ChildJvms jvms = new ChildJvms()) {
            List<String> ids = new ArrayList<>();
            for (int s = 0; s < SESSIONS; s++) {
                ids.add(store.create().id());
            }
            String idList = String.join(",", ids);
            int[] nextIndex = {0};
            List<ChildJvms.Child> spares = new ArrayList<>();
            List<ChildJvms.Child> working = new ArrayList<>();
            Map<ChildJvms.Child, Integer> indexOf = new HashMap<>();
            Runnable topUpSpares = () -> {
                while (spares.size() < SPARES) {
                    int index = nextIndex[0]++;
                    ChildJvms.Child child = jvms.start("w" + index, "crashLoop", dir, idList,
                            index, random.nextLong());
                    indexOf.put(child, index);
                    spares.add(child);
                }
            };
            for (int w = 0; w < WORKERS; w++) {
                topUpSpares.run();
                working.add(goNext(spares));
            }
            topUpSpares.run();

            List<ChildJvms.Child> killed = new ArrayList<>();
            long start = System.nanoTime();
            long deadline = start + TimeUnit.SECONDS.toNanos(seconds);
            // under heavy load JVMs start slowly: go on (up to 3x) until the minimum is reached
            long hardDeadline = start + TimeUnit.SECONDS.toNanos(3L * seconds);
            while (killed.size() < targetKills && (System.nanoTime() < deadline
                    || killed.size() < MIN_KILLS && System.nanoTime() < hardDeadline)) {
                Thread.sleep(1 + random.nextInt(random.nextBoolean() ? 20 : 120));
                ChildJvms.Child victim = working.remove(random.nextInt(working.size()));
                victim.assertAlive();
                victim.killHard();
                killed.add(victim);
                working.add(goNext(spares));
                topUpSpares.run();
            }
            for (ChildJvms.Child child : working) {
                child.assertAlive();
            }
            // all at once, so that several publishes are likely cut and left to recover()
            working.forEach(ChildJvms.Child::signalKill);
            for (ChildJvms.Child child : working) {
                child.killHard();
                killed.add(child);
            }
            for (ChildJvms.Child spare : spares) {
                spare.killHard(); // never started work
            }

            Acks acks = new Acks();
            for (ChildJvms.Child child : killed) {
                acks.read(indexOf.get(child), child.stdoutAfterExit(Duration.ofSeconds(30)));
            }
            int kills = killed.size();
            System.out.println("KillNineTest: " + kills + " kills, " + acks.total
                    + " acknowledged operations");
            assertTrue(kills >= MIN_KILLS, "only " + kills + " kills: the run proved too little");
            assertTrue(acks.total > kills, "the children hardly worked: " + acks.total
                    + " acknowledgements for " + kills + " kills");

            RecoveryReport report = store.recover();
            System.out.println("KillNineTest: " + report);
            assertTrue(report.isClean(), () -> "recovery errors: " + report.errors());
            assertEquals(List.of(), filesEndingIn(dir, ".tmp", ".old"), "leftovers after recovery");
            assertFalse(Files.exists(dir.resolve("quarantine")), "a kill damaged a file");

            assertEverySessionFileReadsAndLocks(store, dir);
            assertAcknowledgedStatePresent(store, ids, acks, kills);
        }
    }

    /** Sends GO to the oldest spare once it is READY, and returns it. */
    private static ChildJvms.Child goNext(List<ChildJvms.Child> spares) {
        ChildJvms.Child next = spares.remove(0);
        next.awaitLine(ChildWorker.READY, ChildJvms.START_TIMEOUT);
        next.go();
        return next;
    }

    private static List<Path> filesEndingIn(Path dir, String... suffixes) throws Exception {
        try (Stream<Path> files = Files.walk(dir.resolve("sessions"))) {
            return files.filter(p -> Stream.of(suffixes).anyMatch(p.toString()::endsWith))
                    .collect(Collectors.toList());
        }
    }

    private static void assertEverySessionFileReadsAndLocks(SessionStore store, Path dir)
            throws Exception {
        List<Path> files;
        try (Stream<Path> walk = Files.walk(dir.resolve("sessions"))) {
            files = walk.filter(Files::isRegularFile).collect(Collectors.toList());
        }
        assertFalse(files.isEmpty());
        FileSessionStore fileStore = (FileSessionStore) store;
        Set<Integer> stripes = new HashSet<>();
        for (Path file : files) {
            String id = file.getFileName().toString();
            assertTrue(SessionIds.isWellFormed(id), "stray file " + file);
            assertTrue(store.find(id).isPresent(), "session file does not read: " + file);
            try (SessionLock lock = store.lock(id, Duration.ofSeconds(1))) {
                assertTrue(lock.session().isPresent(), file.toString());
            }
            int stripe = FileSessionStore.stripe(id);
            stripes.add(stripe);
            assertEquals(0, fileStore.publishSequence(stripe) & 1, "odd sequence, stripe "
                    + stripe);
        }
        assertFalse(Files.exists(dir.resolve("quarantine")), "reading quarantined a file");
        System.out.println("KillNineTest: " + files.size() + " session files on " + stripes.size()
                + " stripes read and locked");
    }

    private static void assertAcknowledgedStatePresent(SessionStore store, List<String> ids,
            Acks acks, int kills) {
        long unacknowledgedLocked = 0;
        long ackedUpdates = 0;
        long finalUpdates = 0;
        for (int s = 0; s < ids.size(); s++) {
            int session = s;
            Session found = store.find(ids.get(s)).orElseThrow();
            Map<String, Object> attributes = found.attributes();

            acks.written.getOrDefault(s, Map.of()).forEach((name, value) -> assertEquals(value,
                    attributes.get(name), () -> "acknowledged commit lost: session " + session
                            + " attribute " + name));

            // n = sum over children of (i<child> + 1), and i<child> >= the acknowledged number
            Map<Integer, Integer> onDisk = new TreeMap<>();
            attributes.forEach((name, value) -> {
                if (name.matches("i\\d+")) {
                    onDisk.put(Integer.parseInt(name.substring(1)), (Integer) value);
                }
            });
            long sum = 0;
            for (int v : onDisk.values()) {
                sum += v + 1;
            }
            Object n = attributes.get("n");
            assertEquals(sum, n == null ? 0 : ((Integer) n).longValue(),
                    "lock-and-commit increments lost or doubled on session " + s);
            for (Map.Entry<Integer, Integer> acked
                    : acks.locked.getOrDefault(s, Map.of()).entrySet()) {
                Integer disk = onDisk.get(acked.getKey());
                assertTrue(disk != null && disk >= acked.getValue(), "acknowledged lock increment "
                        + acked.getValue() + " of child " + acked.getKey() + " on session " + s
                        + " lost; on disk " + disk);
                assertTrue(disk <= acked.getValue() + 1, "child " + acked.getKey()
                        + " has more than one unacknowledged increment on session " + s
                        + ": acknowledged " + acked.getValue() + ", on disk " + disk
                        + "; its last lines: " + acks.tails.get(acked.getKey()));
                unacknowledgedLocked += disk - acked.getValue();
            }
            for (Map.Entry<Integer, Integer> disk : onDisk.entrySet()) {
                if (!acks.locked.getOrDefault(s, Map.of()).containsKey(disk.getKey())) {
                    assertEquals(0, disk.getValue(), "child " + disk.getKey() + " session " + s);
                    unacknowledgedLocked++;
                }
            }

            int acked = acks.updated.getOrDefault(s, 0);
            Object u = attributes.get("u");
            int last = u == null ? 0 : (Integer) u;
            assertTrue(acked <= last && last <= acked + kills, "update counter of session " + s
                    + ": acknowledged " + acked + ", on disk " + last + ", kills " + kills);
            ackedUpdates += acked;
            finalUpdates += last;
        }
        long unacknowledged = unacknowledgedLocked + finalUpdates - ackedUpdates;
        System.out.println("KillNineTest: " + unacknowledged
                + " operations on disk whose acknowledgement a kill cut off");
        assertTrue(unacknowledged <= kills, unacknowledged + " unacknowledged operations on disk"
                + " for " + kills + " kills: each kill may cut off at most one");
    }
}
