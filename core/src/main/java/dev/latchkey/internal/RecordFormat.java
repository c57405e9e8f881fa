package dev.latchkey.internal;

import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.JsonSerializable;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializerProvider;
import com.fasterxml.jackson.databind.jsontype.TypeSerializer;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Mac;

/**
 * The bytes of a session file, format 1. A file is one JSON document:
 *
 * <pre>
 * {"latchkey":1,"key":"89abcdef","mac":"(64 hex digits)","session":{"id":"...",
 *  "created":1700000000000,"accessed":1700000000000,"maxInactive":1800000,"revision":3,
 *  "attributes":{"name":{"t":"s","v":"x"}}}}
 * </pre>
 *
 * {@code mac} is HMAC-SHA256, under the key whose {@linkplain MacKeys key id} is {@code key}, of
 * {@code "latchkey 1\0" + ID + "\0" + SESSION}, where ID is the id the file is looked up by and
 * SESSION the exact bytes of the {@code session} object. The header has a fixed length, so those
 * bytes are cut out and verified (in constant time) before any of them is parsed: a file planted
 * or edited by someone without the key, or a valid file of another session copied to this
 * session's name, fails verification. Binding the id matters: without it a file copied under
 * another name would verify. The reader then also checks that the id inside is that id.
 *
 * <p>Thread-safety: stateless apart from the thread-safe mapper and keys; thread-safe.
 */
