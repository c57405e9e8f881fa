package dev.latchkey.servlet;

import jakarta.servlet.http.HttpSessionBindingEvent;
import jakarta.servlet.http.HttpSessionBindingListener;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/**
 * A storable value that records its binding events; one whose value starts with "throw" then
 * throws from them; one whose value starts with "invalidate" invalidates its session again when
 * unbound.
 */
public record Tracked(String value) implements HttpSessionBindingListener {

    /** Events of all instances, as "bound:NAME:VALUE" / "unbound:NAME:VALUE". */
    static final Queue<String> EVENTS = new ConcurrentLinkedQueue<>();

    @Override
    public void valueBound(HttpSessionBindingEvent event) {
        EVENTS.add("bound:" + event.getName() + ":" + value);
        failIfAsked();
    }

    @Override
    public void valueUnbound(HttpSessionBindingEvent event) {
        EVENTS.add("unbound:" + event.getName() + ":" + value);
        if (value.startsWith("invalidate")) {
            event.getSession().invalidate();
        }
        failIfAsked();
    }

    private void failIfAsked() {
        if (value.startsWith("throw")) {
            throw new IllegalStateException("binding listener failure (test)");
        }
    }
}
