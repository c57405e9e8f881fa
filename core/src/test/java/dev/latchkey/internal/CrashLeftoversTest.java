package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The states a crash can leave between the steps of the publish protocol (see
 * {@link SessionFiles}), built from real files the store wrote: readers apply the rule "ID if it
 * exists, else ID.old, else no session", and the next lock holder tidies up.
 */
final class CrashLeftoversTest {
    @TempDir
    Path temp;
    private Path dir;
    private Layout layout;
    private SessionStore store;
    private String id;
    /** The file of revision 0 ({@code a=1}) and of revision 1 ({@code a=2}). */
    private byte[] revision0;
    private byte[] revision1;

    @BeforeEach
    void open() throws Exception {
        dir = temp.resolve("store");
        layout = new Layout(dir);
        store = SessionStore.open(StoreConfig.builder(dir).clock(MutableClock.atFixedStart())
                .lockTimeout(Duration.ofSeconds(2)).build());
        id = store.create(store.change().set("a", 1).build()).id();
        revision0 = Files.readAllBytes(layout.current(id));
        store.commit(id, store.change().set("a", 2).build()).orElseThrow();
        revision1 = Files.readAllBytes(layout.current(id));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private boolean exists(Path p) {
        return Files.exists(p, LinkOption.NOFOLLOW_LINKS);
    }

    private void assertOnlyCurrentFile() {
        assertTrue(exists(layout.current(id)), "ID missing");
        assertFalse(exists(layout.old(id)), "ID.old left behind");
        assertFalse(exists(layout.temp(id)), "ID.tmp left behind");
    }

    /** Crash after step 2 (ID renamed to ID.old) and before step 3 (ID.tmp renamed to ID). */
    @Test
    void oldOnly_crashBetweenTheRenames_readAsOldStateAndRepublishedByNextCommit()
            throws Exception {
        Files.delete(layout.current(id));
        Files.write(layout.old(id), revision0);
        Files.write(layout.temp(id), revision1); // the unpublished next state

        Session found = store.find(id).orElseThrow();
        assertEquals(1, found.attribute("a"));
        assertEquals(0, found.revision());
        assertFalse(exists(layout.current(id)), "find must not write");

        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 1, "b", 3), after.attributes());
        assertEquals(1, after.revision());
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 1, "b", 3), store.find(id).orElseThrow().attributes());
    }

    @Test
    void oldOnly_withoutTemp_isTheSessionForEveryOperation() throws Exception {
        Files.move(layout.current(id), layout.old(id));
        assertEquals(2, store.find(id).orElseThrow().attribute("a"));
        assertEquals(5, store.update(id, "a", v -> (Integer) v + 3).orElseThrow().attribute("a"));
        assertOnlyCurrentFile();
    }

    @Test
    void oldOnly_changeId_movesStateAndRemovesEveryOldFile() throws Exception {
        Files.move(layout.current(id), layout.old(id));
        String newId = store.changeId(id).orElseThrow().id();
        assertEquals(2, store.find(newId).orElseThrow().attribute("a"));
        assertFalse(exists(layout.current(id)));
        assertFalse(exists(layout.old(id)));
        assertTrue(store.find(id).isEmpty());
    }

    /** Crash after step 3 and before step 4: ID is the new state, ID.old is stale. */
    @Test
    void currentWithStaleOld_currentWinsAndNextCommitRemovesOld() throws Exception {
        Files.write(layout.old(id), revision0);

        Session found = store.find(id).orElseThrow();
        assertEquals(2, found.attribute("a"));
        assertEquals(1, found.revision());

        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 2, "b", 3), after.attributes());
        assertEquals(2, after.revision());
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    /** Crash during step 1: ID.tmp holds garbage. */
    @Test
    void garbageTemp_ignoredByFindAndOverwrittenByNextCommit() throws Exception {
        Files.write(layout.temp(id), "garbage, longer than the real file will be; ".repeat(20)
                .getBytes(StandardCharsets.UTF_8));

        assertEquals(2, store.find(id).orElseThrow().attribute("a"));
        assertArrayEquals(revision1, Files.readAllBytes(layout.current(id)));

        Session after = store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals(Map.of("a", 2, "b", 3), after.attributes());
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
        assertFalse(exists(dir.resolve("quarantine")), "a temp file is not damage");
    }

    @Test
    void symlinkAtTemp_nextCommitDoesNotWriteThroughIt() throws Exception {
        Path victim = Files.writeString(temp.resolve("victim.txt"), "do not overwrite");
        Files.createSymbolicLink(layout.temp(id), victim);

        store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertEquals("do not overwrite", Files.readString(victim));
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    @Test
    void directoryAtTemp_nextCommitRemovesItAndPublishes() throws Exception {
        Files.createDirectory(layout.temp(id));

        store.commit(id, store.change().set("b", 3).build()).orElseThrow();
        assertOnlyCurrentFile();
        assertEquals(Map.of("a", 2, "b", 3), store.find(id).orElseThrow().attributes());
    }

    @Test
    void garbageTempOnly_isNoSession() throws Exception {
        Files.move(layout.current(id), layout.temp(id));
        assertTrue(store.find(id).isEmpty());
        assertTrue(store.commit(id, store.change().set("b", 3).build()).isEmpty());
        assertFalse(exists(layout.current(id)));
    }

    @Test
    void staleOld_invalidate_removesBoth() throws Exception {
        Files.write(layout.old(id), revision0);
        assertTrue(store.invalidate(id));
        assertFalse(exists(layout.current(id)));
        assertFalse(exists(layout.old(id)));
        assertTrue(store.find(id).isEmpty());
        assertTrue(store.commit(id, store.change().set("b", 3).build()).isEmpty());
        assertFalse(exists(layout.current(id)));
        assertFalse(exists(layout.old(id)));
    }

    @Test
    void oldOnly_invalidate_removesItAndTemp() throws Exception {
        Files.delete(layout.current(id));
        Files.write(layout.old(id), revision0);
        Files.write(layout.temp(id), revision1);
        assertTrue(store.invalidate(id));
        assertFalse(exists(layout.old(id)));
        assertFalse(exists(layout.temp(id)));
        assertFalse(exists(layout.current(id)));
        assertTrue(store.find(id).isEmpty());
        assertFalse(store.invalidate(id));
    }
}
