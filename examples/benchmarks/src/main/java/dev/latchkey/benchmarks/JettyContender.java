package dev.latchkey.benchmarks;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.eclipse.jetty.session.FileSessionDataStore;
import org.eclipse.jetty.session.SessionContext;
import org.eclipse.jetty.session.SessionData;

/**
 * Jetty 12.1's {@code FileSessionDataStore}, through its store API: a request is {@code load}
 * (deserialize the whole session), change, {@code store} (delete the session's file, write a new
 * one whose name carries the new expiry). The store keeps an in-memory map from id to file name,
 * filled when it starts; nothing excludes other processes.
 */
final class JettyContender implements Contender {
    private static final long MAX_INACTIVE_MS = 30 * 60 * 1000L;

    private final FileSessionDataStore store = new FileSessionDataStore();

    JettyContender(Path directory) throws Exception {
        store.setStoreDir(directory.toFile());
        store.initialize(new BenchContext());
        store.start();
    }

    @Override
    public String create(Map<String, Object> attributes) throws Exception {
        String id = SampleSession.newId();
        long now = System.currentTimeMillis();
        SessionData data = store.newSessionData(id, now, now, now, MAX_INACTIVE_MS);
        data.setLastNode("bench");
        data.putAllAttributes(attributes);
        data.calcAndSetExpiry(now);
        store.store(id, data);
        return id;
    }

    @Override
    public Map<String, Object> read(String id) throws Exception {
        SessionData data = store.load(id);
        return data == null ? null : new LinkedHashMap<>(data.getAllAttributes());
    }

    @Override
    public Object request(String id, String name, Object value) throws Exception {
        SessionData data = store.load(id);
        if (data == null) {
            throw new IllegalStateException("no session " + id);
        }
        long now = System.currentTimeMillis();
        Object read = data.getAttribute(SampleSession.READ_ATTRIBUTE);
        data.setLastAccessed(data.getAccessed());
        data.setAccessed(now);
        data.calcAndSetExpiry(now);
        data.setAttribute(name, value);
        store.store(id, data);
        return read;
    }

    /**
     * Leaves the expiry as it is, so the file keeps its name and the other processes' maps stay
     * valid: the case most favourable to sharing the directory (a touch renames the file, and then
     * every other process stops finding the session).
     */
    @Override
    public boolean increment(String id, String name) throws Exception {
        SessionData data = store.load(id);
        if (data == null) {
            return false;
        }
        data.setAttribute(name, Contender.count(data.getAttribute(name)) + 1);
        store.store(id, data);
        return true;
    }

    @Override
    public void close() {
        try {
            store.stop();
        } catch (Exception e) {
            throw new IllegalStateException("cannot stop the Jetty store", e);
        }
    }

    /** The context of one web app, as a session handler would give it. */
    private static final class BenchContext extends SessionContext {
        BenchContext() {
            _workerName = "bench";
            _canonicalContextPath = "bench";
            _vhost = "0.0.0.0";
        }
    }
}
