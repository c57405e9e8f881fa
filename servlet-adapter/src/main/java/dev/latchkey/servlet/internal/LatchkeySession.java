package dev.latchkey.servlet.internal;

import dev.latchkey.Session;
import dev.latchkey.SessionChange;
import jakarta.servlet.ServletContext;
import jakarta.servlet.http.HttpSession;
import java.time.Duration;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link HttpSession} one request sees: a snapshot of the stored session plus the changes this
 * request made, which {@link RequestContext#commit()} writes as a delta.
 *
 * <p>Values read are decoded once per request and cached, so {@code getAttribute} returns the same
 * object on every call of one request; another request (in this or another process) gets its own
 * copy. The object belongs to its request: kept after the request ends, it reads stale state and
 * its changes are not saved.
 *
 * <p>A stored value that cannot be decoded here (its type is not allowed in this process, or its
 * class changed) is absent for this request: {@code getAttribute} returns null and
 * {@code getAttributeNames} leaves it out, with one WARN per request and name. Its stored form is
 * kept unless the application sets or removes that name.
 *
 * <p>Thread-safety: every method synchronizes on the owning {@link RequestContext}.
 */
final class LatchkeySession implements HttpSession {
    private static final Logger LOG = LoggerFactory.getLogger(LatchkeySession.class);

    private final RequestContext ctx;
    private final boolean isNew;
    private final long lastAccessedTime;
    private String id;
    private Session snapshot;
    private boolean valid = true;
    /** invalidate() is running: the session is still valid, a nested invalidate() is a no-op. */
    private boolean invalidating;
    private boolean touchPending;
    private Duration interval;
    private boolean intervalDirty;
    private final Map<String, Object> local = new HashMap<>();
    private final Set<String> removed = new HashSet<>();
    private final Set<String> dirty = new LinkedHashSet<>();
    private final Set<String> read = new LinkedHashSet<>();
    /** Stored names whose value cannot be decoded here: absent for this request. */
    private final Set<String> unreadable = new HashSet<>();
    /** Names already reported as unstorable at a commit of this request. */
    private final Set<String> unstorableWarned = new HashSet<>();

    LatchkeySession(RequestContext ctx, Session snapshot, boolean isNew) {
        this.ctx = ctx;
        this.snapshot = snapshot;
        this.id = snapshot.id();
        this.isNew = isNew;
        this.lastAccessedTime = snapshot.lastAccessedTime().toEpochMilli();
        this.touchPending = !isNew;
    }

    boolean isValid() {
        synchronized (ctx) {
            return valid;
        }
    }

    private void checkValid(String method) {
        if (!valid) {
            throw new IllegalStateException(method + ": the session has been invalidated");
        }
    }

    @Override
    public long getCreationTime() {
        synchronized (ctx) {
            checkValid("getCreationTime");
            return snapshot.creationTime().toEpochMilli();
        }
    }

    @Override
    public String getId() {
        synchronized (ctx) {
            return id;
        }
    }

    @Override
    public long getLastAccessedTime() {
        synchronized (ctx) {
            checkValid("getLastAccessedTime");
            return lastAccessedTime;
        }
    }

    @Override
    public ServletContext getServletContext() {
        return ctx.runtime().servletContext();
    }

    @Override
    public void setMaxInactiveInterval(int seconds) {
        synchronized (ctx) {
            interval = Duration.ofSeconds(seconds);
            intervalDirty = true;
        }
    }

    @Override
    public int getMaxInactiveInterval() {
        synchronized (ctx) {
            long s = interval != null ? interval.getSeconds()
                    : snapshot.maxInactiveInterval().getSeconds();
            return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, s));
        }
    }

    @Override
    public Object getAttribute(String name) {
        synchronized (ctx) {
            checkValid("getAttribute");
            Object v = value(name);
            if (v != null) {
                read.add(name);
            }
            return v;
        }
    }

    @Override
    public Enumeration<String> getAttributeNames() {
        synchronized (ctx) {
            checkValid("getAttributeNames");
            for (String name : snapshot.attributeNames()) {
                value(name); // decodes (and caches) each, so an undecodable one is left out
            }
            return Collections.enumeration(List.copyOf(names()));
        }
    }

    @Override
    public void setAttribute(String name, Object value) {
        Objects.requireNonNull(name, "name");
        if (value == null) {
            removeAttribute(name);
            return;
        }
        synchronized (ctx) {
            checkValid("setAttribute");
            // encodes now, so an unstorable value fails here, naming the attribute
            try {
                ctx.store().change().set(name, value);
            } catch (IllegalArgumentException e) {
                throw withServletHint(e);
            }
            Object old = value(name);
            ctx.runtime().listeners().binding(this, name, value, old);
            local.put(name, value);
            removed.remove(name);
            unreadable.remove(name);
            dirty.add(name);
            ctx.runtime().listeners().set(this, name, value, old);
        }
    }

    /**
     * The store's refusal of a value, with what to set in a servlet app when the store says which
     * of its settings would allow the type (the core knows no servlet names).
     */
    private static IllegalArgumentException withServletHint(IllegalArgumentException e) {
        String message = String.valueOf(e.getMessage());
        if (!message.contains("StoreConfig.Builder.allowTypes")) {
            return e;
        }
        return new IllegalArgumentException(message + "; with the servlet filter: list the class"
                + " in the init-param latchkey.allowedTypes or pass it to"
                + " LatchkeyFilter.Builder.allowTypes, in every process sharing the directory", e);
    }

    @Override
    public void removeAttribute(String name) {
        Objects.requireNonNull(name, "name");
        synchronized (ctx) {
            checkValid("removeAttribute");
            Object old = value(name);
            if (old == null && unreadable.remove(name)) {
                // an undecodable stored value: removed as asked, without events (no old value)
                removed.add(name);
                dirty.add(name);
                return;
            }
            if (old == null) {
                return;
            }
            local.remove(name);
            removed.add(name);
            read.remove(name);
            dirty.add(name);
            ctx.runtime().listeners().removed(this, name, old);
        }
    }

    @Override
    public void invalidate() {
        synchronized (ctx) {
            checkValid("invalidate");
            if (invalidating) {
                // called again from sessionDestroyed or valueUnbound: the invalidation under way
                // does it (as Tomcat and Jetty do), so no recursion and one expiring cookie
                return;
            }
            invalidating = true;
            ctx.invalidate(this);
        }
    }

    @Override
    public boolean isNew() {
        synchronized (ctx) {
            checkValid("isNew");
            return isNew;
        }
    }

    @Override
    public String toString() {
        return "LatchkeySession[" + id + "]";
    }

    // ---- for RequestContext (its monitor held) ----

    private Object value(String name) {
        if (removed.contains(name)) {
            return null;
        }
        if (local.containsKey(name)) {
            return local.get(name);
        }
        if (unreadable.contains(name) || !snapshot.attributeNames().contains(name)) {
            return null;
        }
        Object v;
        try {
            v = snapshot.attribute(name);
        } catch (IllegalStateException e) {
            unreadable.add(name);
            LOG.warn("session attribute '{}' cannot be decoded here and is absent for this request"
                    + " (its stored value is kept unless the request sets or removes it; every"
                    + " process sharing the directory needs the same latchkey.allowedTypes): {}",
                    name, e.getMessage());
            return null;
        }
        local.put(name, v);
        return v;
    }

    private Set<String> names() {
        Set<String> names = new LinkedHashSet<>(snapshot.attributeNames());
        names.addAll(local.keySet());
        names.removeAll(removed);
        names.removeAll(unreadable);
        return names;
    }

    /**
     * The delta to commit now, by the save mode. Values are encoded now, as they are at commit
     * time: a value changed in place since {@code setAttribute} (or since {@code getAttribute}, in
     * the save modes that write read values back) may have become unstorable. Such an attribute is
     * left out, keeping its stored value, with one WARN per request naming it; the rest of the
     * delta is committed.
     */
    SessionChange pendingChange() {
        SessionChange.Builder b = ctx.store().change().basedOn(snapshot); // for StoreStats
        for (String name : dirty) {
            if (removed.contains(name)) {
                b.remove(name);
            } else {
                setIfStorable(b, name, local.get(name));
            }
        }
        switch (ctx.runtime().settings().saveMode()) {
            case ON_SET_ATTRIBUTE -> { }
            case ON_GET_ATTRIBUTE -> {
                for (String name : read) {
                    if (!dirty.contains(name) && local.containsKey(name)) {
                        setIfStorable(b, name, local.get(name));
                    }
                }
            }
            case ALWAYS -> {
                for (String name : names()) {
                    if (!dirty.contains(name)) {
                        Object v = value(name);
                        if (v != null) {
                            setIfStorable(b, name, v);
                        }
                    }
                }
            }
        }
        if (touchPending) {
            b.touch();
        }
        if (intervalDirty) {
            b.maxInactiveInterval(interval);
        }
        return b.build();
    }

    private void setIfStorable(SessionChange.Builder b, String name, Object value) {
        try {
            b.set(name, value);
        } catch (IllegalArgumentException e) {
            if (unstorableWarned.add(name)) {
                LOG.warn("session attribute '{}' is not saved: its value ({}) was changed in place"
                        + " after setAttribute/getAttribute and can no longer be stored: {}; its"
                        + " stored value is kept and the request's other changes are committed."
                        + " Call setAttribute with a storable value instead", name,
                        value.getClass().getName(), e.getMessage());
            }
        }
    }

    void committed(Session after) {
        snapshot = after;
        dirty.clear();
        touchPending = false;
        intervalDirty = false;
    }

    void moved(Session after) {
        snapshot = after;
        id = after.id();
    }

    void gone() {
        valid = false;
    }

    /** On invalidation: valueUnbound and attributeRemoved for every attribute. */
    void unbindAll() {
        for (String name : names()) {
            Object v = value(name);
            if (v != null) {
                ctx.runtime().listeners().removed(this, name, v);
            }
        }
    }
}
