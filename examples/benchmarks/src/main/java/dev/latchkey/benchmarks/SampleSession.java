package dev.latchkey.benchmarks;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The session every workload uses: ten attributes of the kinds web apps keep (strings, numbers, a
 * list, maps), about 1 KiB in Latchkey's file. Only JSON-native, serializable values, so every
 * store can hold them as they are.
 */
final class SampleSession {
    /** The attribute every request reads. */
    static final String READ_ATTRIBUTE = "user";
    /** The attribute every request writes. */
    static final String WRITE_ATTRIBUTE = "lastPage";

    private static final SecureRandom RANDOM = new SecureRandom();

    private SampleSession() {
    }

    /** A fresh map of the ten attributes (callers may change it). */
    static Map<String, Object> attributes() {
        Map<String, Object> a = new LinkedHashMap<>();
        a.put("user", "alice.example@example.com");
        a.put("userId", 48_213);
        a.put("roles", new ArrayList<>(List.of("user", "editor", "reviewer")));
        a.put("locale", "en-GB");
        a.put("csrf", newId());
        a.put("deck", 7);
        a.put(WRITE_ATTRIBUTE, "/decks/7/cards?page=3&sort=due");
        Map<String, Object> prefs = new LinkedHashMap<>();
        prefs.put("theme", "dark");
        prefs.put("pageSize", 25);
        prefs.put("showHints", Boolean.TRUE);
        prefs.put("timezone", "Europe/London");
        a.put("prefs", prefs);
        List<Object> history = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            history.add("/decks/" + (i % 4) + "/cards/" + (1000 + 37 * i));
        }
        a.put("history", history);
        Map<String, Object> cart = new LinkedHashMap<>();
        cart.put("items", new ArrayList<>(List.of("plan-basic-12m", "deck-pack-french-a1",
                "deck-pack-french-a2")));
        cart.put("coupon", "WINTER-2026");
        cart.put("totalCents", 4_497);
        a.put("cart", cart);
        return a;
    }

    /** A random id of 43 URL-safe characters, as session ids are. */
    static String newId() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
