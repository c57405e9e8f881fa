package dev.latchkey.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.StoreConfig;
import java.time.Duration;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/** A change whose values were encoded when they were set. Immutable. */
final class ChangeImpl implements SessionChange {
    private final Map<String, JsonNode> sets;
    private final Set<String> removes;
    private final boolean touch;
    private final Duration maxInactiveInterval;
    /** The revision the change was made from ({@code basedOn}), or -1 if not given. */
    private final long basedOnRevision;

    private ChangeImpl(Map<String, JsonNode> sets, Set<String> removes, boolean touch,
            Duration maxInactiveInterval) {
        this(sets, removes, touch, maxInactiveInterval, -1);
    }

    private ChangeImpl(Map<String, JsonNode> sets, Set<String> removes, boolean touch,
            Duration maxInactiveInterval, long basedOnRevision) {
        this.sets = Collections.unmodifiableMap(new LinkedHashMap<>(sets));
        this.removes = Collections.unmodifiableSet(new LinkedHashSet<>(removes));
        this.touch = touch;
        this.maxInactiveInterval = maxInactiveInterval;
        this.basedOnRevision = basedOnRevision;
    }

    /** Whether this change was made from a state older than {@code onDisk}: a concurrent merge. */
    boolean metConcurrentChange(SessionRecord onDisk) {
        return basedOnRevision >= 0 && onDisk.revision > basedOnRevision;
    }

    /** Unwraps a change given to a store, refusing changes of other implementations. */
    static ChangeImpl of(SessionChange change) {
        Objects.requireNonNull(change, "change");
        if (change instanceof ChangeImpl) {
            return (ChangeImpl) change;
        }
        throw new IllegalArgumentException("this change was not built by SessionStore.change() of"
                + " a Latchkey file store: " + change.getClass().getName());
    }

    static ChangeImpl singleSet(String name, JsonNode encoded) {
        return encoded == null ? new ChangeImpl(Map.of(), Set.of(name), false, null)
                : new ChangeImpl(Map.of(name, encoded), Set.of(), false, null);
    }

    Map<String, JsonNode> encodedSets() {
        return sets;
    }

    @Override
    public Set<String> setNames() {
        return sets.keySet();
    }

    @Override
    public Set<String> removedNames() {
        return removes;
    }

    @Override
    public boolean touches() {
        return touch;
    }

    @Override
    public Optional<Duration> maxInactiveInterval() {
        return Optional.ofNullable(maxInactiveInterval);
    }

    @Override
    public String toString() {
        return "SessionChange[set=" + sets.keySet() + ", removed=" + removes + ", touch=" + touch
                + ", maxInactiveInterval=" + maxInactiveInterval + "]";
    }

    /** The builder of {@link dev.latchkey.SessionStore#change()}. */
    static final class Builder implements SessionChange.Builder {
        private final ValueCodec codec;
        private final Map<String, JsonNode> sets = new LinkedHashMap<>();
        private final Set<String> removes = new LinkedHashSet<>();
        private boolean touch;
        private Duration maxInactiveInterval;
        private long basedOnRevision = -1;

        Builder(ValueCodec codec) {
            this.codec = codec;
        }

        @Override
        public Builder set(String name, Object value) {
            ValueCodec.checkName(name);
            if (value == null) {
                return remove(name);
            }
            JsonNode encoded = codec.encode(name, value);
            removes.remove(name);
            sets.put(name, encoded);
            return this;
        }

        @Override
        public Builder remove(String name) {
            ValueCodec.checkName(name);
            sets.remove(name);
            removes.add(name);
            return this;
        }

        @Override
        public Builder touch() {
            touch = true;
            return this;
        }

        @Override
        public Builder maxInactiveInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            if (interval.compareTo(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT) > 0) {
                throw new IllegalArgumentException("maxInactiveInterval must be at most "
                        + StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT.toSeconds() + " s (10,000 years;"
                        + " zero or negative: never expire), was " + interval.getSeconds() + " s");
            }
            this.maxInactiveInterval = interval;
            return this;
        }

        @Override
        public Builder basedOn(Session loaded) {
            this.basedOnRevision = Objects.requireNonNull(loaded, "loaded").revision();
            return this;
        }

        @Override
        public SessionChange build() {
            return new ChangeImpl(sets, removes, touch, maxInactiveInterval, basedOnRevision);
        }
    }
}
