package dev.latchkey.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32C;

/**
 * The bytes of a session file, format 1. A file is one JSON document:
 *
 * <pre>
 * {"latchkey":1,"crc32c":"89abcdef","session":{"id":"...","created":1700000000000,
 *  "accessed":1700000000000,"maxInactive":1800000,"revision":3,"attributes":{"name":{"t":"s","v":"x"}}}}
 * </pre>
 *
 * The header has a fixed length, so the exact bytes of the {@code session} object can be cut out
 * and checked against the CRC-32C before anything in them is parsed. The reader also checks that
 * the id inside is the id the file was looked up by.
 *
 * <p>Thread-safety: stateless apart from the thread-safe mapper; thread-safe.
 */
final class RecordFormat {
    static final int VERSION = 1;
    private static final byte[] PREFIX = "{\"latchkey\":1,\"crc32c\":\"".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] MIDDLE = "\",\"session\":".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] SUFFIX = "}\n".getBytes(StandardCharsets.US_ASCII);
    private static final int HEADER = PREFIX.length + 8 + MIDDLE.length;
    private static final byte[] ANY_VERSION = "{\"latchkey\":".getBytes(StandardCharsets.US_ASCII);

    private final ObjectMapper mapper;

    RecordFormat(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    /** A file that cannot be read as the session it was looked up by. */
    static final class DamagedException extends Exception {
        private static final long serialVersionUID = 1L;
        /** True if the file is of a newer format: refused, but not moved aside. */
        final boolean newerFormat;

        DamagedException(String reason, boolean newerFormat) {
            super(reason, null, false, false);
            this.newerFormat = newerFormat;
        }
    }

    byte[] write(SessionRecord r) {
        ObjectNode session = JsonNodeFactory.instance.objectNode();
        session.put("id", r.id);
        session.put("created", r.created);
        session.put("accessed", r.accessed);
        session.put("maxInactive", r.maxInactive);
        session.put("revision", r.revision);
        ObjectNode attributes = session.putObject("attributes");
        attributes.setAll(r.attributes);
        byte[] body;
        try {
            body = mapper.writeValueAsBytes(session);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot write session " + r.id + " as JSON", e);
        }
        CRC32C crc = new CRC32C();
        crc.update(body);
        byte[] hex = String.format("%08x", crc.getValue()).getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[HEADER + body.length + SUFFIX.length];
        int at = 0;
        at = put(out, at, PREFIX);
        at = put(out, at, hex);
        at = put(out, at, MIDDLE);
        at = put(out, at, body);
        put(out, at, SUFFIX);
        return out;
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
                || !Arrays.equals(file, PREFIX.length + 8, HEADER, MIDDLE, 0, MIDDLE.length)
                || !Arrays.equals(file, file.length - SUFFIX.length, file.length, SUFFIX, 0,
                        SUFFIX.length)) {
            if (file.length > ANY_VERSION.length
                    && Arrays.equals(file, 0, ANY_VERSION.length, ANY_VERSION, 0,
                            ANY_VERSION.length)
                    && !isPrefixOrStartOfFormat1(file)) {
                throw new DamagedException("not format " + VERSION
                        + " (written by another version of Latchkey?)", true);
            }
            throw new DamagedException("not a Latchkey session file, or truncated", false);
        }
        long expectedCrc;
        try {
            expectedCrc = Long.parseLong(new String(file, PREFIX.length, 8,
                    StandardCharsets.US_ASCII), 16);
        } catch (NumberFormatException e) {
            throw new DamagedException("malformed checksum", false);
        }
        int bodyLength = file.length - HEADER - SUFFIX.length;
        CRC32C crc = new CRC32C();
        crc.update(file, HEADER, bodyLength);
        if (crc.getValue() != expectedCrc) {
            throw new DamagedException("checksum mismatch", false);
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

    /** Whether the file starts as format 1 does, or is a truncated start of it. */
    private static boolean isPrefixOrStartOfFormat1(byte[] file) {
        int n = Math.min(file.length, PREFIX.length);
        return Arrays.equals(file, 0, n, PREFIX, 0, n);
    }

    private static long number(JsonNode session, String field) throws DamagedException {
        JsonNode n = session.get(field);
        if (n == null || !n.canConvertToLong() || !n.isIntegralNumber()) {
            throw new DamagedException("field '" + field + "' missing or not an integer", false);
        }
        return n.longValue();
    }
}
