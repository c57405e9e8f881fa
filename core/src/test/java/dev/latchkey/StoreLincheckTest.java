package dev.latchkey;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.stream.Stream;
import org.jetbrains.lincheck.datastructures.IntGen;
import org.jetbrains.lincheck.datastructures.Operation;
import org.jetbrains.lincheck.datastructures.Param;
import org.jetbrains.lincheck.datastructures.StressOptions;
import org.jetbrains.lincheck.datastructures.Validate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Linearizability of the store's operations between threads of one JVM, checked by Lincheck in
 * stress mode (its model-checking mode refuses file I/O) against {@link Spec}, a plain sequential
 * model. Lincheck builds one test instance per scenario run; each makes two fresh sessions with
 * fixed content, and operations name a session by index. After {@code changeId} the index still
 * names the old id, which must be dead, so later operations on it see "missing".
 *
 * <p>All scenario runs share one store on one directory: ids are never reused, so fresh sessions
 * isolate the runs as well as a fresh directory would, and opening a store per run tripled the
 * run time. {@link #removeSessions()} deletes each run's sessions afterwards.
 *
 * <p>Operation results are plain values (an attribute map as a sorted string, a counter, a
 * boolean, or null for "no session"), so Lincheck can compare them with the model's. Writers
 * return the state they published, which is only right if they re-read the session under its
 * lock: a commit working from a stale read, or without the lock, loses or resurrects changes.
 *
 * <p>A failure prints the scenario and the results that no sequential order explains. The run is
 * sized to take seconds, not minutes (Lincheck's defaults take minutes); raise
 * {@link #ITERATIONS} locally to hunt harder.
 *
 * <p>The class, its constructor, its operations and {@link Spec} are public because Lincheck
 * calls them reflectively from its own package.
 */
@Param(name = "session", gen = IntGen.class, conf = "0:1")
@Param(name = "name", gen = IntGen.class, conf = "0:1")
@Param(name = "value", gen = IntGen.class, conf = "0:2")
public final class StoreLincheckTest {
    private static final int ITERATIONS = 25;
    private static final int INVOCATIONS_PER_ITERATION = 100;
    private static final List<String> NAMES = List.of("a", "b");
    private static final String COUNTER = "n";

    @TempDir
    static Path root;
    private static SessionStore shared;

    private final SessionStore store;
    private final List<String> ids = new ArrayList<>();
    private final Queue<String> movedTo = new ConcurrentLinkedQueue<>();

    /** Runs once per scenario: two fresh sessions (ids are never reused, so no state leaks in). */
    public StoreLincheckTest() {
        store = shared;
        for (int s = 0; s < 2; s++) {
            ids.add(store.create(initial(store.change(), s).build()).id());
        }
    }

    @BeforeAll
    static void openStore() {
        shared = SessionStore.open(StoreConfig.builder(root)
                .clock(Clock.fixed(Instant.parse("2030-01-01T00:00:00Z"), ZoneOffset.UTC))
                .lockTimeout(Duration.ofSeconds(30))
                .build());
    }

    @AfterAll
    static void closeStore() {
        shared.close();
    }

    /** The fixed content of session {@code s}: {@code a} or {@code b} set to s, counter 0. */
    static SessionChange.Builder initial(SessionChange.Builder builder, int s) {
        return builder.set(NAMES.get(s), s).set(COUNTER, 0);
    }

    @Operation
    public String find(@Param(name = "session") int s) {
        return render(store.find(ids.get(s)));
    }

    @Operation
    public String set(@Param(name = "session") int s, @Param(name = "name") int name,
            @Param(name = "value") int value) {
        return render(store.commit(ids.get(s),
                store.change().set(NAMES.get(name), value).touch().build()));
    }

    @Operation
    public String remove(@Param(name = "session") int s, @Param(name = "name") int name) {
        return render(store.commit(ids.get(s), store.change().remove(NAMES.get(name)).build()));
    }

    @Operation
    public Integer increment(@Param(name = "session") int s) {
        return store.update(ids.get(s), COUNTER, v -> (Integer) v + 1)
                .map(session -> (Integer) session.attribute(COUNTER)).orElse(null);
    }

    /** A read-modify-write of the counter through a held {@link SessionLock}. */
    @Operation
    public Integer lockedIncrement(@Param(name = "session") int s) {
        try (SessionLock lock = store.lock(ids.get(s))) {
            Optional<Session> current = lock.session();
            if (current.isEmpty()) {
                return null;
            }
            int next = (Integer) current.get().attribute(COUNTER) + 1;
            return lock.commit(store.change().set(COUNTER, next).build())
                    .map(session -> (Integer) session.attribute(COUNTER)).orElse(null);
        }
    }

    @Operation
    public boolean invalidate(@Param(name = "session") int s) {
        return store.invalidate(ids.get(s));
    }

    /**
     * Moves session s to a new id; returns what a find at the new id sees, or null if there was
     * no session. The old id must be dead at once.
     */
    @Operation
    public String changeId(@Param(name = "session") int s) {
        String old = ids.get(s);
        Optional<Session> moved = store.changeId(old);
        if (moved.isEmpty()) {
            return null;
        }
        movedTo.add(moved.get().id());
        if (store.find(old).isPresent()) {
            return "old id still alive";
        }
        return render(store.find(moved.get().id()));
    }

    /** Runs after each scenario: removes its sessions, so the directory stays small. */
    @Validate
    public void removeSessions() {
        for (String id : ids) {
            store.invalidate(id);
        }
        for (String id : movedTo) {
            store.invalidate(id);
        }
    }

    /**
     * Thousands of scenarios, each with its own test instance: checks the linearizability of
     * every run and, where {@code /proc/self/fd} exists, that they leave no file open.
     */
    @Test
    void operations_areLinearizable() {
        long openBefore = openFileDescriptors();
        new StressOptions()
                .iterations(ITERATIONS)
                .invocationsPerIteration(INVOCATIONS_PER_ITERATION)
                .threads(2)
                .actorsPerThread(3)
                .actorsBefore(1)
                .actorsAfter(1)
                .sequentialSpecification(Spec.class)
                .check(StoreLincheckTest.class);
        long openAfter = openFileDescriptors();
        assertTrue(openAfter - openBefore < 50, "file descriptors open before " + openBefore
                + ", after " + openAfter + " scenarios: a leak");
    }

    private static long openFileDescriptors() {
        Path fds = Path.of("/proc/self/fd");
        if (!Files.isDirectory(fds)) {
            return 0;
        }
        try (Stream<Path> list = Files.list(fds)) {
            return list.count();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static String render(Optional<Session> session) {
        return session.map(s -> new TreeMap<>(s.attributes()).toString()).orElse(null);
    }

    /** The sequential specification: two sessions as maps, null once gone. */
    public static final class Spec {
        private final Map<Integer, TreeMap<String, Object>> sessions = new HashMap<>();

        public Spec() {
            for (int s = 0; s < 2; s++) {
                TreeMap<String, Object> attributes = new TreeMap<>();
                attributes.put(NAMES.get(s), s);
                attributes.put(COUNTER, 0);
                sessions.put(s, attributes);
            }
        }

        public String find(int s) {
            TreeMap<String, Object> attributes = sessions.get(s);
            return attributes == null ? null : attributes.toString();
        }

        public String set(int s, int name, int value) {
            TreeMap<String, Object> attributes = sessions.get(s);
            if (attributes == null) {
                return null;
            }
            attributes.put(NAMES.get(name), value);
            return attributes.toString();
        }

        public String remove(int s, int name) {
            TreeMap<String, Object> attributes = sessions.get(s);
            if (attributes == null) {
                return null;
            }
            attributes.remove(NAMES.get(name));
            return attributes.toString();
        }

        public Integer increment(int s) {
            TreeMap<String, Object> attributes = sessions.get(s);
            if (attributes == null) {
                return null;
            }
            int next = (Integer) attributes.get(COUNTER) + 1;
            attributes.put(COUNTER, next);
            return next;
        }

        public Integer lockedIncrement(int s) {
            return increment(s);
        }

        public boolean invalidate(int s) {
            return sessions.remove(s) != null;
        }

        public String changeId(int s) {
            TreeMap<String, Object> attributes = sessions.remove(s);
            return attributes == null ? null : attributes.toString();
        }
    }
}
