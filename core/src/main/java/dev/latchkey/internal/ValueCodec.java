package dev.latchkey.internal;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.StreamWriteConstraints;
import com.fasterxml.jackson.core.exc.StreamConstraintsException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JavaType;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.cfg.JsonNodeFeature;
import com.fasterxml.jackson.databind.cfg.MapperConfig;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.databind.jsontype.PolymorphicTypeValidator;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.latchkey.StoreConfig;
import java.io.IOException;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Turns attribute values into JSON trees and back, by the allow-list of a {@link StoreConfig}.
 *
 * <p>An encoded attribute is {@code {"t": TAG, "v": JSON}}. TAG is a short name for a JSON-native
 * top-level type ({@code s} String, {@code i} Integer, ...) so the exact class survives, or the
 * binary name of an allowed class. Only allowed classes are ever loaded on decode, and the
 * mapper's polymorphic type validator refuses every other class, so a forged file cannot make the
 * store build arbitrary objects. Java serialization is never used.
 *
 * <p>Thread-safety: immutable after construction; thread-safe.
 */
final class ValueCodec {
    static final int MAX_NAME_LENGTH = 256;
    /**
     * How deep lists, maps and objects may nest in one value (a scalar is 0 deep, a list of
     * scalars 1). Checked at set time for every value, native or of an allowed class, on the tree
     * as the file's reader will see it. A session file adds 3 levels around a value (session,
     * attributes, the attribute's {t, v}), so every file of accepted values nests at most
     * {@code MAX_DEPTH + 3} deep: far below the limits of Jackson's writer and reader (1,000,
     * which {@link #mapper} keeps so that deeper files of older versions still read and rewrite).
     * Values are serialized at set time by {@link #valueWriter}, whose generator stops at
     * {@code MAX_DEPTH + 1}, so a deep or cyclic object graph is refused with an
     * {@link IllegalArgumentException} long before the stack could overflow.
     */
    static final int MAX_DEPTH = 64;
    private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

    private final Map<String, Class<?>> allowedTypes = new HashMap<>();
    private final Set<String> allowedPackages;
    private final ObjectMapper mapper;
    /** The mapper's twin whose generator refuses nesting deeper than a value may have. */
    private final ObjectMapper valueWriter;

    ValueCodec(StoreConfig config) {
        for (Class<?> type : config.allowedTypes()) {
            allowedTypes.put(type.getName(), type);
        }
        this.allowedPackages = Set.copyOf(config.allowedPackages());
        this.mapper = configure(JsonMapper.builder()).build();
        this.valueWriter = configure(JsonMapper.builder(JsonFactory.builder()
                .streamWriteConstraints(StreamWriteConstraints.builder()
                        .maxNestingDepth(MAX_DEPTH + 1).build())
                .build())).build();
    }

