package dev.latchkey.internal;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Arrays;
import java.util.concurrent.atomic.AtomicReferenceArray;

/**
 * A small memo of file bytes already verified and decoded: the {@link SessionRecord} that exact
 * bytes, read as the file of session ID, decode to. A request reads its session twice, once by
 * the lock-free {@code find} and again under the lock for the delta merge, and the next request
 * reads what this one published: when the bytes read now are byte for byte the bytes of an
 * entry, the entry's record is returned instead of verifying the MAC and parsing the JSON again.
 *
 * <p>Why that is exact: decoding is a pure function of the bytes, the id they are read as and the
 * store's MAC keys (fixed for the store's life). An entry is never trusted for anything but the
 * bytes it holds; the file is always read anew, and nothing about the file (inode, size, mtime)
 * stands in for its bytes. A file changed by any process, in any way (another state, a replay of
 * an older file, damage), has other bytes, misses, and is decoded as usual. An entry added by a
 * publish pairs the bytes written with the record they were written from, which is what a reader
 * of those bytes decodes (attribute values are kept as the file's reader sees them, see
 * {@link ValueCodec}).
 *
 * <p>Direct-mapped by the id's lock stripe, {@link #SLOTS} slots, and an entry is kept only if
 * its estimated retained size ({@link #charge}: the bytes, the id, the record and every node of its
 * tree, by the sizes Jackson's nodes have on a 64-bit JVM) is at most {@link #ENTRY_BUDGET}: one
 * store's memo holds at most {@code SLOTS * ENTRY_BUDGET} = 8 MiB, whatever the sessions' sizes
 * and shapes ({@code DecodedStatesMemoryTest} measures it). Decoded trees are several times
 * their file's size: the benchmarks' session of ten attributes, 1.1 KiB in its file, retains
 * about 8 KiB and is charged about 10 KiB, so sessions of that kind are kept up to about 3 KiB;
 * a file of many tiny values (empty lists and maps) has a tree dozens of times its size. An
 * entry not kept only costs the decode it would have cost anyway, as does a miss. Entries of a
 * session are dropped when it is removed (memory hygiene, not correctness).
 *
 * <p>Invariant: no object reachable from an entry is ever handed to the application, and no object
 * the application passed in is ever reachable from an entry. Entries are shared by every read of
 * the same bytes, so a value the application changed in place would otherwise show in other
 * callers' reads and be written, with a valid MAC, by an unrelated commit. {@link ValueCodec}
 * keeps it: {@code decode} returns new values (a JsonNode value is a deep copy), {@code encode}
 * builds a new tree from the value set.
 *
 * <p>Thread-safety: thread-safe; entries are immutable and published through an
 * {@link AtomicReferenceArray}.
 */
final class DecodedStates {
    static final int SLOTS = 256;
    /**
     * The largest estimated retained size, in bytes, of a kept entry: 32 KiB, so one store's memo
     * holds at most 8 MiB.
     */
    static final int ENTRY_BUDGET = 32 << 10;

    private static final class Entry {
        final String id;
        final byte[] bytes;
        final SessionRecord record;

        Entry(String id, byte[] bytes, SessionRecord record) {
            this.id = id;
            this.bytes = bytes;
            this.record = record;
        }
    }

    private final AtomicReferenceArray<Entry> slots = new AtomicReferenceArray<>(SLOTS);

    private static int slot(String id) {
        return SessionIds.stripe(id, SLOTS);
    }

    /** The record that {@code bytes} decode to as session {@code id}, if known; else null. */
    SessionRecord get(String id, byte[] bytes) {
        Entry e = slots.get(slot(id));
        return e != null && e.id.equals(id) && Arrays.equals(e.bytes, bytes) ? e.record : null;
    }

    /**
     * Remembers that {@code bytes} decode to {@code record} as session {@code id}. The caller
     * must not change {@code bytes} afterwards.
     */
    void put(String id, byte[] bytes, SessionRecord record) {
        if (charge(id, bytes, record) <= ENTRY_BUDGET) {
            slots.set(slot(id), new Entry(id, bytes, record));
        }
    }

