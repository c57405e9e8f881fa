package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.StoreConfig;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * No object reachable from a remembered state ({@link DecodedStates}) is ever handed to the
 * application, and no object the application passed in is kept: mutating a value read from a
 * find, a commit's result or an update's old value, or a value after it was set, changes neither
 * later reads nor what an unrelated commit writes.
 */
final class DecodedStatesAliasingTest {
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    @TempDir
    Path temp;
    private final MutableClock clock = MutableClock.atFixedStart();
    private FileSessionStore store;
    /** A second store on the same directory: its own memo, so it shows what is on disk. */
    private FileSessionStore other;

    /** A record with a JsonNode field: a common way to keep free-form JSON in a session. */
    public record Prefs(JsonNode data) {}

    @BeforeEach
    void open() {
        StoreConfig config = StoreConfig.builder(temp.resolve("store")).clock(clock)
                .allowTypes(ObjectNode.class, ArrayNode.class, Prefs.class).build();
        store = FileSessionStore.open(config);
        other = FileSessionStore.open(config);
    }

    @AfterEach
    void close() {
        store.close();
        other.close();
    }

    private static ObjectNode user() {
        return NODES.objectNode().put("role", "user");
    }

    private String onDisk(String id, String name) {
        return other.find(id).orElseThrow().attribute(name).toString();
    }

    @Test
    void find_objectNodeMutatedByTheCaller_laterFindsAndAnUnrelatedCommitKeepTheStoredValue() {
        String id = store.create(store.change().set("prefs", user()).build()).id();
        ObjectNode mine = (ObjectNode) store.find(id).orElseThrow().attribute("prefs");
        mine.put("role", "admin"); // a local change, never committed
        assertEquals("{\"role\":\"user\"}",
                store.find(id).orElseThrow().attribute("prefs").toString());
        store.commit(id, store.change().set("x", 1).build());
        assertEquals("{\"role\":\"user\"}", onDisk(id, "prefs"));
    }

    @Test
    void find_attributesMapValueMutated_laterFindsKeepTheStoredValue() {
        String id = store.create(store.change().set("prefs", user())
                .set("list", NODES.arrayNode().add(1)).build()).id();
        Map<String, Object> values = store.find(id).orElseThrow().attributes();
        ((ObjectNode) values.get("prefs")).put("role", "admin");
        ((ArrayNode) values.get("list")).add(2);
        Session again = store.find(id).orElseThrow();
        assertEquals("{\"role\":\"user\"}", again.attribute("prefs").toString());
        assertEquals("[1]", again.attribute("list").toString());
        store.commit(id, store.change().set("x", 1).build());
        assertEquals("{\"role\":\"user\"}", onDisk(id, "prefs"));
        assertEquals("[1]", onDisk(id, "list"));
    }

    @Test
    void commit_resultValueMutated_laterFindsAndCommitsKeepTheCommittedValue() {
        String id = store.create(store.change().set("x", 0).build()).id();
        Session committed = store.commit(id, store.change().set("prefs", user()).build())
                .orElseThrow();
        ((ObjectNode) committed.attribute("prefs")).put("role", "admin");
        assertEquals("{\"role\":\"user\"}",
                store.find(id).orElseThrow().attribute("prefs").toString());
        store.commit(id, store.change().set("x", 1).build());
        assertEquals("{\"role\":\"user\"}", onDisk(id, "prefs"));
    }

    @Test
    void update_oldValueMutatedThenAborted_laterFindsKeepTheStoredValue() {
        String id = store.create(store.change().set("prefs", user()).build()).id();
        store.find(id).orElseThrow(); // the bytes are remembered
        assertThrows(IllegalStateException.class, () -> store.update(id, "prefs", old -> {
            ((ObjectNode) old).put("role", "admin");
            throw new IllegalStateException("the application aborts its update");
        }));
        assertEquals("{\"role\":\"user\"}",
                store.find(id).orElseThrow().attribute("prefs").toString());
        store.commit(id, store.change().set("x", 1).build());
        assertEquals("{\"role\":\"user\"}", onDisk(id, "prefs"));
    }

    @Test
    void update_resultValueMutated_laterFindsKeepTheUpdatedValue() {
        String id = store.create(store.change().set("prefs", user()).build()).id();
        Session updated = store.update(id, "prefs",
                old -> ((ObjectNode) old).put("role", "editor")).orElseThrow();
        ((ObjectNode) updated.attribute("prefs")).put("role", "admin");
        assertEquals("{\"role\":\"editor\"}",
                store.find(id).orElseThrow().attribute("prefs").toString());
        assertEquals("{\"role\":\"editor\"}", onDisk(id, "prefs"));
    }

    @Test
    void set_valueMutatedAfterTheCommit_theCommittedStateKeepsTheValueAsSet() {
        String id = store.create(store.change().set("x", 0).build()).id();
        ObjectNode mine = user();
        Session committed = store.commit(id, store.change().set("prefs", mine).build())
                .orElseThrow();
        mine.put("role", "admin");
        assertEquals("{\"role\":\"user\"}", committed.attribute("prefs").toString());
        assertEquals("{\"role\":\"user\"}",
                store.find(id).orElseThrow().attribute("prefs").toString());
        store.commit(id, store.change().set("x", 1).build());
        assertEquals("{\"role\":\"user\"}", onDisk(id, "prefs"));
    }

    @Test
    void find_recordWithAJsonNodeFieldMutated_laterFindsKeepTheStoredValue() {
        String id = store.create(store.change().set("prefs", new Prefs(user())).build()).id();
        Prefs mine = (Prefs) store.find(id).orElseThrow().attribute("prefs");
        ((ObjectNode) mine.data()).put("role", "admin");
        Prefs seen = (Prefs) store.find(id).orElseThrow().attribute("prefs");
        assertEquals("{\"role\":\"user\"}", seen.data().toString());
    }

    @Test
    void find_nativeListAndMapMutated_laterFindsKeepTheStoredValues() {
        List<Object> list = new ArrayList<>(List.of(1, 2));
        String id = store.create(store.change().set("l", list).set("m", Map.of("a", 1)).build())
                .id();
        list.add(3); // the caller's own value after set
        Session s = store.find(id).orElseThrow();
        @SuppressWarnings("unchecked")
        List<Object> got = (List<Object>) s.attribute("l");
        got.add(99);
        @SuppressWarnings("unchecked")
        Map<String, Object> m = (Map<String, Object>) s.attribute("m");
        m.put("b", 2);
        Session again = store.find(id).orElseThrow();
        assertEquals(List.of(1, 2), again.attribute("l"));
        assertEquals(Map.of("a", 1), again.attribute("m"));
    }
}
