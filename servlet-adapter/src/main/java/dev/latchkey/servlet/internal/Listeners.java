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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Delivers session events to the listeners registered with the filter and to
 * {@link HttpSessionBindingListener} values. Destruction events go to listeners in reverse order,
 * as the Servlet specification asks.
 *
 * <p>A listener that throws does not stop the session operation nor the other listeners: the
 * exception is logged at WARN and dropped, as Tomcat and Jetty do. Otherwise a failing audit
 * listener would, for example, make logging out impossible. Only a {@link VirtualMachineError}
 * propagates.
 *
 * <p>Thread-safety: immutable.
 */
final class Listeners {
    private static final Logger LOG = LoggerFactory.getLogger(Listeners.class);
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
            call(l, "sessionCreated", s, () -> l.sessionCreated(e));
        }
    }

    void destroyed(HttpSession s) {
        HttpSessionEvent e = new HttpSessionEvent(s);
        for (int i = session.size() - 1; i >= 0; i--) {
            HttpSessionListener l = session.get(i);
            call(l, "sessionDestroyed", s, () -> l.sessionDestroyed(e));
        }
    }

    void idChanged(HttpSession s, String oldId) {
        HttpSessionEvent e = new HttpSessionEvent(s);
        for (HttpSessionIdListener l : id) {
            call(l, "sessionIdChanged", s, () -> l.sessionIdChanged(e, oldId));
        }
    }

    /** Before a value becomes visible: valueBound on the new value. */
    void binding(HttpSession s, String name, Object value, Object old) {
        if (value != old && value instanceof HttpSessionBindingListener b) {
            call(b, "valueBound", s,
                    () -> b.valueBound(new HttpSessionBindingEvent(s, name, value)));
        }
    }

    /** After a value was set: valueUnbound on the replaced value, then attribute listeners. */
    void set(HttpSession s, String name, Object value, Object old) {
        if (old != null && old != value && old instanceof HttpSessionBindingListener b) {
            call(b, "valueUnbound", s,
                    () -> b.valueUnbound(new HttpSessionBindingEvent(s, name, old)));
        }
        if (attribute.isEmpty()) {
            return;
        }
        if (old == null) {
            HttpSessionBindingEvent e = new HttpSessionBindingEvent(s, name, value);
            for (HttpSessionAttributeListener l : attribute) {
                call(l, "attributeAdded", s, () -> l.attributeAdded(e));
            }
        } else {
            HttpSessionBindingEvent e = new HttpSessionBindingEvent(s, name, old);
            for (HttpSessionAttributeListener l : attribute) {
                call(l, "attributeReplaced", s, () -> l.attributeReplaced(e));
            }
        }
    }

    /** After a value was removed: valueUnbound, then attribute listeners. */
    void removed(HttpSession s, String name, Object old) {
        if (old instanceof HttpSessionBindingListener b) {
            call(b, "valueUnbound", s,
                    () -> b.valueUnbound(new HttpSessionBindingEvent(s, name, old)));
        }
        HttpSessionBindingEvent e = new HttpSessionBindingEvent(s, name, old);
        for (HttpSessionAttributeListener l : attribute) {
            call(l, "attributeRemoved", s, () -> l.attributeRemoved(e));
        }
    }

    /** Runs one callback; logs and drops what it throws, but a VirtualMachineError. */
    private static void call(Object listener, String event, HttpSession s, Runnable callback) {
        try {
            callback.run();
        } catch (VirtualMachineError e) {
            throw e;
        } catch (Throwable t) {
            String id = s.getId();
            LOG.warn("session listener {} threw from {} (session {}…); ignored: the session"
                    + " operation goes on, as in the servlet containers", listener.getClass()
                            .getName(), event, id.substring(0, Math.min(6, id.length())), t);
        }
    }
}
