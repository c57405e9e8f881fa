package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.MutableClock;
import dev.latchkey.StoreConfig;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.IntFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * One store's memo ({@link DecodedStates}) holds at most {@code SLOTS * ENTRY_BUDGET} bytes of
 * heap, whatever the sessions' shapes: every slot is filled with a session of one shape charged
 * just under the budget, and the heap it retains is measured after a full GC.
 */
final class DecodedStatesMemoryTest {
    private static final long BOUND = (long) DecodedStates.SLOTS * DecodedStates.ENTRY_BUDGET;
    /** What a file adds around its attributes' JSON (id, times, revision, MAC), at most. */
    private static final int FILE_OVERHEAD = 512;

    @TempDir
    Path temp;
    private StoreConfig config;
    private FileSessionStore writer;
    /** One session per slot. */
    private final List<String> ids = new ArrayList<>();

    @BeforeEach
    void open() {
        config = StoreConfig.builder(temp.resolve("store")).clock(MutableClock.atFixedStart())
                .build();
        writer = FileSessionStore.open(config);
        Map<Integer, String> bySlot = new HashMap<>();
        while (bySlot.size() < DecodedStates.SLOTS) {
            String id = writer.create(writer.change().set("v", 0).build()).id();
            if (bySlot.putIfAbsent(SessionIds.stripe(id, DecodedStates.SLOTS), id) != null) {
                writer.invalidate(id);
            }
        }
        ids.addAll(bySlot.values());
    }

    @AfterEach
    void close() {
        writer.close();
    }

    private Path file(String id) {
        return temp.resolve("store").resolve("sessions").resolve(id.substring(0, 2)).resolve(id);
    }

    private static long usedHeap() {
        Runtime r = Runtime.getRuntime();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 3; i++) { // a full, stop-the-world collection each time
            System.gc();
            used = Math.min(used, r.totalMemory() - r.freeMemory());
        }
        return used;
    }

    /** The largest n whose value of n elements is charged under the budget. */
    private int largestKept(IntFunction<Object> shape) throws Exception {
        ValueCodec codec = new ValueCodec(config);
        int low = 0;
        int high = DecodedStates.ENTRY_BUDGET;
        while (low < high) {
            int n = (low + high + 1) / 2;
            JsonNode node = codec.encode("v", shape.apply(n));
            int json = codec.mapper().writeValueAsBytes(node).length;
            SessionRecord record = new SessionRecord(ids.get(0), 0, 0, 0, 0, Map.of("v", node));
            long charge = DecodedStates.charge(ids.get(0), new byte[json + FILE_OVERHEAD], record);
            if (charge <= DecodedStates.ENTRY_BUDGET) {
                low = n;
            } else {
                high = n - 1;
            }
        }
        return low;
    }

    /** Fills another store's memo with a value of this shape in every slot: the heap it holds. */
    private long heldByAFullMemo(String name, IntFunction<Object> shape) throws Exception {
        int n = largestKept(shape);
        Object value = shape.apply(n);
        for (String id : ids) {
            writer.commit(id, writer.change().set("v", value).build()).orElseThrow();
        }
        try (FileSessionStore reader = FileSessionStore.open(config)) {
            reader.find(ids.get(0)).orElseThrow(); // classes loaded, one slot filled
            long before = usedHeap();
            for (String id : ids) {
                reader.find(id).orElseThrow();
            }
            long held = (usedHeap() - before) * ids.size() / (ids.size() - 1);
            long decodes = reader.decodes();
            for (String id : ids) {
                reader.find(id).orElseThrow();
            }
            assertEquals(decodes, reader.decodes(), name + ": every slot is kept (n=" + n + ")");
            System.out.printf("DecodedStatesMemoryTest %s: n=%d, a full memo holds %.2f MiB"
                    + " (bound %.2f MiB)%n", name, n, held / 1048576.0, BOUND / 1048576.0);
            return held;
        }
    }

    private static IntFunction<Object> listOf(Object element) {
        return n -> {
            List<Object> list = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                list.add(element instanceof Map ? new HashMap<>()
                        : element instanceof List ? new ArrayList<>() : element);
            }
            return list;
        };
    }

    @Test
    void fullMemo_everyShapeChargedUnderTheBudget_holdsAtMostTheBound() throws Exception {
        Map<String, IntFunction<Object>> shapes = new LinkedHashMap<>();
        shapes.put("empty maps", listOf(Map.of()));
        shapes.put("empty lists", listOf(List.of()));
        shapes.put("zeros", listOf(0));
        shapes.put("longs", listOf(1L << 40));
        shapes.put("decimals", listOf(0.5));
        shapes.put("empty strings", listOf(""));
        shapes.put("one-letter strings", listOf("a"));
        shapes.put("map of distinct keys", n -> {
            Map<String, Object> map = new LinkedHashMap<>();
            for (int i = 0; i < n; i++) {
                map.put(Integer.toString(i, 36), 0);
            }
            return map;
        });
        shapes.put("one string", n -> "x".repeat(n));
        shapes.put("one non-Latin-1 string", n -> "\u20ac".repeat(n));
        long worst = 0;
        String worstShape = null;
        for (var shape : shapes.entrySet()) {
            long held = heldByAFullMemo(shape.getKey(), shape.getValue());
            if (held > worst) {
                worst = held;
                worstShape = shape.getKey();
            }
        }
        // 10% for the measurement (heap accounting, what a find leaves besides the entry)
        assertTrue(worst <= BOUND * 11 / 10, "a full memo of " + worstShape + " held "
                + worst / 1048576.0 + " MiB, more than the documented bound of "
                + BOUND / 1048576.0 + " MiB");
    }

    @Test
    void fullMemo_typicalSessions_holdAtMostTheirCharge() throws Exception {
        long charged = 0;
        for (String id : ids) {
            var change = writer.change();
            DecodedStatesTest.typicalSession().forEach(change::set);
            writer.commit(id, change.build()).orElseThrow();
        }
        try (FileSessionStore reader = FileSessionStore.open(config)) {
            reader.find(ids.get(0)).orElseThrow();
            long before = usedHeap();
            for (String id : ids) {
                reader.find(id).orElseThrow();
            }
            long held = (usedHeap() - before) * ids.size() / (ids.size() - 1);
            ValueCodec codec = new ValueCodec(config);
            for (String id : ids) {
                Map<String, JsonNode> encoded = new LinkedHashMap<>();
                DecodedStatesTest.typicalSession().forEach((name, value) ->
                        encoded.put(name, codec.encode(name, value)));
                charged += DecodedStates.charge(id, Files.readAllBytes(file(id)),
                        new SessionRecord(id, 0, 0, 0, 0, encoded));
            }
            System.out.printf("DecodedStatesMemoryTest typical sessions: a full memo holds %.2f"
                    + " MiB, charged %.2f MiB%n", held / 1048576.0, charged / 1048576.0);
            assertTrue(held <= charged * 11 / 10, "held " + held + " bytes, charged " + charged);
        }
    }

    @Test
    void find_fileOfManyTinyValues_isNotKept() {
        List<Object> value = new ArrayList<>();
        for (int i = 0; i < 2600; i++) {
            value.add(new HashMap<>()); // a file under 8 KiB whose tree is about 220 KiB
        }
        String id = ids.get(0);
        writer.commit(id, writer.change().set("v", value).build()).orElseThrow();
        try (FileSessionStore reader = FileSessionStore.open(config)) {
            reader.find(id).orElseThrow();
            reader.find(id).orElseThrow();
            assertEquals(2, reader.decodes(), "too large a tree to keep: decoded every time");
        }
    }
}
