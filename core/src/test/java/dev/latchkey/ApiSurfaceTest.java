package dev.latchkey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Executable;
import java.lang.reflect.Field;
import java.lang.reflect.GenericArrayType;
import java.lang.reflect.Member;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.lang.reflect.ParameterizedType;
import java.lang.reflect.Type;
import java.lang.reflect.TypeVariable;
import java.lang.reflect.WildcardType;
import java.net.URI;
import java.nio.file.FileSystem;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The public API is exactly package {@code dev.latchkey}, and it does not leak internal types. */
final class ApiSurfaceTest {
    private static final String INTERNAL = "dev.latchkey.internal";

    private static final Set<String> EXPECTED = Set.of(
            "dev.latchkey.SessionStore",
            "dev.latchkey.StoreConfig",
            "dev.latchkey.LockInterruptedException",
            "dev.latchkey.Durability",
            "dev.latchkey.StoreStats",
            "dev.latchkey.RecoveryReport",
            "dev.latchkey.SweepResult",
            "dev.latchkey.StoreConfig$Builder",
            "dev.latchkey.Session",
            "dev.latchkey.SessionChange",
            "dev.latchkey.SessionChange$Builder",
            "dev.latchkey.SessionLock",
            "dev.latchkey.LatchkeyException",
            "dev.latchkey.StoreException",
            "dev.latchkey.LockTimeoutException");

    /** Every class of package dev.latchkey in the main output (not the tests). */
    private static List<Class<?>> mainClassesOfApiPackage() throws Exception {
        URI location = SessionStore.class.getProtectionDomain().getCodeSource().getLocation()
                .toURI();
        Path root = Path.of(location);
        List<String> names = new ArrayList<>();
        if (Files.isDirectory(root)) {
            names.addAll(classFilesIn(root.resolve("dev/latchkey")));
        } else {
            try (FileSystem jar = FileSystems.newFileSystem(root)) {
                names.addAll(classFilesIn(jar.getPath("dev/latchkey")));
            }
        }
        List<Class<?>> classes = new ArrayList<>();
        for (String file : names) {
            String binaryName = "dev.latchkey." + file.substring(0, file.length() - ".class".length());
            if (!binaryName.endsWith("package-info")) {
                classes.add(Class.forName(binaryName, false, SessionStore.class.getClassLoader()));
            }
        }
        return classes;
    }

    private static List<String> classFilesIn(Path dir) throws Exception {
        try (Stream<Path> files = Files.list(dir)) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".class"))
                    .collect(Collectors.toList());
        }
    }

    private static boolean isPublicApi(Class<?> type) {
        for (Class<?> c = type; c != null; c = c.getDeclaringClass()) {
            if (!Modifier.isPublic(c.getModifiers())) {
                return false;
            }
        }
        return true;
    }

    @Test
    void apiPackage_publicTypes_areExactlyTheExpectedSet() throws Exception {
        List<Class<?>> classes = mainClassesOfApiPackage();
        assertTrue(classes.contains(SessionStore.class), "did not find the main classes");
        Set<String> publicTypes = classes.stream().filter(ApiSurfaceTest::isPublicApi)
                .map(Class::getName).collect(Collectors.toCollection(TreeSet::new));
        assertEquals(new TreeSet<>(EXPECTED), publicTypes);
    }

    @Test
    void apiTypes_signatures_mentionNoInternalType() throws Exception {
        List<String> leaks = new ArrayList<>();
        for (Class<?> type : mainClassesOfApiPackage()) {
            if (!isPublicApi(type)) {
                continue;
            }
            check(type.getName() + " extends", type.getGenericSuperclass(), leaks);
            for (Type i : type.getGenericInterfaces()) {
                check(type.getName() + " implements", i, leaks);
            }
            List<Member> members = new ArrayList<>();
            members.addAll(List.of(type.getDeclaredMethods()));
            members.addAll(List.of(type.getDeclaredConstructors()));
            members.addAll(List.of(type.getDeclaredFields()));
            for (Member m : members) {
                if (!(Modifier.isPublic(m.getModifiers()) || Modifier.isProtected(m.getModifiers()))
                        || m.isSynthetic()) {
                    continue;
                }
                String where = type.getName() + "#" + m.getName();
                if (m instanceof Field) {
                    check(where, ((Field) m).getGenericType(), leaks);
                    continue;
                }
                Executable e = (Executable) m;
                if (e instanceof Method) {
                    check(where + " returns", ((Method) e).getGenericReturnType(), leaks);
                }
                for (Type p : e.getGenericParameterTypes()) {
                    check(where + " takes", p, leaks);
                }
                for (Type x : e.getGenericExceptionTypes()) {
                    check(where + " throws", x, leaks);
                }
            }
        }
        assertEquals(List.of(), leaks);
    }

    @Test
    void check_findsInternalTypesNestedInGenerics() throws Exception {
        // the checker itself must be able to fail
        List<String> leaks = new ArrayList<>();
        Method m = Holder.class.getDeclaredMethod("leak", Map.class);
        check("probe", m.getGenericParameterTypes()[0], leaks);
        check("probe", m.getGenericReturnType(), leaks);
        assertEquals(2, leaks.size(), leaks.toString());
    }

    private static final class Holder {
        @SuppressWarnings("unused")
        static List<? extends dev.latchkey.internal.SessionIds> leak(
                Map<String, dev.latchkey.internal.SessionIds[]> in) {
            return null;
        }
    }

    private static void check(String where, Type type, List<String> leaks) {
        if (type == null) {
            return;
        }
        if (type instanceof Class<?>) {
            Class<?> c = (Class<?>) type;
            while (c.isArray()) {
                c = c.getComponentType();
            }
            if (c.getPackageName().equals(INTERNAL) || c.getPackageName().startsWith(INTERNAL + ".")) {
                leaks.add(where + ": " + c.getName());
            }
        } else if (type instanceof ParameterizedType) {
            ParameterizedType p = (ParameterizedType) type;
            check(where, p.getRawType(), leaks);
            check(where, p.getOwnerType(), leaks);
            for (Type argument : p.getActualTypeArguments()) {
                check(where, argument, leaks);
            }
        } else if (type instanceof WildcardType) {
            for (Type bound : ((WildcardType) type).getUpperBounds()) {
                check(where, bound, leaks);
            }
            for (Type bound : ((WildcardType) type).getLowerBounds()) {
                check(where, bound, leaks);
            }
        } else if (type instanceof GenericArrayType) {
            check(where, ((GenericArrayType) type).getGenericComponentType(), leaks);
        } else if (type instanceof TypeVariable<?>) {
            for (Type bound : ((TypeVariable<?>) type).getBounds()) {
                check(where, bound, leaks);
            }
        }
    }
}
