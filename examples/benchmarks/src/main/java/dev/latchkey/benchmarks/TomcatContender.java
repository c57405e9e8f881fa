package dev.latchkey.benchmarks;

import java.nio.file.Path;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.session.FileStore;
import org.apache.catalina.session.PersistentManager;
import org.apache.catalina.session.StandardSession;

/**
 * Tomcat 11's {@code FileStore} under a {@code PersistentManager}, through the Store API: a
 * request is {@code load} (deserialize the whole session), change, {@code save} (serialize the
 * whole session into the file in place). FileStore's own lock is a per-id read-write lock inside
 * this JVM; nothing excludes other processes.
 */
final class TomcatContender implements Contender {
    private final PersistentManager manager = new PersistentManager();
    private final FileStore store = new FileStore();

    TomcatContender(Path directory) {
        StandardContext context = new StandardContext();
        context.setName("bench");
        context.setPath("");
        manager.setContext(context);
        store.setDirectory(directory.toAbsolutePath().toString());
        manager.setStore(store);
    }

    @Override
    public String create(Map<String, Object> attributes) throws Exception {
        StandardSession session = (StandardSession) manager.createEmptySession();
        session.setNew(true);
        session.setValid(true);
        session.setCreationTime(System.currentTimeMillis());
        session.setMaxInactiveInterval(30 * 60);
        String id = SampleSession.newId();
        session.setId(id, false);
        // setId also registers the session in the manager's memory; take it out again (before
        // the save: PersistentManager.remove also removes the stored file) so that every request
        // goes to the file, as after a swap-out
        manager.remove(session);
        attributes.forEach(session::setAttribute);
        store.save(session);
        return id;
    }

    @Override
    public Map<String, Object> read(String id) throws Exception {
        StandardSession session = (StandardSession) store.load(id);
        if (session == null) {
            return null;
        }
        Map<String, Object> attributes = new LinkedHashMap<>();
        for (String name : Collections.list(session.getAttributeNames())) {
            attributes.put(name, session.getAttribute(name));
        }
        return attributes;
    }

    @Override
    public Object request(String id, String name, Object value) throws Exception {
        StandardSession session = load(id);
        session.access();
        Object read = session.getAttribute(SampleSession.READ_ATTRIBUTE);
        session.setAttribute(name, value);
        session.endAccess();
        store.save(session);
        return read;
    }

    @Override
    public boolean increment(String id, String name) throws Exception {
        StandardSession session = (StandardSession) store.load(id);
        if (session == null) {
            return false;
        }
        session.setAttribute(name, Contender.count(session.getAttribute(name)) + 1);
        store.save(session);
        return true;
    }

    @Override
    public void close() {
        // FileStore holds no open files between calls
    }

    private StandardSession load(String id) throws Exception {
        StandardSession session = (StandardSession) store.load(id);
        if (session == null) {
            throw new IllegalStateException("no session " + id);
        }
        return session;
    }
}
