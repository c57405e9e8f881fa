package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.StoreConfig;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Values that skip the read-back (Integer, Boolean, short strings) and values of the streamed
 * encoder: what a commit returns and what this store's memo answers must be what a fresh reader
 * (another store: another process) decodes, value and class.
 */
final class ValueRoundTripTest {
    @TempDir
    Path temp;

    private static Object deep(int levels) {
        Object v = "leaf";
        for (int i = 0; i < levels; i++) {
            v = List.of(v);
        }
        return v;
    }

    @Test
    void trickyValues_committedMemoAndFreshReadAgree() {
        List<Object> values = new ArrayList<>(List.of("\u0000", "\u2028\u2029", "\uFEFFbom",
                "\uFFFE\uFFFF", "\uD83D\uDE00", "\"\\/", "\r\n\t\b\f\u001f", "\u007F\u0080\u00ff",
                "</script>", "x".repeat(4095) + "\uD83D", "\uDC00lone low", "\uD83D\uDE00".repeat(2048),
                "a".repeat(4096), "", Integer.MIN_VALUE, Integer.MAX_VALUE, 0, -1, true, false,
                Long.MAX_VALUE, 5L, (short) 7, (byte) -3, 1e308, -0.0, Double.NaN,
                Double.NEGATIVE_INFINITY, 0.1f, BigInteger.TEN.pow(400),
                new BigDecimal("-1.000E-999"), 'q', deep(64), Map.of("\u0000k\u2028", List.of(1L,
                        2.5f, "\uFEFF"))));
        StoreConfig config = StoreConfig.builder(temp.resolve("store"))
                .clock(MutableClock.atFixedStart()).build();
        try (FileSessionStore store = FileSessionStore.open(config);
                FileSessionStore other = FileSessionStore.open(config)) {
            for (int i = 0; i < values.size(); i++) {
                Object v = values.get(i);
                String id = store.create(store.change().set("v", v).build()).id();
                Session committed = store.commit(id, store.change().set("w", v).build())
                        .orElseThrow();
                Session memo = store.find(id).orElseThrow();
                Session fresh = other.find(id).orElseThrow();
                for (String name : List.of("v", "w")) {
                    Object f = fresh.attribute(name);
                    String what = "#" + i + " " + name;
                    assertEquals(f, committed.attribute(name), what + " committed");
                    assertEquals(f, memo.attribute(name), what + " memo");
                    assertEquals(f.getClass(), memo.attribute(name).getClass(), what);
                    assertEquals(f.getClass(), committed.attribute(name).getClass(), what);
                    if (!(v instanceof Double && ((Double) v).isNaN())) {
                        assertEquals(v instanceof List || v instanceof Map ? f : v, f, what
                                + " round trip");
                    }
                }
            }
        }
    }
}
