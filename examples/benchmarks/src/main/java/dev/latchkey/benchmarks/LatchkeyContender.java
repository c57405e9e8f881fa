package dev.latchkey.benchmarks;

import dev.latchkey.Durability;
import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;

/** Latchkey through its public API: {@code find}, then {@code commit} of the request's delta. */
final class LatchkeyContender implements Contender {
    private final SessionStore store;

    LatchkeyContender(Path directory, boolean synced) {
        this.store = SessionStore.open(StoreConfig.builder(directory)
                .durability(synced ? Durability.SYNCED : Durability.BUFFERED)
                .build());
    }

    @Override
    public String create(Map<String, Object> attributes) {
        SessionChange.Builder change = store.change();
        attributes.forEach(change::set);
        return store.create(change.build()).id();
    }

    @Override
    public Map<String, Object> read(String id) {
        return store.find(id).map(Session::attributes).orElse(null);
    }

    @Override
    public Object request(String id, String name, Object value) {
        Session session = store.find(id).orElseThrow(() -> new IllegalStateException("no " + id));
        Object read = session.attribute(SampleSession.READ_ATTRIBUTE);
        store.commit(id, store.change().set(name, value).touch().build());
        return read;
    }

    @Override
    public boolean increment(String id, String name) {
        Optional<Session> session = store.find(id);
        if (session.isEmpty()) {
            return false;
        }
        int next = Contender.count(session.get().attribute(name)) + 1;
        return store.commit(id, store.change().set(name, next).build()).isPresent();
    }

    @Override
    public boolean atomicIncrement(String id, String name) {
        return store.update(id, name, n -> Contender.count(n) + 1).isPresent();
    }

    @Override
    public void close() {
        store.close();
    }
}
