package dev.latchkey.servlet.internal;

import jakarta.servlet.http.HttpSession;
import jakarta.servlet.http.HttpSessionAttributeListener;
import jakarta.servlet.http.HttpSessionBindingEvent;
import jakarta.servlet.http.HttpSessionBindingListener;
import jakarta.servlet.http.HttpSessionEvent;
import jakarta.servlet.http.HttpSessionIdListener;
import jakarta.servlet.http.HttpSessionListener;
import java.util.ArrayList;
import java.util.EventListener;
import java.util.List;

/**
 * Delivers session events to the listeners registered with the filter and to
 * {@link HttpSessionBindingListener} values. Destruction events go to listeners in reverse order,
 * as the Servlet specification asks.
 *
 * <p>Thread-safety: immutable.
 */
final class Listeners {
    private final List<HttpSessionListener> session = new ArrayList<>();
    private final List<HttpSessionAttributeListener> attribute = new ArrayList<>();
    private final List<HttpSessionIdListener> id = new ArrayList<>();

    Listeners(List<EventListener> all) {
        for (EventListener l : all) {
            if (l instanceof HttpSessionListener s) {
                session.add(s);
            }
            if (l instanceof HttpSessionAttributeListener a) {
                attribute.add(a);
            }
            if (l instanceof HttpSessionIdListener i) {
                id.add(i);
            }
        }
    }

    void created(HttpSession s) {
        HttpSessionEvent e = new HttpSessionEvent(s);
        for (HttpSessionListener l : session) {
            l.sessionCreated(e);
        }
    }

    void destroyed(HttpSession s) {
        HttpSessionEvent e = new HttpSessionEvent(s);
        for (int i = session.size() - 1; i >= 0; i--) {
            session.get(i).sessionDestroyed(e);
        }
    }

    void idChanged(HttpSession s, String oldId) {
        HttpSessionEvent e = new HttpSessionEvent(s);
        for (HttpSessionIdListener l : id) {
            l.sessionIdChanged(e, oldId);
        }
    }

    /** Before a value becomes visible: valueBound on the new value. */
    void binding(HttpSession s, String name, Object value, Object old) {
        if (value != old && value instanceof HttpSessionBindingListener b) {
            b.valueBound(new HttpSessionBindingEvent(s, name, value));
        }
    }

    /** After a value was set: valueUnbound on the replaced value, then attribute listeners. */
    void set(HttpSession s, String name, Object value, Object old) {
        if (old != null && old != value && old instanceof HttpSessionBindingListener b) {
            b.valueUnbound(new HttpSessionBindingEvent(s, name, old));
        }
        if (attribute.isEmpty()) {
            return;
        }
        if (old == null) {
            HttpSessionBindingEvent e = new HttpSessionBindingEvent(s, name, value);
            for (HttpSessionAttributeListener l : attribute) {
                l.attributeAdded(e);
            }
        } else {
            HttpSessionBindingEvent e = new HttpSessionBindingEvent(s, name, old);
            for (HttpSessionAttributeListener l : attribute) {
                l.attributeReplaced(e);
            }
        }
    }

    /** After a value was removed: valueUnbound, then attribute listeners. */
    void removed(HttpSession s, String name, Object old) {
        if (old instanceof HttpSessionBindingListener b) {
            b.valueUnbound(new HttpSessionBindingEvent(s, name, old));
        }
        HttpSessionBindingEvent e = new HttpSessionBindingEvent(s, name, old);
        for (HttpSessionAttributeListener l : attribute) {
            l.attributeRemoved(e);
        }
    }
}
