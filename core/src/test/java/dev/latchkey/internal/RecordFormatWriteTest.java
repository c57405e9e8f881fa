package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.latchkey.StoreConfig;
import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The writer streams the {@code session} object instead of building a tree for every commit; its
 * bytes must be exactly those of the tree written by the mapper, for every kind of value, and read
 * back to the same record.
 */
final class RecordFormatWriteTest {
    @TempDir
    Path temp;

    @Test
    void write_streamedBody_isByteForByteTheTreeTheMapperWrites() throws Exception {
        ValueCodec codec = new ValueCodec(StoreConfig.builder(temp).build());
        RecordFormat format = new RecordFormat(codec.mapper(), MacKeys.load(new Layout(temp),
                new byte[32], null, List.of(), List.of()));
        List<Object> nested = new ArrayList<>(Arrays.asList(null, "", List.of(), Map.of(), 1.5,
                -0.0, 1e300, Long.MAX_VALUE, new BigDecimal("1.10"), BigInteger.TEN.pow(30),
                "\u0000\"\\ \uD83C\uDF89 lone \uD800", true));
        Map<String, Object> map = new LinkedHashMap<>();
        map.put("z", 1);
        map.put("a", null);
        map.put("", nested);
        Object[] values = {"", "plain", "lone \uD800", "x".repeat(5000), 0, Integer.MIN_VALUE,
                7L, Long.MIN_VALUE, (short) 3, (byte) -1, 0.1, -0.0, Double.NaN, 0.1f,
                Float.POSITIVE_INFINITY, BigInteger.TWO.pow(200), new BigDecimal("1E+1000"),
                'x', '\uDC00', true, false, nested, map, List.of(map, nested)};
        Map<String, JsonNode> attributes = new LinkedHashMap<>();
        for (int i = 0; i < values.length; i++) {
            attributes.put("v" + i + (i % 3 == 0 ? " \u00e9\"\\" : ""), codec.encode("v", values[i]));
        }
        for (Map<String, JsonNode> attrs : List.of(Map.<String, JsonNode>of(), attributes)) {
            String id = SessionIds.generate();
            SessionRecord record = new SessionRecord(id, 1_764_806_400_000L, Long.MAX_VALUE,
                    -1, 42, attrs);
            byte[] tree = format.bodyAsTree(record);
            assertEquals(new String(tree, StandardCharsets.UTF_8),
                    new String(format.body(record), StandardCharsets.UTF_8));
            assertArrayEquals(tree, format.body(record));
            SessionRecord read = format.read(format.write(record), id);
            assertEquals(record.attributes, read.attributes);
            assertEquals(List.of(record.created, record.accessed, record.maxInactive,
                    record.revision), List.of(read.created, read.accessed, read.maxInactive,
                    read.revision));
        }
    }
}
