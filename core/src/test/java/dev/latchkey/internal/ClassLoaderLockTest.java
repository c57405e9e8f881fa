package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.lang.reflect.InvocationTargetException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Two copies of the library in one JVM (two web applications, a redeploy, Tomcat's parallel
 * deployment), each loaded by its own class loader and so with its own static fields: they must
 * share one lock table per directory. Otherwise the second copy's store, when closed, closes its
 * own channel of the lock file, and closing any channel drops every lock the process holds on the
 * file, including the first copy's.
 */
@Timeout(180)
final class ClassLoaderLockTest {
    @TempDir
    Path dir;

    @Test
    void secondCopyOpenedAndClosed_firstCopysLockStillHeld_andCopiesExcludeEachOther()
            throws Exception {
        URL[] urls = libraryClassPath();
        try (URLClassLoader app1 = new URLClassLoader(urls, ClassLoader.getPlatformClassLoader());
                URLClassLoader app2 = new URLClassLoader(urls,
                        ClassLoader.getPlatformClassLoader());
                ChildJvms jvms = new ChildJvms()) {
            Copy one = new Copy(app1);
            Copy two = new Copy(app2);
            assertTrue(one.storeClass() != two.storeClass(), "two copies of the classes");
            Object store1 = one.open(dir);
            String id = one.createId(store1);
            AutoCloseable lock1 = one.lock(store1, id, Duration.ofSeconds(10));

            Object store2 = two.open(dir);
            // in-JVM exclusion across the copies
            assertEquals("dev.latchkey.LockTimeoutException",
                    two.lockFailure(store2, id, Duration.ofMillis(200)));
            ((AutoCloseable) store2).close(); // the second application stops

            // another process must still find the stripe held by the first copy
            ChildJvms.Child prober = jvms.start("prober", "tryLock", dir, id, 500);
            prober.awaitLine(ChildWorker.READY, ChildJvms.START_TIMEOUT);
            prober.go();
            assertEquals("TIMEOUT", prober.awaitSuccess(ChildJvms.WORK_TIMEOUT).get("outcome"),
                    "the first copy's lock was dropped when the second copy closed its store");

            // a waiter of the second copy gets the lock when the first copy releases it
            Object store3 = two.open(dir);
            CompletableFuture<AutoCloseable> waiter = CompletableFuture.supplyAsync(
                    () -> two.lock(store3, id, Duration.ofSeconds(60)));
            lock1.close();
            AutoCloseable lock3 = waiter.get(60, TimeUnit.SECONDS);
            assertEquals("dev.latchkey.LockTimeoutException",
                    one.lockFailure(store1, id, Duration.ofMillis(200)));
            ((AutoCloseable) store1).close(); // now the first application stops
            ChildJvms.Child prober2 = jvms.start("prober2", "tryLock", dir, id, 500);
            prober2.awaitLine(ChildWorker.READY, ChildJvms.START_TIMEOUT);
            prober2.go();
            assertEquals("TIMEOUT", prober2.awaitSuccess(ChildJvms.WORK_TIMEOUT).get("outcome"),
                    "the second copy's lock was dropped when the first copy closed its store");
            lock3.close();
            ((AutoCloseable) store3).close();
            assertEquals(0, LockTable.referencesOf(dir.resolve(Layout.LOCK_FILE)));
        }
    }

    /** The core's classes and its runtime dependencies, as a separate application would have. */
    private static URL[] libraryClassPath() throws Exception {
        List<URL> urls = new ArrayList<>();
        urls.add(FileSessionStore.class.getProtectionDomain().getCodeSource().getLocation());
        for (String entry : System.getProperty("java.class.path").split(File.pathSeparator)) {
            String name = Path.of(entry).getFileName().toString();
            if (name.endsWith(".jar") && (name.startsWith("jackson-")
                    || name.startsWith("slf4j-"))) {
                urls.add(Path.of(entry).toUri().toURL());
            }
        }
        return urls.toArray(URL[]::new);
    }

    /** One copy of the library, driven by reflection (its types are not this test's types). */
    private static final class Copy {
        private final ClassLoader loader;

        Copy(ClassLoader loader) {
            this.loader = loader;
        }

        Class<?> storeClass() throws ClassNotFoundException {
            return loader.loadClass("dev.latchkey.SessionStore");
        }

        Object open(Path directory) throws Exception {
            Class<?> config = loader.loadClass("dev.latchkey.StoreConfig");
            Object builder = config.getMethod("builder", Path.class).invoke(null, directory);
            Object built = builder.getClass().getMethod("build").invoke(builder);
            return storeClass().getMethod("open", config).invoke(null, built);
        }

        String createId(Object store) throws Exception {
            Object session = storeClass().getMethod("create").invoke(store);
            return (String) loader.loadClass("dev.latchkey.Session").getMethod("id")
                    .invoke(session);
        }

        AutoCloseable lock(Object store, String id, Duration timeout) {
            try {
                return (AutoCloseable) storeClass().getMethod("lock", String.class,
                        Duration.class).invoke(store, id, timeout);
            } catch (InvocationTargetException e) {
                throw new IllegalStateException(e.getCause());
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException(e);
            }
        }

        /** The class name of what lock throws, or "acquired". */
        String lockFailure(Object store, String id, Duration timeout) throws Exception {
            try {
                ((AutoCloseable) storeClass().getMethod("lock", String.class, Duration.class)
                        .invoke(store, id, timeout)).close();
                return "acquired";
            } catch (InvocationTargetException e) {
                return e.getCause().getClass().getName();
            }
        }
    }
}
