package dev.latchkey.internal;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.Session;
import java.time.Duration;
import java.time.Instant;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** A {@link Session} over one immutable {@link SessionRecord}. */
final class SnapshotSession implements Session {
    private final SessionRecord record;
    private final ValueCodec codec;

    SnapshotSession(SessionRecord record, ValueCodec codec) {
        this.record = record;
        this.codec = codec;
    }

    @Override
    public String id() {
        return record.id;
    }

    @Override
    public Instant creationTime() {
        return Instant.ofEpochMilli(record.created);
    }

    @Override
    public Instant lastAccessedTime() {
        return Instant.ofEpochMilli(record.accessed);
    }

    @Override
    public Duration maxInactiveInterval() {
        return Duration.ofMillis(record.maxInactive);
    }

    @Override
    public Optional<Instant> expiryTime() {
        return record.maxInactive > 0
                ? Optional.of(Instant.ofEpochMilli(record.accessed + record.maxInactive))
                : Optional.empty();
    }

    @Override
    public long revision() {
        return record.revision;
    }

    @Override
    public Set<String> attributeNames() {
        return record.attributes.keySet();
    }

    @Override
    public Object attribute(String name) {
        JsonNode node = record.attributes.get(name);
        return node == null ? null : codec.decode(name, node);
    }

    @Override
    public Map<String, Object> attributes() {
        Map<String, Object> values = new LinkedHashMap<>();
        record.attributes.forEach((name, node) -> values.put(name, codec.decode(name, node)));
        return Collections.unmodifiableMap(values);
    }

    @Override
    public String toString() {
        return "Session[id=" + record.id.substring(0, 6) + "…, revision=" + record.revision
                + ", attributes=" + record.attributes.keySet() + "]";
    }
}
