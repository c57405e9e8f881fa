package dev.latchkey.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.StoreConfig;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One session's state as stored: times in epoch milliseconds, attributes in their encoded form.
 * Immutable; {@link #apply} returns a new record.
 */
final class SessionRecord {
    final String id;
    final long created;
    final long accessed;
    /** Milliseconds; zero or negative: never expires. */
    final long maxInactive;
    final long revision;
    /** Encoded attributes, unmodifiable. The nodes are never mutated after construction. */
    final Map<String, JsonNode> attributes;

    SessionRecord(String id, long created, long accessed, long maxInactive, long revision,
            Map<String, JsonNode> attributes) {
        this.id = id;
        this.created = created;
        this.accessed = accessed;
        this.maxInactive = maxInactive;
        this.revision = revision;
        this.attributes = Collections.unmodifiableMap(attributes);
    }

    /**
     * The longest interval kept: 10,000 years. Longer positive ones are refused where they are
     * given (config and change builders); a negative one is cut to -10,000 years (still "never
     * expires"), and so would be a longer one in a file (no overflow).
     */
    static final long MAX_INTERVAL_MILLIS = StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT.toMillis();

    /**
     * The stored form of a max-inactive interval: milliseconds, a positive interval at least 1 ms
     * (a positive interval never turns into "never expires" by rounding), every interval within
     * +/- {@link #MAX_INTERVAL_MILLIS}.
     */
    static long intervalMillis(Duration interval) {
        if (interval.isZero()) {
            return 0;
        }
        if (interval.compareTo(Duration.ofMillis(MAX_INTERVAL_MILLIS)) >= 0) {
            return MAX_INTERVAL_MILLIS;
        }
        if (interval.compareTo(Duration.ofMillis(-MAX_INTERVAL_MILLIS)) <= 0) {
            return -MAX_INTERVAL_MILLIS;
        }
        long millis = interval.toMillis();
        return interval.isNegative() ? millis : Math.max(1, millis);
    }

    boolean isExpired(long now) {
        return maxInactive > 0 && now - accessed >= maxInactive;
    }

    /** The record after a change committed at {@code now}: revision + 1. */
    SessionRecord apply(ChangeImpl change, long now) {
        Map<String, JsonNode> next = new LinkedHashMap<>(attributes);
        for (String name : change.removedNames()) {
            next.remove(name);
        }
        next.putAll(change.encodedSets());
        long interval = change.maxInactiveInterval().map(SessionRecord::intervalMillis)
                .orElse(maxInactive);
        return new SessionRecord(id, created, change.touches() ? Math.max(now, accessed) : accessed,
                interval, revision + 1, next);
    }

    /** The same state under another id (for a change of id). */
    SessionRecord withId(String newId) {
        return new SessionRecord(newId, created, accessed, maxInactive, revision + 1,
                new LinkedHashMap<>(attributes));
    }
}