final class RecordFormat {
    static final int VERSION = 1;
    private static final byte[] PREFIX = "{\"latchkey\":1,\"key\":\""
            .getBytes(StandardCharsets.US_ASCII);
    private static final byte[] AFTER_KEY = "\",\"mac\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] AFTER_MAC = "\",\"session\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SUFFIX = "}\n".getBytes(StandardCharsets.US_ASCII);
    private static final int KEY_AT = PREFIX.length;
    private static final int MAC_AT = KEY_AT + MacKeys.ID_CHARS + AFTER_KEY.length;
    private static final int HEADER = MAC_AT + 2 * MacKeys.MAC_BYTES + AFTER_MAC.length;
    private static final byte[] ANY_VERSION = "{\"latchkey\":".getBytes(StandardCharsets.US_ASCII);
    /** What the MAC covers before the id: the format, so no MAC of this format fits another. */
    private static final byte[] MAC_DOMAIN = "latchkey 1\0".getBytes(StandardCharsets.US_ASCII);
    private static final HexFormat HEX = HexFormat.of();

    private final ObjectMapper mapper;
    private final MacKeys keys;

    RecordFormat(ObjectMapper mapper, MacKeys keys) {
        this.mapper = mapper;
        this.keys = keys;
    }

    /** A file that cannot be read as the session it was looked up by. */
    static final class DamagedException extends Exception {
        private static final long serialVersionUID = 1L;
        /**
         * True if the file may be valid for another process (another format version, or a MAC key
         * this store is not configured with): refused, but left in place, so one misconfigured or
         * newer process cannot move every session aside.
         */
        final boolean leaveInPlace;

        DamagedException(String reason, boolean leaveInPlace) {
            super(reason, null, false, false);
            this.leaveInPlace = leaveInPlace;
        }
    }

    byte[] write(SessionRecord r) {
        byte[] body;
        try {
            body = mapper.writeValueAsBytes(new Body(r));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write " + FileSessionStore.describe(r.id)
                    + " as JSON", e);
        }
        MacKeys.Key key = keys.signing();
        byte[] mac = mac(key, r.id, body, 0, body.length);
        byte[] out = new byte[HEADER + body.length + SUFFIX.length];
        int at = 0;
        at = put(out, at, PREFIX);
        at = put(out, at, key.id.getBytes(StandardCharsets.US_ASCII));
        at = put(out, at, AFTER_KEY);
        at = put(out, at, HEX.formatHex(mac).getBytes(StandardCharsets.US_ASCII));
        at = put(out, at, AFTER_MAC);
        at = put(out, at, body);
        put(out, at, SUFFIX);
        return out;
    }

    /**
     * The {@code session} object of a record, written straight to the generator: the same bytes
     * as the tree {@code {"id":..,"created":..,"accessed":..,"maxInactive":..,"revision":..,
     * "attributes":{..}}} written by the mapper (each attribute's node serializes itself, as in
     * an {@code ObjectNode}), without building that tree for every commit.
     */
    private static final class Body extends JsonSerializable.Base {
        private final SessionRecord r;

        Body(SessionRecord r) {
            this.r = r;
        }

        @Override
        public void serialize(JsonGenerator g, SerializerProvider provider) throws IOException {
            g.writeStartObject();
            g.writeStringField("id", r.id);
            g.writeNumberField("created", r.created);
            g.writeNumberField("accessed", r.accessed);
            g.writeNumberField("maxInactive", r.maxInactive);
            g.writeNumberField("revision", r.revision);
            g.writeFieldName("attributes");
            g.writeStartObject();
            for (Map.Entry<String, JsonNode> e : r.attributes.entrySet()) {
                g.writeFieldName(e.getKey());
                ((JsonSerializable) e.getValue()).serialize(g, provider);
            }
            g.writeEndObject();
            g.writeEndObject();
        }

        @Override
        public void serializeWithType(JsonGenerator g, SerializerProvider provider,
                TypeSerializer typeSer) throws IOException {
            serialize(g, provider);
        }
    }

    /** The {@code session} object as a tree written by the mapper: what {@link Body} matches. */
    byte[] bodyAsTree(SessionRecord r) throws JsonProcessingException {
        ObjectNode session = JsonNodeFactory.instance.objectNode();
        session.put("id", r.id);
        session.put("created", r.created);
        session.put("accessed", r.accessed);
        session.put("maxInactive", r.maxInactive);
        session.put("revision", r.revision);
        session.putObject("attributes").setAll(r.attributes);
        return mapper.writeValueAsBytes(session);
    }

    /** The {@code session} object as {@link #write} writes it (for tests). */
    byte[] body(SessionRecord r) throws JsonProcessingException {
        return mapper.writeValueAsBytes(new Body(r));
    }

    private static byte[] mac(MacKeys.Key key, String id, byte[] body, int offset, int length) {
        Mac mac = key.mac();
        mac.update(MAC_DOMAIN);
        mac.update(id.getBytes(StandardCharsets.US_ASCII)); // ids are ASCII without NUL
        mac.update((byte) 0);
        mac.update(body, offset, length);
        return mac.doFinal();
    }

    private static int put(byte[] out, int at, byte[] part) {
        System.arraycopy(part, 0, out, at, part.length);
        return at + part.length;
    }

    SessionRecord read(byte[] file, String expectedId) throws DamagedException {
        if (file.length == 0) {
            throw new DamagedException("empty file", false);
        }
        if (file.length < HEADER + SUFFIX.length + 2
                || !Arrays.equals(file, 0, PREFIX.length, PREFIX, 0, PREFIX.length)
                || !Arrays.equals(file, MAC_AT - AFTER_KEY.length, MAC_AT, AFTER_KEY, 0,
                        AFTER_KEY.length)
                || !Arrays.equals(file, HEADER - AFTER_MAC.length, HEADER, AFTER_MAC, 0,
                        AFTER_MAC.length)
                || !Arrays.equals(file, file.length - SUFFIX.length, file.length, SUFFIX, 0,
                        SUFFIX.length)) {
            String version = versionOf(file);
            if (version != null && !version.equals(String.valueOf(VERSION))) {
                throw new DamagedException("format " + version + ", not " + VERSION
                        + " (written by another version of Latchkey?)", true);
            }
            throw new DamagedException("not a Latchkey session file, or truncated", false);
        }
        String keyId = new String(file, KEY_AT, MacKeys.ID_CHARS, StandardCharsets.US_ASCII);
        MacKeys.Key key = keys.find(keyId);
        if (key == null) {
            throw new DamagedException("MAC mismatch: signed with key " + printable(keyId)
                    + ", which this store does not have (it has " + keys.ids() + "); configure"
                    + " that key (previousMacKeys) if it is a retired one", true);
        }
        byte[] expected;
        try {
            expected = HEX.parseHex(new String(file, MAC_AT, 2 * MacKeys.MAC_BYTES,
                    StandardCharsets.US_ASCII));
        } catch (IllegalArgumentException e) {
            throw new DamagedException("MAC mismatch: the MAC is not hex", false);
        }
        int bodyLength = file.length - HEADER - SUFFIX.length;
        if (!MacKeys.same(expected, mac(key, expectedId, file, HEADER, bodyLength))) {
            throw new DamagedException("MAC mismatch: edited, planted, or copied from another"
                    + " session", false);
        }
        JsonNode session;
        try {
            session = mapper.readTree(file, HEADER, bodyLength);
        } catch (IOException e) {
            throw new DamagedException("malformed JSON: " + e.getMessage(), false);
        }
        if (session == null || !session.isObject()) {
            throw new DamagedException("session is not a JSON object", false);
        }
        JsonNode id = session.get("id");
        if (id == null || !id.isTextual() || !id.textValue().equals(expectedId)) {
            throw new DamagedException("the file names another session", false);
        }
        JsonNode attributes = session.get("attributes");
        if (attributes == null || !attributes.isObject()) {
            throw new DamagedException("attributes missing", false);
        }
        Map<String, JsonNode> map = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : attributes.properties()) {
            JsonNode value = e.getValue();
            if (!value.isObject() || value.get("t") == null || value.get("v") == null) {
                throw new DamagedException("attribute '" + e.getKey() + "' malformed", false);
            }
            map.put(e.getKey(), value);
        }
        return new SessionRecord(expectedId, number(session, "created"),
                number(session, "accessed"), number(session, "maxInactive"),
                number(session, "revision"), map);
    }

    /** The digits after <code>{"latchkey":</code>, or null if the file does not start so. */
    private static String versionOf(byte[] file) {
        if (file.length <= ANY_VERSION.length
                || !Arrays.equals(file, 0, ANY_VERSION.length, ANY_VERSION, 0,
                        ANY_VERSION.length)) {
            return null;
        }
        int end = ANY_VERSION.length;
        while (end < file.length && end < ANY_VERSION.length + 9 && file[end] >= '0'
                && file[end] <= '9') {
            end++;
        }
        return end == ANY_VERSION.length ? null
                : new String(file, ANY_VERSION.length, end - ANY_VERSION.length,
                        StandardCharsets.US_ASCII);
    }

    /** A key id from a file, fit for a log line whatever the file holds. */
    private static String printable(String keyId) {
        return keyId.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f')
                ? keyId : "(not a key id)";
    }

    private static long number(JsonNode session, String field) throws DamagedException {
        JsonNode n = session.get(field);
        if (n == null || !n.canConvertToLong() || !n.isIntegralNumber()) {
            throw new DamagedException("field '" + field + "' missing or not an integer", false);
        }
        return n.longValue();
    }
}