    private JsonMapper.Builder configure(JsonMapper.Builder builder) {
        return builder
                .polymorphicTypeValidator(new AllowListValidator())
                .disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES)
                // a BigDecimal field of an allowed type keeps every digit through the file
                .enable(DeserializationFeature.USE_BIG_DECIMAL_FOR_FLOATS)
                .disable(JsonNodeFeature.STRIP_TRAILING_BIGDECIMAL_ZEROES)
                .disable(SerializationFeature.FAIL_ON_EMPTY_BEANS);
    }

    ObjectMapper mapper() {
        return mapper;
    }

    /**
     * Checks an attribute name where it enters the store (set, remove, update), so that a name
     * that the file could not carry is refused at once instead of making the whole session
     * unreadable at the next read. A name must be 1 to {@value #MAX_NAME_LENGTH} characters of
     * well-formed UTF-16: a lone surrogate has no UTF-8 form, so the JSON reader would reject the
     * file. Every other string round-trips through the JSON writer and reader (control characters
     * and quotes are escaped). Map keys and strings inside values need no check here: a value is
     * written and read back when it is set.
     *
     * @throws NullPointerException if the name is null
     * @throws IllegalArgumentException if the name is empty, too long or not well-formed UTF-16
     */
    static void checkName(String name) {
        if (name == null) {
            throw new NullPointerException("attribute name");
        }
        if (name.isEmpty() || name.length() > MAX_NAME_LENGTH) {
            throw new IllegalArgumentException("attribute name must have 1 to " + MAX_NAME_LENGTH
                    + " characters, had " + name.length());
        }
        int bad = loneSurrogate(name);
        if (bad >= 0) {
            throw new IllegalArgumentException(String.format("attribute name has a lone surrogate"
                    + " U+%04X at index %d (half of a UTF-16 pair); it cannot be written as UTF-8:"
                    + " use a name of valid Unicode text", (int) name.charAt(bad), bad));
        }
    }

    /** The index of the first surrogate that is not part of a high-low pair, or -1. */
    private static int loneSurrogate(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < s.length()
                    && Character.isLowSurrogate(s.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return i;
            }
        }
        return -1;
    }

    /**
     * Encodes a non-null value of attribute {@code name} into a new tree that shares no mutable
     * object with {@code value} (it is written and read back, or built node by node), so a caller
     * changing the value after setting it changes neither the change nor the committed state.
     *
     * @throws IllegalArgumentException naming the attribute and type if the value is not storable
     */
    ObjectNode encode(String name, Object value) {
        ObjectNode node = NODES.objectNode();
        String tag = nativeTag(value);
        if (tag != null) {
            node.put("t", tag);
            if (readsBackAsIs(value)) {
                node.set("v", encodeNative(name, value, 0, null));
                return node;
            }
            node.set("v", encodeNative(name, value, 0, new IdentityHashMap<>()));
            return asReadBack(name, value.getClass(), node);
        }
        Class<?> type = value instanceof Enum<?> ? ((Enum<?>) value).getDeclaringClass()
                : value.getClass();
        if (!isAllowed(type)) {
            throw new IllegalArgumentException("attribute '" + name + "': values of type "
                    + type.getName() + " cannot be stored; store JSON-native values (strings,"
                    + " numbers, booleans, lists, maps) or add the class to"
                    + " StoreConfig.Builder.allowTypes");
        }
        node.put("t", type.getName());
        byte[] json;
        try {
            json = valueWriter.writeValueAsBytes(value);
        } catch (JsonProcessingException | IllegalArgumentException e) {
            if (isNestingLimit(e)) {
                throw tooDeep(name);
            }
            throw new IllegalArgumentException("attribute '" + name + "': Jackson cannot write "
                    + type.getName() + " as JSON: " + e.getMessage(), e);
        }
        try {
            node.set("v", mapper.readTree(json));
        } catch (IOException e) {
            throw new IllegalArgumentException("attribute '" + name + "': the " + type.getName()
                    + " value cannot be read back from JSON: " + e.getMessage(), e);
        }
        ObjectNode read = asReadBack(name, type, node);
        try {
            mapper.treeToValue(read.get("v"), type); // a value that would not read back is lost
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new IllegalArgumentException("attribute '" + name + "': a " + type.getName()
                    + " written as JSON cannot be read back by Jackson (give it a constructor"
                    + " Jackson can use, e.g. a record, or @JsonCreator): " + e.getMessage(), e);
        }
        return read;
    }

    /** Strings up to this length skip the write-and-read-back (far inside every read limit). */
    static final int SHORT_STRING = 4096;

    /**
     * Whether a top-level value's node is already exactly what writing and reading it back gives,
     * so {@link #asReadBack} has nothing to check: an {@code Integer}, a {@code Boolean}, or a
     * string of at most {@link #SHORT_STRING} characters with no lone surrogate (which has no
     * UTF-8 form, so the writer escapes it: such strings take the read-back, which checks that
     * they come back as they went). The node types are the ones the reader builds for these
     * tokens (int, boolean, text), so the change's snapshot decodes as a read of the file does.
     */
    private static boolean readsBackAsIs(Object value) {
        if (value instanceof Integer || value instanceof Boolean) {
            return true;
        }
        if (value instanceof String) {
            String s = (String) value;
            return s.length() <= SHORT_STRING && loneSurrogate(s) < 0;
        }
        return false;
    }

    /**
     * Returns an encoded attribute as a reader of the session file sees it: written and read back
     * with the files' mapper. A snapshot built from the change then decodes exactly as one read
     * from the file (a Long 5 in a list comes back as an Integer, a nested Float as the Double
     * of its text), and a value that the reader would refuse (a number longer than Jackson reads)
     * or that the next rewrite would change (a nested number beyond the range of a double, read
     * as infinity and written as the string "Infinity") is refused now, instead of making the
     * whole session unreadable later.
     */
    private ObjectNode asReadBack(String name, Class<?> type, ObjectNode encoded) {
        JsonNode read;
        try {
            read = mapper.readTree(mapper.writeValueAsBytes(encoded));
        } catch (IOException e) {
            throw new IllegalArgumentException("attribute '" + name + "': the " + type.getName()
                    + " value cannot be read back from JSON: " + e.getMessage(), e);
        }
        if (nesting(read.get("v")) > MAX_DEPTH) {
            throw tooDeep(name);
        }
        if (hasNonFiniteNumber(read)) {
            throw new IllegalArgumentException("attribute '" + name + "': the " + type.getName()
                    + " value holds a number beyond the range of a double");
        }
        return (ObjectNode) read;
    }

    /**
     * How deep containers nest in a tree: 0 for a scalar. The tree is at most a few levels deeper
     * than {@link #MAX_DEPTH} here (the writers stop there), so the recursion is shallow.
     */
    private static int nesting(JsonNode node) {
        int deepest = 0;
        for (JsonNode child : node) {
            deepest = Math.max(deepest, nesting(child));
        }
        return node.isContainerNode() ? deepest + 1 : 0;
    }

    private static boolean isNestingLimit(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof StreamConstraintsException) {
                return true;
            }
        }
        return false;
    }

    private static IllegalArgumentException tooDeep(String name) {
        return new IllegalArgumentException("attribute '" + name + "': lists, maps and objects"
                + " nested deeper than " + MAX_DEPTH + " levels cannot be stored (or the value"
                + " refers to itself); keep session values shallow");
    }

    private static boolean hasNonFiniteNumber(JsonNode node) {
        if (node.isFloatingPointNumber()) {
            return !Double.isFinite(node.doubleValue());
        }
        for (JsonNode child : node) {
            if (hasNonFiniteNumber(child)) {
                return true;
            }
        }
        return false;
    }

    private static String nativeTag(Object value) {
        if (value instanceof String) {
            return "s";
        } else if (value instanceof Integer) {
            return "i";
        } else if (value instanceof Long) {
            return "l";
        } else if (value instanceof Boolean) {
            return "b";
        } else if (value instanceof Double) {
            return "d";
        } else if (value instanceof Float) {
            return "f";
        } else if (value instanceof Short) {
            return "sh";
        } else if (value instanceof Byte) {
            return "by";
        } else if (value instanceof BigInteger) {
            return "bi";
        } else if (value instanceof BigDecimal) {
            return "bd";
        } else if (value instanceof Character) {
            return "c";
        } else if (value instanceof List<?>) {
            return "list";
        } else if (value instanceof Map<?, ?>) {
            return "map";
        }
        return null;
    }

    private JsonNode encodeNative(String name, Object value, int depth,
            IdentityHashMap<Object, Boolean> path) {
        if (depth > MAX_DEPTH) { // bounds the recursion; asReadBack checks the exact depth
            throw tooDeep(name);
        }
        if (value == null) {
            return NODES.nullNode();
        } else if (value instanceof String) {
            return NODES.textNode((String) value);
        } else if (value instanceof Boolean) {
            return NODES.booleanNode((Boolean) value);
        } else if (value instanceof Integer || value instanceof Short || value instanceof Byte) {
            return NODES.numberNode(((Number) value).intValue());
        } else if (value instanceof Long) {
            return NODES.numberNode((Long) value);
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            boolean negativeZero = d == 0.0 && Double.doubleToRawLongBits(d) != 0;
            if (Double.isNaN(d) || Double.isInfinite(d) || negativeZero && depth == 0) {
                // JSON has no NaN or infinity, and decimal numbers have no -0.0: a top-level
                // value keeps its text; nested NaN and infinity would come back as strings, so
                // they are refused (a nested -0.0 comes back as 0.0, as JSON reads it)
                if (depth == 0) {
                    return NODES.textNode(Double.toString(d)); // reads back exactly
                }
                throw new IllegalArgumentException("attribute '" + name + "': " + d
                        + " inside a list or map cannot be stored as JSON");
            }
            return value instanceof Float ? NODES.numberNode((Float) value) : NODES.numberNode(d);
        } else if (value instanceof BigInteger) {
            return NODES.numberNode((BigInteger) value);
        } else if (value instanceof BigDecimal) {
            // text keeps every digit; JSON readers would turn a number into a double
            return depth == 0 ? NODES.textNode(value.toString())
                    : NODES.numberNode((BigDecimal) value);
        } else if (value instanceof Character) {
            return NODES.textNode(value.toString());
        } else if (value instanceof List<?>) {
            enter(name, value, path);
            var array = NODES.arrayNode();
            for (Object element : (List<?>) value) {
                array.add(encodeNative(name, element, depth + 1, path));
            }
            path.remove(value);
            return array;
        } else if (value instanceof Map<?, ?>) {
            enter(name, value, path);
            ObjectNode object = NODES.objectNode();
            for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
                if (!(e.getKey() instanceof String)) {
                    throw new IllegalArgumentException("attribute '" + name + "': map keys must be"
                            + " strings, found " + (e.getKey() == null ? "null"
                                    : e.getKey().getClass().getName()));
                }
                object.set((String) e.getKey(), encodeNative(name, e.getValue(), depth + 1, path));
            }
            path.remove(value);
            return object;
        }
        throw new IllegalArgumentException("attribute '" + name + "': values of type "
                + value.getClass().getName() + " cannot be stored inside a list or map; only"
                + " strings, numbers, booleans, null, lists and maps can (wrap the data in a class"
                + " allowed by StoreConfig.Builder.allowTypes)");
    }

    private static void enter(String name, Object container, IdentityHashMap<Object, Boolean> path) {
        if (path.put(container, Boolean.TRUE) != null) {
            throw new IllegalArgumentException("attribute '" + name + "': the value contains"
                    + " itself and cannot be stored as JSON");
        }
    }

    /**
     * Decodes an encoded attribute into a new value that shares no mutable object with
     * {@code node}: the node may belong to a remembered state ({@link DecodedStates}) read by
     * other callers, so what the caller does with the value must not reach it. Lists and maps are
     * built anew, a JsonNode value is a deep copy, and the other values are immutable or built by
     * Jackson from the tree's tokens.
     *
     * @throws IllegalStateException if the type is not allowed here or the value does not fit it
     * @throws IllegalArgumentException if the node is not an encoded attribute (a damaged file)
     */
    Object decode(String name, JsonNode node) {
        JsonNode tagNode = node.get("t");
        JsonNode v = node.get("v");
        if (tagNode == null || !tagNode.isTextual() || v == null) {
            throw new IllegalArgumentException("attribute '" + name + "' is not {t, v}");
        }
        String tag = tagNode.textValue();
        switch (tag) {
            case "s":
                return requireText(name, v);
            case "i":
                return v.intValue();
            case "l":
                return v.longValue();
            case "b":
                return v.booleanValue();
            case "d":
                return v.isTextual() ? Double.valueOf(v.textValue()) : v.doubleValue();
            case "f":
                return v.isTextual() ? Float.valueOf(v.textValue()) : v.floatValue();
            case "sh":
                return v.shortValue();
            case "by":
                return (byte) v.intValue();
            case "bi":
                return v.bigIntegerValue();
            case "bd":
                return new BigDecimal(requireText(name, v));
            case "c":
                String c = requireText(name, v);
                if (c.length() != 1) {
                    throw new IllegalArgumentException("attribute '" + name + "' is no character");
                }
                return c.charAt(0);
            case "list":
            case "map":
                return decodeNative(v);
            default:
                return decodeAllowed(name, tag, v);
        }
    }

    private static String requireText(String name, JsonNode v) {
        if (!v.isTextual()) {
            throw new IllegalArgumentException("attribute '" + name + "' should be text");
        }
        return v.textValue();
    }

    private static Object decodeNative(JsonNode v) {
        if (v.isArray()) {
            List<Object> list = new ArrayList<>(v.size());
            for (JsonNode element : v) {
                list.add(decodeNative(element));
            }
            return list;
        } else if (v.isObject()) {
            Map<String, Object> map = new LinkedHashMap<>();
            v.properties().forEach(e -> map.put(e.getKey(), decodeNative(e.getValue())));
            return map;
        } else if (v.isTextual()) {
            return v.textValue();
        } else if (v.isBoolean()) {
            return v.booleanValue();
        } else if (v.isNull()) {
            return null;
        } else if (v.isInt()) {
            return v.intValue();
        } else if (v.isLong()) {
            return v.longValue();
        } else if (v.isBigInteger()) {
            return v.bigIntegerValue();
        } else if (v.isNumber()) {
            return v.doubleValue();
        }
        throw new IllegalArgumentException("unexpected JSON node " + v.getNodeType());
    }

    private Object decodeAllowed(String name, String className, JsonNode v) {
        Class<?> type = allowedTypes.get(className);
        if (type == null && allowedPackages.contains(packageOf(className))) {
            type = load(className);
        }
        if (type == null) {
            throw new IllegalStateException("attribute '" + name + "' holds a " + className
                    + ", which this store does not allow; give every process that shares the"
                    + " directory the same StoreConfig.Builder.allowTypes");
        }
        try {
            Object value = mapper.treeToValue(v, type);
            // for a JsonNode type Jackson returns the stored node itself: hand out a copy (a
            // class with JsonNode fields gets new nodes, built from the tree's tokens)
            return value instanceof JsonNode ? ((JsonNode) value).deepCopy() : value;
        } catch (JsonProcessingException | IllegalArgumentException e) {
            throw new IllegalStateException("attribute '" + name + "': the stored JSON does not fit"
                    + " " + className + " (did the class change?): " + e.getMessage(), e);
        }
    }

    private static Class<?> load(String className) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = ValueCodec.class.getClassLoader();
        }
        try {
            return Class.forName(className, false, loader);
        } catch (ClassNotFoundException e) {
            try {
                return Class.forName(className, false, ValueCodec.class.getClassLoader());
            } catch (ClassNotFoundException again) {
                throw new IllegalStateException("allowed class " + className + " is not on the"
                        + " class path", again);
            }
        }
    }

    private boolean isAllowed(Class<?> type) {
        return allowedTypes.get(type.getName()) == type
                || allowedPackages.contains(type.getPackageName());
    }

    private static String packageOf(String className) {
        int dot = className.lastIndexOf('.');
        return dot < 0 ? "" : className.substring(0, dot);
    }

    /** Refuses every polymorphic subtype that is not allowed (defence in depth). */
    private final class AllowListValidator extends PolymorphicTypeValidator.Base {
        private static final long serialVersionUID = 1L;

        @Override
        public Validity validateSubClassName(MapperConfig<?> config, JavaType baseType,
                String subClassName) {
            return allowedTypes.containsKey(subClassName)
                    || allowedPackages.contains(packageOf(subClassName))
                    ? Validity.ALLOWED : Validity.DENIED;
        }

        @Override
        public Validity validateSubType(MapperConfig<?> config, JavaType baseType,
                JavaType subType) {
            return isAllowed(subType.getRawClass()) ? Validity.ALLOWED : Validity.DENIED;
        }
    }
}
