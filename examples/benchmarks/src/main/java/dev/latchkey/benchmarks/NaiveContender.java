package dev.latchkey.benchmarks;

import dev.latchkey.examples.NaiveFileStore;
import java.nio.file.Path;
import java.util.Map;

/** The demo's naive file store: read the whole file, change it, write it back in place. */
final class NaiveContender implements Contender {
    private final NaiveFileStore store;

    NaiveContender(Path directory) {
        this.store = new NaiveFileStore(directory);
    }

    @Override
    public String create(Map<String, Object> attributes) throws Exception {
        String id = SampleSession.newId();
        store.save(id, attributes);
        return id;
    }

    @Override
    public Map<String, Object> read(String id) throws Exception {
        return store.load(id);
    }

    @Override
    public Object request(String id, String name, Object value) throws Exception {
        Map<String, Object> session = store.load(id);
        Object read = session.get(SampleSession.READ_ATTRIBUTE);
        session.put("accessed", System.currentTimeMillis());
        session.put(name, value);
        store.save(id, session);
        return read;
    }

    @Override
    public boolean increment(String id, String name) throws Exception {
        Map<String, Object> session = store.load(id);
        session.put(name, Contender.count(session.get(name)) + 1);
        store.save(id, session);
        return true;
    }

    @Override
    public void close() {
        // nothing held
    }
}
