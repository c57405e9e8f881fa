package dev.latchkey.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import jakarta.servlet.Filter;
import java.lang.reflect.Constructor;
import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The published surface of the servlet adapter: which types package {@code dev.latchkey.servlet}
 * exports, and that their signatures expose neither the internal package nor servlet types beyond
 * those of the {@link Filter} interface itself.
 */
final class ServletApiSurfaceTest {

    /** Every public (or protected nested) class compiled into package dev.latchkey.servlet. */
    private static Set<Class<?>> publicTypes() throws Exception {
        URI classes = LatchkeyFilter.class.getProtectionDomain().getCodeSource().getLocation()
                .toURI();
        Path dir = Path.of(classes).resolve("dev/latchkey/servlet");
        assertTrue(Files.isDirectory(dir), "main classes are a directory here: " + dir);
        Set<Class<?>> types = new LinkedHashSet<>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String file = f.getFileName().toString();
                if (!file.endsWith(".class") || file.equals("package-info.class")) {
                    continue;
                }
                Class<?> c = Class.forName("dev.latchkey.servlet."
                        + file.substring(0, file.length() - ".class".length()), false,
                        LatchkeyFilter.class.getClassLoader());
                if (isExported(c)) {
                    types.add(c);
                }
            }
        }
        return types;
    }

    /** Public (or a protected member), inside enclosing classes that are exported too. */
    private static boolean isExported(Class<?> c) {
        if (c.isAnonymousClass() || c.isLocalClass() || c.isSynthetic()) {
            return false;
        }
        int m = c.getModifiers();
        if (!(Modifier.isPublic(m) || (c.isMemberClass() && Modifier.isProtected(m)))) {
            return false;
        }
        return c.getEnclosingClass() == null || isExported(c.getEnclosingClass());
    }

    @Test
    void package_exportsExactlyTheFilterItsBuilderAndTheTwoPolicies() throws Exception {
        Set<String> names = new TreeSet<>();
        for (Class<?> c : publicTypes()) {
            names.add(c.getName());
        }
        assertEquals(new TreeSet<>(Set.of(LatchkeyFilter.class.getName(),
                LatchkeyFilter.Builder.class.getName(), SaveMode.class.getName(),
                Concurrency.class.getName(), CookieSecure.class.getName())), names);
    }

    /** Filter itself and every type its method signatures mention. */
    private static Set<Class<?>> filtersOwnTypes() {
        Set<Class<?>> own = new LinkedHashSet<>();
        own.add(Filter.class);
        for (Method m : Filter.class.getMethods()) {
            classes(m.getGenericReturnType(), own);
            for (Type p : m.getGenericParameterTypes()) {
                classes(p, own);
            }
            for (Type x : m.getGenericExceptionTypes()) {
                classes(x, own);
            }
        }
        return own;
    }

    @Test
    void signatures_mentionNoInternalTypeAndNoServletTypeBeyondFiltersOwn() throws Exception {
        Set<Class<?>> allowedServlet = filtersOwnTypes();
        assertTrue(allowedServlet.contains(jakarta.servlet.FilterConfig.class), "sanity");
        assertFalse(allowedServlet.contains(jakarta.servlet.http.HttpServletRequest.class));
        List<String> offences = new ArrayList<>();
        Set<Class<?>> seen = new LinkedHashSet<>();
        for (Class<?> type : publicTypes()) {
            signatures(type, (where, mentioned) -> {
                seen.add(mentioned);
                String n = mentioned.getName();
                if (n.startsWith("dev.latchkey.") && n.contains(".internal.")) {
                    offences.add(where + " mentions " + n);
                }
                if (n.startsWith("jakarta.") && !allowedServlet.contains(mentioned)) {
                    offences.add(where + " mentions " + n);
                }
            });
        }
        assertEquals(List.of(), offences);
        // the walk reaches what it must: the Filter methods and the builder's parameter types
        assertTrue(seen.containsAll(List.of(jakarta.servlet.FilterConfig.class,
                java.time.Duration.class, java.util.EventListener.class)), seen.toString());
    }

    private interface Mention {
        void found(String where, Class<?> mentioned);
    }

    /** Reports every class in the public and protected signatures declared by type. */
    private static void signatures(Class<?> type, Mention out) {
        String t = type.getName();
        check(t + " extends", type.getGenericSuperclass(), out);
        for (Type i : type.getGenericInterfaces()) {
            check(t + " implements", i, out);
        }
        for (Constructor<?> c : type.getDeclaredConstructors()) {
            if (visible(c.getModifiers())) {
                executable(t + ".<init>", c, out);
            }
        }
        for (Method m : type.getDeclaredMethods()) {
            if (visible(m.getModifiers()) && !m.isSynthetic()) {
                executable(t + "." + m.getName(), m, out);
                check(t + "." + m.getName() + " returns", m.getGenericReturnType(), out);
            }
        }
        for (Field f : type.getDeclaredFields()) {
            if (visible(f.getModifiers()) && !f.isSynthetic()) {
                check(t + "." + f.getName(), f.getGenericType(), out);
            }
        }
    }

    private static void executable(String where, Executable e, Mention out) {
        for (Type p : e.getGenericParameterTypes()) {
            check(where + " parameter", p, out);
        }
        for (Type x : e.getGenericExceptionTypes()) {
            check(where + " throws", x, out);
        }
        for (TypeVariable<?> v : e.getTypeParameters()) {
            check(where + " type parameter", v, out);
        }
    }

    private static void check(String where, Type t, Mention out) {
        if (t == null) {
            return;
        }
        Set<Class<?>> found = new LinkedHashSet<>();
        classes(t, found);
        for (Class<?> c : found) {
            out.found(where, c);
        }
    }

    private static boolean visible(int modifiers) {
        return Modifier.isPublic(modifiers) || Modifier.isProtected(modifiers);
    }

    private static void classes(Type t, Set<Class<?>> into) {
        classes(t, into, new HashSet<>());
    }

    private static void classes(Type t, Set<Class<?>> into, Set<Type> variables) {
        if (t instanceof Class<?> c) {
            if (c.isArray()) {
                classes(c.getComponentType(), into, variables);
            } else if (!c.isPrimitive()) {
                into.add(c);
            }
        } else if (t instanceof ParameterizedType p) {
            classes(p.getRawType(), into, variables);
            for (Type a : p.getActualTypeArguments()) {
                classes(a, into, variables);
            }
        } else if (t instanceof GenericArrayType g) {
            classes(g.getGenericComponentType(), into, variables);
        } else if (t instanceof WildcardType w) {
            for (Type b : w.getUpperBounds()) {
                classes(b, into, variables);
            }
            for (Type b : w.getLowerBounds()) {
                classes(b, into, variables);
            }
        } else if (t instanceof TypeVariable<?> v && variables.add(v)) {
            // the set stops recursive bounds such as E extends Enum<E>
            for (Type b : v.getBounds()) {
                classes(b, into, variables);
            }
        }
    }
}
