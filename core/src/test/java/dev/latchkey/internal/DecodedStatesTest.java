package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.StoreConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Reads of bytes already decoded (the lock-free {@code find}, the re-read under the lock, the
 * state this store just published) reuse the decoded state; anything that changed the file's
 * bytes, in another store (another process's view) or by hand, is decoded anew: a commit always
 * merges against what is on disk.
 */
final class DecodedStatesTest {
    @TempDir
    Path temp;
    private final MutableClock clock = MutableClock.atFixedStart();
    private FileSessionStore store;
    /** A second store on the same directory: its own memo, as another process has. */
    private FileSessionStore other;

    @BeforeEach
    void open() {
        StoreConfig config = StoreConfig.builder(temp.resolve("store")).clock(clock).build();
        store = FileSessionStore.open(config);
        other = FileSessionStore.open(config);
    }

    @AfterEach
    void close() {
        store.close();
        other.close();
    }

    private Path file(String id) {
        return temp.resolve("store").resolve("sessions").resolve(id.substring(0, 2)).resolve(id);
    }

    @Test
    void findAndCommit_unchangedFile_decodeNothingAfterTheFirstRead() {
        String id = store.create(store.change().set("a", "1").build()).id();
        long before = store.decodes();
        for (int i = 0; i < 5; i++) {
            Session found = store.find(id).orElseThrow();
            assertEquals(String.valueOf(i + 1), found.attribute("a"));
            store.commit(id, store.change().set("a", String.valueOf(i + 2)).touch().build());
        }
        assertEquals(before, store.decodes(), "find and the re-read under the lock read the bytes"
                + " this store published: nothing to decode");
        assertEquals("6", other.find(id).orElseThrow().attribute("a"));
        assertEquals(1, other.decodes(), "another store decodes the file itself");
    }

    /** The benchmarks' session: ten attributes of the kinds web apps keep, about 1 KiB. */
    static Map<String, Object> typicalSession() {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("user", "alice.example@example.com");
        a.put("userId", 48_213);
        a.put("roles", List.of("user", "editor", "reviewer"));
        a.put("locale", "en-GB");
        a.put("csrf", SessionIds.generate());
        a.put("deck", 7);
        a.put("lastPage", "/decks/7/cards?page=3&sort=due");
        a.put("prefs", Map.of("theme", "dark", "pageSize", 25, "showHints", true,
                "timezone", "Europe/London"));
        List<Object> history = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            history.add("/decks/" + (i % 4) + "/cards/" + (1000 + 37 * i));
        }
        a.put("history", history);
        a.put("cart", Map.of("items", List.of("plan-basic-12m", "deck-pack-french-a1",
                "deck-pack-french-a2"), "coupon", "WINTER-2026", "totalCents", 4_497));
        return a;
    }

    @Test
    void findAndCommit_typicalSessionOfTenAttributes_decodeNothingAfterTheFirstRead()
            throws Exception {
        var change = store.change();
        typicalSession().forEach(change::set);
        String id = store.create(change.build()).id();
        byte[] bytes = Files.readAllBytes(file(id));
        assertTrue(bytes.length > 700 && bytes.length < 1400, "about 1 KiB, was " + bytes.length);
        ValueCodec codec = new ValueCodec(StoreConfig.builder(temp).build());
        Map<String, JsonNode> encoded = new LinkedHashMap<>();
        typicalSession().forEach((name, value) -> encoded.put(name, codec.encode(name, value)));
        long charge = DecodedStates.charge(id, bytes, new SessionRecord(id, 0, 0, 0, 0, encoded));
        System.out.println("DecodedStatesTest: a typical session of " + bytes.length
                + " bytes is charged " + charge + " bytes");
        assertTrue(charge <= DecodedStates.ENTRY_BUDGET / 2, "charged " + charge);
        long before = store.decodes();
        for (int i = 0; i < 5; i++) {
            assertEquals(48_213, store.find(id).orElseThrow().attribute("userId"));
            store.commit(id, store.change().set("lastPage", "/decks/" + i).touch().build());
        }
        assertEquals(before, store.decodes(), "the typical session is kept in the memo");
        other.find(id).orElseThrow();
        other.find(id).orElseThrow();
        assertEquals(1, other.decodes(), "another store decodes it once, then reuses it");
    }

    @Test
    void commit_fileChangedBetweenFindAndCommit_mergesAgainstTheNewState() {
        String id = store.create(store.change().set("a", "1111").set("b", "x").build()).id();
        Session found = store.find(id).orElseThrow();
        assertEquals("1111", found.attribute("a"));
        // another process changes "a" to a value of the same length: same file size, other bytes
        other.commit(id, other.change().set("a", "2222").build());
        long before = store.decodes();
        Session committed = store.commit(id, store.change().set("b", "y").build()).orElseThrow();
        assertEquals(before + 1, store.decodes(), "the changed file is decoded");
        assertEquals(Map.of("a", "2222", "b", "y"), committed.attributes());
        assertEquals(Map.of("a", "2222", "b", "y"), other.find(id).orElseThrow().attributes());
        assertEquals(found.revision() + 2, committed.revision());
    }

    @Test
    void find_olderFileCopiedBack_readsTheOlderStateNotTheRemembered() throws Exception {
        String id = store.create(store.change().set("a", "1").build()).id();
        byte[] first = Files.readAllBytes(file(id));
        store.commit(id, store.change().set("a", "2").build());
        assertEquals("2", store.find(id).orElseThrow().attribute("a"));
        Files.write(file(id), first); // a replay of a valid older file (same MAC key)
        Session found = store.find(id).orElseThrow();
        assertEquals("1", found.attribute("a"));
        assertEquals(0, found.revision());
        Session committed = store.commit(id, store.change().set("b", "z").build()).orElseThrow();
        assertEquals(Map.of("a", "1", "b", "z"), committed.attributes());
    }

    @Test
    void find_rememberedFileDamagedByHand_isNoSessionAndQuarantined() throws Exception {
        String id = store.create(store.change().set("a", "1").build()).id();
        assertTrue(store.find(id).isPresent());
        byte[] bytes = Files.readAllBytes(file(id));
        bytes[bytes.length - 10] ^= 1; // one bit inside the MAC-covered body
        Files.write(file(id), bytes);
        assertFalse(store.find(id).isPresent());
        assertFalse(Files.exists(file(id)), "moved to quarantine");
        assertEquals(1, store.stats().quarantined());
    }

    @Test
    void invalidate_forgetsTheState_andAnotherStoresRecreationIsRead() {
        String id = store.create(store.change().set("a", "1").build()).id();
        assertTrue(store.find(id).isPresent());
        assertTrue(other.invalidate(id));
        assertFalse(store.find(id).isPresent());
        assertFalse(store.commit(id, store.change().set("a", "2").build()).isPresent());
    }

    @Test
    void encode_valuesThatSkipTheReadBack_areExactlyWhatTheReaderBuilds() throws Exception {
        ValueCodec codec = new ValueCodec(StoreConfig.builder(temp).build());
        String longString = "x".repeat(ValueCodec.SHORT_STRING);
        for (Object value : new Object[] {"", "plain", "\u00fc \uD83C\uDF89", "lone \uD800",
                "\u0000\"\\", longString, longString + "y", 0, -1, Integer.MIN_VALUE,
                Integer.MAX_VALUE, true, false}) {
            com.fasterxml.jackson.databind.JsonNode encoded = codec.encode("v", value);
            com.fasterxml.jackson.databind.JsonNode read = codec.mapper().readTree(
                    codec.mapper().writeValueAsBytes(encoded));
            assertEquals(read, encoded, String.valueOf(value));
            assertEquals(read.get("v").getNodeType(), encoded.get("v").getNodeType());
            assertEquals(read.get("v").numberType(), encoded.get("v").numberType());
            assertEquals(value, codec.decode("v", encoded));
        }
    }

    @Test
    void memo_answersOnlyTheSameIdAndTheSameBytes() {
        DecodedStates states = new DecodedStates();
        String id = SessionIds.generate();
        SessionRecord record = new SessionRecord(id, 1, 1, 0, 0, Map.of());
        byte[] bytes = {1, 2, 3};
        states.put(id, bytes, record);
        assertEquals(record, states.get(id, new byte[] {1, 2, 3}));
        assertEquals(null, states.get(id, new byte[] {1, 2, 4}));
        assertEquals(null, states.get(id, new byte[] {1, 2}));
        String another = id.substring(0, 42) + (id.charAt(42) == 'A' ? 'Q' : 'A');
        assertNotEquals(id, another);
        assertEquals(null, states.get(another, bytes), "same slot (same stripe), another id");
        states.remove(id);
        assertEquals(null, states.get(id, bytes));
        byte[] large = new byte[DecodedStates.ENTRY_BUDGET];
        states.put(id, large, record);
        assertEquals(null, states.get(id, large), "entries over the budget are not kept");
        assertArrayEquals(new byte[] {1, 2, 3}, bytes);
    }
}
