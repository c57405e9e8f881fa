package dev.latchkey.internal;

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
 * <p>Direct-mapped by the id's lock stripe, {@link #SLOTS} slots, files of at most
 * {@link #MAX_BYTES} bytes: a bounded amount of memory whatever the sessions' sizes. A miss only
 * costs the decode it would have cost anyway. Entries of a session are dropped when it is removed
 * (memory hygiene, not correctness).
 *
 * <p>Thread-safety: thread-safe; entries are immutable and published through an
 * {@link AtomicReferenceArray}.
 */
final class DecodedStates {
    static final int SLOTS = 256;
    /**
     * Larger files are decoded every time (sessions are usually a few KiB). With the trees they
     * decode to (several times their size), the memo holds a few MiB at most for typical sessions
     * of 1 to 4 KiB, and about 20 MiB in the worst case (every slot a file of 8 KiB of tiny
     * values).
     */
    static final int MAX_BYTES = 8 << 10;

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
        if (bytes.length <= MAX_BYTES) {
            slots.set(slot(id), new Entry(id, bytes, record));
        }
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
