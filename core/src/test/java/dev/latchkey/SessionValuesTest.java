package dev.latchkey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.testtypes.Color;
import dev.latchkey.testtypes.Money;
import dev.latchkey.testtypes.Point;
import dev.latchkey.testtypes.Point3;
import dev.latchkey.testtypes.sub.Deep;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Attribute values: what {@link SessionChange.Builder#set} stores, what comes back, and what it
 * refuses. Every value is read back by {@link SessionStore#find}, that is, from the file.
 */
final class SessionValuesTest {
    @TempDir
    Path dir;
    private final MutableClock clock = MutableClock.atFixedStart();
    private final List<SessionStore> stores = new ArrayList<>();

    private SessionStore open(UnaryOperator<StoreConfig.Builder> customize) {
        SessionStore store = SessionStore.open(customize.apply(StoreConfig.builder(dir).clock(clock))
                .build());
        stores.add(store);
        return store;
    }

    private SessionStore plain() {
        return open(b -> b);
    }

    @AfterEach
    void close() {
        stores.forEach(SessionStore::close);
    }

    /**
     * Stores a value, reads it back from disk: through a second store on the same directory, which
     * has not seen the value (the writing store answers a read of the bytes it wrote from memory,
     * and that answer must be the same).
     */
    private Object roundTrip(SessionStore store, Object value) {
        String id = store.create(store.change().set("v", value).build()).id();
        SessionStore reader = SessionStore.open(store.config());
        stores.add(reader);
        Object fromFile = reader.find(id).orElseThrow().attribute("v");
        Object remembered = store.find(id).orElseThrow().attribute("v");
        assertEquals(fromFile == null ? null : fromFile.getClass(),
                remembered == null ? null : remembered.getClass(), "the writer's own read");
        assertEquals(fromFile, remembered, "the writer's own read");
        return fromFile;
    }

    static Stream<Arguments> jsonNativeValues() {
        return Stream.of("", "plain", "ünïcødé ✓ \uD83C\uDF89", "lone \uD800 surrogate", "\u0000\"\\",
                Boolean.TRUE, Boolean.FALSE,
                0, Integer.MIN_VALUE, Integer.MAX_VALUE,
                0L, 7L, Long.MIN_VALUE, Long.MAX_VALUE,
                (short) 0, Short.MIN_VALUE, Short.MAX_VALUE,
                (byte) 0, Byte.MIN_VALUE, Byte.MAX_VALUE,
                0.0, -0.0, 0.1, 1e300, -Double.MAX_VALUE, Double.MIN_VALUE,
                Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY,
                0.0f, -0.0f, 0.1f, Float.MAX_VALUE, Float.MIN_VALUE,
                Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY,
                BigInteger.ZERO, BigInteger.ONE, BigInteger.TWO.pow(200).negate(),
                new BigDecimal("1.10"), new BigDecimal("1E+1000"), new BigDecimal("-1E-1000"),
                new BigDecimal("123456789012345678901234567890.12345678901234567890"),
                BigDecimal.ZERO, new BigDecimal("0.000"),
                'x', '\u00e9', '\u0000', '"', '\uDC00')
                .map(v -> Arguments.of(v.getClass().getSimpleName(), v));
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("jsonNativeValues")
    void set_jsonNativeTopLevelValue_comesBackWithExactClassAndValue(String type, Object value) {
        Object back = roundTrip(plain(), value);
        assertEquals(value.getClass(), back.getClass(), type);
        assertEquals(value, back, type);
    }

    @Test
    void set_bigDecimal_keepsEveryDigitAndTheScale() {
        SessionStore store = plain();
        BigDecimal value = new BigDecimal("3.14159265358979323846264338327950288419716939937510");
        BigDecimal back = (BigDecimal) roundTrip(store, value);
        assertEquals(value.unscaledValue(), back.unscaledValue());
        assertEquals(value.scale(), back.scale());
    }

    @Test
    void set_listsAndMaps_comeBackAsArrayListAndLinkedHashMapInOrder() {
        SessionStore store = plain();
        Map<String, Object> ordered = new LinkedHashMap<>();
        ordered.put("z", 1);
        ordered.put("a", List.of("x", Map.of("deep", true)));
        ordered.put("m", null);
        Object map = roundTrip(store, ordered);
        assertEquals(LinkedHashMap.class, map.getClass());
        assertEquals(ordered, map);
        assertEquals(List.of("z", "a", "m"), new ArrayList<>(((Map<?, ?>) map).keySet()));
        assertEquals(ArrayList.class, ((Map<?, ?>) map).get("a").getClass());

        Object list = roundTrip(store, Arrays.asList("b", null, List.of(), Map.of()));
        assertEquals(ArrayList.class, list.getClass());
        assertEquals(Arrays.asList("b", null, List.of(), Map.of()), list);
    }

    /** Nested numbers come back as JSON reads them: Integer, Long, BigInteger or Double. */
    @Test
    void set_nestedNumbers_comeBackAsDocumented() {
        SessionStore store = plain();
        List<Object> in = List.of(1, 5L, Long.MAX_VALUE, (short) 3, (byte) -4, BigInteger.ONE,
                BigInteger.TWO.pow(100), 1.5, 0.5f, 0.1f, new BigDecimal("2.5"), 'c', true);
        List<Object> expected = List.of(1, 5, Long.MAX_VALUE, 3, -4, 1,
                BigInteger.TWO.pow(100), 1.5, 0.5, 0.1, 2.5, "c", true);
        Object back = roundTrip(store, in);
        assertEquals(expected, back);
        for (int i = 0; i < expected.size(); i++) {
            assertEquals(expected.get(i).getClass(), ((List<?>) back).get(i).getClass(),
                    "element " + i);
        }
        Object inMap = roundTrip(store, Map.of("n", 5L));
        assertEquals(Integer.class, ((Map<?, ?>) inMap).get("n").getClass());
    }

    /**
     * "Two snapshots of one session with the same revision have the same content": the snapshot
     * that commit returns must decode nested values as a later find does.
     */
    @Test
    void commit_returnedSnapshot_decodesNestedNumbersAsFindDoes() {
        SessionStore store = plain();
        String id = store.create().id();
        List<Object> value = List.of(5L, 0.1f, BigInteger.ONE, Map.of("n", 7L));
        Session committed = store.commit(id, store.change().set("v", value).build()).orElseThrow();
        Session found = store.find(id).orElseThrow();
        assertEquals(found.revision(), committed.revision());
        assertEquals(found.attribute("v"), committed.attribute("v"));
        Session created = store.create(store.change().set("v", value).build());
        assertEquals(store.find(created.id()).orElseThrow().attribute("v"), created.attribute("v"));
    }

    @Test
    void set_nonFiniteNumberInsideListOrMap_isRefused() {
        SessionStore store = plain();
        for (Object value : List.of(List.of(Double.NaN), Map.of("k", Float.POSITIVE_INFINITY),
                List.of(List.of(Double.NEGATIVE_INFINITY)))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> store.change().set("nums", value));
            assertTrue(e.getMessage().contains("'nums'"), e.getMessage());
        }
    }

    /**
     * A nested BigDecimal comes back as a Double; one beyond the range of a double would come back
     * as infinity (and, after the next commit rewrote it, as the string "Infinity"), so it is
     * refused like a nested infinity.
     */
    @Test
    void set_nestedBigDecimalBeyondDoubleRange_isRefusedOrSurvivesCommits() {
        SessionStore store = plain();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.change().set("big", List.of(new BigDecimal("1E+400"))));
        assertTrue(e.getMessage().contains("'big'"), e.getMessage());
    }

    /**
     * A value the store would write but could not read back (Jackson reads numbers of at most
     * 1000 digits) must be refused when it is set: written, it made the whole session "damaged",
     * so it was quarantined with every other attribute.
     */
    @Test
    void set_numberTooLongToReadBack_isRefusedAndSessionSurvives() {
        SessionStore store = plain();
        String id = store.create(store.change().set("keep", "me").build()).id();
        BigInteger huge = BigInteger.TWO.pow(4000);
        for (Object value : List.of(huge, List.of(huge), Map.of("k", huge))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> store.change().set("huge", value));
            assertTrue(e.getMessage().contains("'huge'"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> store.update(id, "huge", v -> value));
        }
        assertEquals("me", store.find(id).orElseThrow().attribute("keep"));
        // a BigDecimal keeps its digits as text, so it may be that long
        BigDecimal longDecimal = new BigDecimal(huge, 7);
        assertEquals(longDecimal, roundTrip(store, longDecimal));
    }

    // ---- allowed types ----

    @Test
    void set_allowedRecordAndEnum_comeBackWithTheirClass() {
        SessionStore store = open(b -> b.allowTypes(Money.class, Color.class));
        Money money = new Money("EUR", 1234);
        Object back = roundTrip(store, money);
        assertEquals(Money.class, back.getClass());
        assertEquals(money, back);
        assertSame(Color.RED, roundTrip(store, Color.RED));
        assertSame(Color.SPECIAL, roundTrip(store, Color.SPECIAL));
    }

    @Test
    void set_classInAllowedPackage_comesBackButSubpackageIsRefused() {
        SessionStore store = open(b -> b.allowPackages("dev.latchkey.testtypes"));
        assertEquals(new Money("USD", 5), roundTrip(store, new Money("USD", 5)));
        assertEquals(new Point(1, 2), roundTrip(store, new Point(1, 2)));
        assertSame(Color.GREEN, roundTrip(store, Color.GREEN));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.change().set("deep", new Deep("x")));
        assertTrue(e.getMessage().contains(Deep.class.getName()), e.getMessage());
    }

    @Test
    void set_subclassOfAllowedType_isRefused() {
        SessionStore store = open(b -> b.allowTypes(Point.class));
        assertEquals(new Point(3, 4), roundTrip(store, new Point(3, 4)));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.change().set("p", new Point3()));
        assertTrue(e.getMessage().contains(Point3.class.getName()), e.getMessage());
    }

    // ---- refused values ----

    static Stream<Arguments> refusedValues() {
        List<Object> selfContaining = new ArrayList<>();
        selfContaining.add("a");
        selfContaining.add(selfContaining);
        Map<String, Object> selfMap = new HashMap<>();
        selfMap.put("me", List.of(selfMap));
        Map<Object, Object> nullKey = new HashMap<>();
        nullKey.put(null, 1);
        Object deep = "bottom";
        for (int i = 0; i < 100; i++) {
            deep = List.of(deep);
        }
        return Stream.of(
                Arguments.of("java.util.Date", new Date()),
                Arguments.of("java.lang.Thread", Thread.currentThread()),
                Arguments.of("[Ljava.lang.Object;", new Object[] {"a"}),
                Arguments.of("[I", new int[] {1}),
                Arguments.of("java.util.HashSet", new HashSet<>(List.of("a"))),
                Arguments.of("java.util.Optional", Optional.of("a")),
                Arguments.of("java.lang.Object", new Object()),
                Arguments.of(Money.class.getName(), new Money("EUR", 1)),
                Arguments.of(Color.class.getName(), Color.RED),
                Arguments.of("java.lang.StringBuilder", new StringBuilder("sb")),
                Arguments.of("java.lang.Integer", Map.of(1, "x")),
                Arguments.of("null", nullKey),
                Arguments.of("java.util.Date", List.of("ok", new Date())),
                Arguments.of("java.lang.Thread", Map.of("k", List.of(Thread.currentThread()))),
                Arguments.of(Money.class.getName(), List.of(new Money("EUR", 1))),
                Arguments.of("java.util.HashSet", Map.of("set", new HashSet<>())),
                Arguments.of("itself", selfContaining),
                Arguments.of("itself", selfMap),
                Arguments.of("deeper", deep));
    }

    @ParameterizedTest(name = "{index}: {0}")
    @MethodSource("refusedValues")
    void set_unstorableValue_isRefusedAtOnceNamingAttributeAndType(String named, Object value) {
        SessionStore store = plain();
        String id = store.create().id();
        SessionChange.Builder builder = store.change();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder.set("attr", value));
        assertTrue(e.getMessage().contains("'attr'"), e.getMessage());
        assertTrue(e.getMessage().contains(named), e.getMessage());
        assertTrue(builder.build().isEmpty(), "a refused value must not be in the change");
        assertThrows(IllegalArgumentException.class, () -> store.update(id, "attr", v -> value));
        assertEquals(0, store.find(id).orElseThrow().revision());
    }

    // ---- values are copied when set ----

    @Test
    void set_valueMutatedAfterSet_committedValueUnchanged() {
        SessionStore store = open(b -> b.allowTypes(Point.class));
        List<Object> list = new ArrayList<>(List.of("a"));
        Map<String, Object> map = new HashMap<>(Map.of("k", "v"));
        Point point = new Point(1, 1);
        SessionChange change = store.change().set("list", list).set("map", map).set("point", point)
                .build();
        list.add("b");
        map.put("k", "changed");
        point.x = 99;
        String id = store.create(change).id();
        Session s = store.find(id).orElseThrow();
        assertEquals(List.of("a"), s.attribute("list"));
        assertEquals(Map.of("k", "v"), s.attribute("map"));
        assertEquals(new Point(1, 1), s.attribute("point"));
    }

    // ---- stores that disagree about allowed types ----

    @Test
    void attribute_typeAllowedByWriterButNotByReader_throwsIllegalStateExceptionOnAccessOnly() {
        SessionStore writer = open(b -> b.allowTypes(Money.class));
        SessionStore reader = plain();
        String id = writer.create(writer.change().set("money", new Money("EUR", 3))
                .set("name", "alice").build()).id();

        Session s = reader.find(id).orElseThrow(); // the session itself is fine
        assertEquals("alice", s.attribute("name"));
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> s.attribute("money"));
        assertTrue(e.getMessage().contains(Money.class.getName()), e.getMessage());
        assertThrows(IllegalStateException.class, s::attributes);

        // the reader can still change other attributes without harming the value it cannot read
        reader.commit(id, reader.change().set("name", "bob").build()).orElseThrow();
        Session again = writer.find(id).orElseThrow();
        assertEquals(new Money("EUR", 3), again.attribute("money"));
        assertEquals("bob", again.attribute("name"));
    }
}
