package dev.latchkey.benchmarks;

import java.util.Map;

/**
 * One session store under test, driven the way a web request drives it. Every operation goes
 * through the store's own public API; the adapters add no locking or caching of their own.
 * <p>Thread-safety: as the store below it (every adapter here may be called from several threads).
 */
interface Contender extends AutoCloseable {

    /** Creates a session holding these attributes and returns its id. */
    String create(Map<String, Object> attributes) throws Exception;

    /** Reads all attributes of a session, or null if the store has no such session. */
    Map<String, Object> read(String id) throws Exception;

    /**
     * One request (workload 1, 2, 4): load the session, read one attribute, mark it accessed, set
     * one attribute, save. Returns what it read (the attribute; the floor: the bytes it read), so
     * that the benchmark can consume it and the JIT cannot drop the read.
     */
    Object request(String id, String name, Object value) throws Exception;

    /**
     * One counting request (workload 3): load the session, read an integer attribute, save it
     * plus one, with the store's plain save (no lock unless the store takes one itself). Returns
     * false if the session was not found.
     */
    boolean increment(String id, String name) throws Exception;

    /**
     * The store's atomic read-modify-write of one attribute, if it has one (Latchkey's
     * {@code update}); the others throw {@link UnsupportedOperationException}.
     */
    default boolean atomicIncrement(String id, String name) throws Exception {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no atomic update");
    }

    /** Releases what the adapter holds (not the data). */
    @Override
    void close();

    /** The attribute as a count: absent is 0. */
    static int count(Object value) {
        return value == null ? 0 : ((Number) value).intValue();
    }
}
