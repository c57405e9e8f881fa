package dev.latchkey.servlet;

import jakarta.servlet.http.HttpSessionBindingEvent;
import jakarta.servlet.http.HttpSessionBindingListener;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;

/** A storable value that records its binding events. */
public record Tracked(String value) implements HttpSessionBindingListener {

    /** Events of all instances, as "bound:NAME:VALUE" / "unbound:NAME:VALUE". */
    static final Queue<String> EVENTS = new ConcurrentLinkedQueue<>();

    @Override
    public void valueBound(HttpSessionBindingEvent event) {
        EVENTS.add("bound:" + event.getName() + ":" + value);
    }

    @Override
    public void valueUnbound(HttpSessionBindingEvent event) {
        EVENTS.add("unbound:" + event.getName() + ":" + value);
    }
}