    // Retained sizes on a 64-bit JVM with compressed references (8-byte alignment), rounded up;
    // without compressed references objects are larger, see the Javadoc of charge.
    /** Entry, SessionRecord, and the record's unmodifiable LinkedHashMap with its table. */
    private static final int ENTRY_COST = 24 + 48 + 16 + 64 + 16;
    /** An array's header. */
    private static final int ARRAY = 16;
    /**
     * A String with its byte array's header and padding (the bytes are counted apart, 2 per char).
     */
    private static final int STRING = 24 + ARRAY + 8;
    /** A map entry: a LinkedHashMap.Entry and the table slot (load 0.75, capacity up to 2x). */
    private static final int MAP_ENTRY = 40 + 12;
    /** An ObjectNode with its LinkedHashMap and table header. */
    private static final int OBJECT_NODE = 24 + 64 + ARRAY;
    /** An ArrayNode with its ArrayList and element array header. */
    private static final int ARRAY_NODE = 24 + 24 + ARRAY;
    /** An element slot of an ArrayList (capacity up to 1.5x the size, plus 10 when small). */
    private static final int ARRAY_SLOT = 6;
    /** An int, long or double node. */
    private static final int NUMBER_NODE = 24;
    /** A BigInteger or BigDecimal node: the node, a BigDecimal, a BigInteger, its array header. */
    private static final int BIG_NUMBER_NODE = 16 + 40 + 40 + ARRAY;

    /**
     * An upper estimate of the heap an entry retains, in bytes, or {@code ENTRY_BUDGET + 1} once
     * it is known to be larger (the walk stops there). Counted for a 64-bit JVM with compressed
     * references (heaps under 32 GiB, the default); without them references and headers are
     * larger and the memo may hold up to about 1.5 times the bound.
     */
    static long charge(String id, byte[] bytes, SessionRecord record) {
        long total = ENTRY_COST + ARRAY + bytes.length + STRING + 2L * id.length();
        for (var e : record.attributes.entrySet()) {
            total += MAP_ENTRY + STRING + 2L * e.getKey().length();
            total = charge(e.getValue(), total);
            if (total > ENTRY_BUDGET) {
                return ENTRY_BUDGET + 1;
            }
        }
        return total;
    }

    private static long charge(JsonNode node, long total) {
        if (total > ENTRY_BUDGET) {
            return total;
        }
        if (node.isObject()) {
            total += OBJECT_NODE + 4L * node.size() + 8;
            for (var e : node.properties()) {
                total += MAP_ENTRY + STRING + 2L * e.getKey().length();
                total = charge(e.getValue(), total);
                if (total > ENTRY_BUDGET) {
                    return total;
                }
            }
            return total;
        }
        if (node.isArray()) {
            total += ARRAY_NODE + 4L * 10 + (long) ARRAY_SLOT * node.size();
            for (JsonNode element : node) {
                total = charge(element, total);
                if (total > ENTRY_BUDGET) {
                    return total;
                }
            }
            return total;
        }
        if (node.isTextual()) {
            return total + 16 + STRING + 2L * node.textValue().length();
        }
        if (node.isBigInteger()) {
            return total + BIG_NUMBER_NODE + 4L * (node.bigIntegerValue().bitLength() / 32 + 1);
        }
        if (node.isBigDecimal()) { // the unscaled digits (never the value: 1E999999999 is huge)
            return total + BIG_NUMBER_NODE
                    + 4L * (node.decimalValue().unscaledValue().bitLength() / 32 + 1);
        }
        if (node.isNumber()) {
            return total + NUMBER_NODE;
        }
        return total + 16; // true, false, null: shared; a binary or POJO node never comes from JSON
    }

    /** Forgets the entry of a session (removed, or moved to another id). */
    void remove(String id) {
        int slot = slot(id);
        Entry e = slots.get(slot);
        if (e != null && e.id.equals(id)) {
            slots.compareAndSet(slot, e, null);
        }
    }
}
