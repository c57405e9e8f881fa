package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.Durability;
import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@link Durability#SYNCED} forces each published file and its directory; the default does not. */
final class DurabilityTest {
    @TempDir
    Path temp;

    private static FileSessionStore open(Path dir, Durability durability) {
        StoreConfig.Builder builder = StoreConfig.builder(dir);
        if (durability != null) {
            builder.durability(durability);
        }
        return (FileSessionStore) SessionStore.open(builder.build());
    }

    @Test
    void synced_everyPublish_forcesFileAndDirectory() {
        try (FileSessionStore store = open(temp.resolve("s"), Durability.SYNCED)) {
            assertEquals(Durability.SYNCED, store.config().durability());
            Session session = store.create();
            assertEquals(2, store.forces(), "create: the file, then the directory");
            store.commit(session.id(), store.change().set("a", 1).build());
            store.update(session.id(), "n", v -> 1);
            assertEquals(6, store.forces());
            store.changeId(session.id());
            // the new file, the old id's directory after its removal, the new id's directory
            assertEquals(9, store.forces());
        }
    }

    @Test
    void synced_emptyCommitOrMissingSession_forcesNothing() {
        try (FileSessionStore store = open(temp.resolve("s"), Durability.SYNCED)) {
            Session session = store.create();
            long before = store.forces();
            store.commit(session.id(), store.change().build());
            store.invalidate(session.id());
            store.commit(session.id(), store.change().set("a", 1).build());
            assertEquals(before, store.forces());
        }
    }

    @Test
    void buffered_isTheDefaultAndForcesNothing() {
        try (FileSessionStore store = open(temp.resolve("b"), null)) {
            assertEquals(Durability.BUFFERED, store.config().durability());
            Session session = store.create();
            for (int i = 0; i < 5; i++) {
                store.commit(session.id(), store.change().set("a", i).build());
            }
            assertEquals(0, store.forces());
            assertTrue(store.find(session.id()).isPresent());
        }
    }

    @Test
    void storesWithDifferentDurability_shareOneDirectory() {
        Path dir = temp.resolve("shared");
        try (FileSessionStore synced = open(dir, Durability.SYNCED);
                FileSessionStore buffered = open(dir, Durability.BUFFERED)) {
            Session session = buffered.create();
            synced.commit(session.id(), synced.change().set("a", 1).build());
            buffered.commit(session.id(), buffered.change().set("b", 2).build());
            Session seen = synced.find(session.id()).orElseThrow();
            assertEquals(1, seen.attribute("a"));
            assertEquals(2, seen.attribute("b"));
        }
    }
}
