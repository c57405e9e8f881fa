package dev.latchkey;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.testtypes.Color;
import dev.latchkey.testtypes.Money;
import java.io.Serializable;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

final class StoreConfigTest {
    @TempDir
    Path temp;

    private StoreConfig.Builder builder() {
        return StoreConfig.builder(temp.resolve("store"));
    }

    @Test
    void build_nothingSet_hasDocumentedDefaults() {
        StoreConfig config = builder().build();
        assertEquals(temp.resolve("store"), config.directory());
        assertEquals(Duration.ofSeconds(10), config.lockTimeout());
        assertEquals(StoreConfig.DEFAULT_LOCK_TIMEOUT, config.lockTimeout());
        assertEquals(Duration.ofMinutes(30), config.defaultMaxInactiveInterval());
        assertEquals(StoreConfig.DEFAULT_MAX_INACTIVE_INTERVAL,
                config.defaultMaxInactiveInterval());
        assertEquals(Set.of(), config.allowedTypes());
        assertEquals(List.of(), config.allowedPackages());
        assertEquals(Clock.systemUTC(), config.clock());
        assertFalse(Files.exists(temp.resolve("store")), "build must not touch the directory");
    }

    @Test
    void builder_relativeDirectory_isMadeAbsoluteAndNormal() {
        StoreConfig config = StoreConfig.builder(Path.of("a", "..", "b", ".", "c")).build();
        assertTrue(config.directory().isAbsolute());
        assertEquals(Path.of("b", "c").toAbsolutePath(), config.directory());
        assertThrows(NullPointerException.class, () -> StoreConfig.builder(null));
    }

    @Test
    void build_everythingSet_keepsValuesAndIsImmutable() {
        MutableClock clock = MutableClock.atFixedStart();
        Class<?>[] types = {Money.class, Color.class};
        String[] packages = {"com.example.cart", "org.example"};
        StoreConfig config = builder().lockTimeout(Duration.ofMillis(1))
                .defaultMaxInactiveInterval(Duration.ofSeconds(-5)).allowTypes(types)
                .allowPackages(packages).clock(clock).build();
        types[0] = String.class;
        packages[0] = "changed";
        assertEquals(Duration.ofMillis(1), config.lockTimeout());
        assertEquals(Duration.ofSeconds(-5), config.defaultMaxInactiveInterval());
        assertEquals(Set.of(Money.class, Color.class), config.allowedTypes());
        assertEquals(List.of("com.example.cart", "org.example"), config.allowedPackages());
        assertEquals(clock, config.clock());
        assertThrows(UnsupportedOperationException.class, () -> config.allowedTypes().clear());
        assertThrows(UnsupportedOperationException.class, () -> config.allowedPackages().clear());
        assertTrue(config.toString().contains(config.directory().toString()));
    }

    @Test
    void lockTimeout_validates() {
        assertThrows(IllegalArgumentException.class, () -> builder().lockTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class,
                () -> builder().lockTimeout(Duration.ofNanos(-1)));
        assertThrows(NullPointerException.class, () -> builder().lockTimeout(null));
        StoreConfig.Builder once = builder().lockTimeout(Duration.ofSeconds(1));
        assertThrows(IllegalStateException.class, () -> once.lockTimeout(Duration.ofSeconds(2)));
        assertEquals(Duration.ofSeconds(1), once.build().lockTimeout());
    }

    @Test
    void defaultMaxInactiveInterval_validates() {
        assertThrows(NullPointerException.class, () -> builder().defaultMaxInactiveInterval(null));
        StoreConfig.Builder once = builder().defaultMaxInactiveInterval(Duration.ZERO);
        assertThrows(IllegalStateException.class,
                () -> once.defaultMaxInactiveInterval(Duration.ofMinutes(1)));
        assertEquals(Duration.ZERO, once.build().defaultMaxInactiveInterval());
    }

    @Test
    void defaultMaxInactiveInterval_overTenThousandYears_isRefusedNotCut() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder().defaultMaxInactiveInterval(Duration.ofDays(5_000_000)));
        assertTrue(e.getMessage().contains("defaultMaxInactiveInterval")
                && e.getMessage().contains("at most 315360000000 s (10,000 years"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> builder().defaultMaxInactiveInterval(
                StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT.plusNanos(1)));
        assertEquals(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT, builder()
                .defaultMaxInactiveInterval(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT).build()
                .defaultMaxInactiveInterval(), "the limit itself is allowed");
        assertEquals(Duration.ofDays(-5_000_000), builder()
                .defaultMaxInactiveInterval(Duration.ofDays(-5_000_000)).build()
                .defaultMaxInactiveInterval(), "negative: never expire, however long");
    }

    @Test
    void clock_validates() {
        assertThrows(NullPointerException.class, () -> builder().clock(null));
        StoreConfig.Builder once = builder().clock(Clock.systemUTC());
        assertThrows(IllegalStateException.class, () -> once.clock(Clock.systemUTC()));
    }

    @Test
    void allowTypes_concreteClassesAndEnums_areAccepted() {
        assertEquals(Set.of(Money.class, Color.class),
                builder().allowTypes(Money.class, Color.class)
                        .build().allowedTypes());
        assertEquals(Set.of(), builder().allowTypes().build().allowedTypes());
    }

    @Test
    void allowTypes_validates() {
        Object anonymous = new Object() {
        };
        class Local {
        }
        for (Class<?> bad : List.of(Runnable.class, Serializable.class, AbstractList.class,
                Number.class, int.class, String[].class, int[].class, anonymous.getClass(),
                Local.class, Color.SPECIAL.getClass(), Object.class, String.class,
                ArrayList.class, java.util.Date.class)) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> builder().allowTypes(Money.class, bad), bad.getName());
            assertTrue(e.getMessage().contains(bad.getName()), e.getMessage());
        }
        assertThrows(NullPointerException.class, () -> builder().allowTypes((Class<?>[]) null));
        assertThrows(NullPointerException.class, () -> builder().allowTypes(Money.class, null));
        StoreConfig.Builder once = builder().allowTypes(Money.class);
        assertThrows(IllegalStateException.class, () -> once.allowTypes(Color.class));
        assertEquals(Set.of(Money.class), once.build().allowedTypes());
    }

    @ParameterizedTest
    @ValueSource(strings = {"java", "java.util", "java.lang.reflect", "javax.naming", "jdk.internal",
        "sun.misc", "com.sun.rowset", "com.sun"})
    void allowPackages_jdkPackage_isRefused(String jdkPackage) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> builder().allowPackages("com.example", jdkPackage));
        assertTrue(e.getMessage().contains(jdkPackage), e.getMessage());
    }

    @ParameterizedTest
    @ValueSource(strings = {"", " ", "com..example", ".com", "com.", "1com", "com.1x", "com/example",
        "com.example.*", "com example"})
    void allowPackages_notAPackageName_isRefused(String name) {
        assertThrows(IllegalArgumentException.class, () -> builder().allowPackages(name));
    }

    @Test
    void allowPackages_validates() {
        assertEquals(List.of("javafx.beans", "com.sunrise", "dev.latchkey.testtypes"),
                builder().allowPackages("javafx.beans", "com.sunrise", "dev.latchkey.testtypes")
                        .build().allowedPackages());
        assertThrows(NullPointerException.class, () -> builder().allowPackages((String[]) null));
        assertThrows(NullPointerException.class, () -> builder().allowPackages("com.a", null));
        StoreConfig.Builder once = builder().allowPackages("com.a");
        assertThrows(IllegalStateException.class, () -> once.allowPackages("com.b"));
    }

    // ---- opening ----

    @Test
    void open_pathIsRegularFile_throwsStoreExceptionWithPath() throws Exception {
        Path file = Files.writeString(temp.resolve("file"), "not a directory");
        StoreException e = assertThrows(StoreException.class,
                () -> SessionStore.open(StoreConfig.builder(file).build()));
        assertEquals(file, e.path());
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertEquals("not a directory", Files.readString(file));
    }

    @Test
    void open_parentIsRegularFile_throwsStoreException() throws Exception {
        Path file = Files.writeString(temp.resolve("file"), "x");
        StoreException e = assertThrows(StoreException.class,
                () -> SessionStore.open(StoreConfig.builder(file.resolve("store")).build()));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
    }

    @Test
    void open_nullConfig_throwsNullPointerException() {
        assertThrows(NullPointerException.class, () -> SessionStore.open(null));
    }

    @Test
    void open_directoryWithoutWritePermission_throwsStoreException() throws Exception {
        Assumptions.assumeTrue(isPosix(), "needs POSIX permissions");
        Path dir = Files.createDirectory(temp.resolve("readonly"));
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("r-x------"));
        try {
            Assumptions.assumeFalse(Files.isWritable(dir),
                    "this user (root?) may write to a read-only directory");
            StoreException e = assertThrows(StoreException.class,
                    () -> SessionStore.open(StoreConfig.builder(dir).build()));
            assertTrue(e.getMessage().contains(dir.toString()), e.getMessage());
        } finally {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwx------"));
        }
    }

    @Test
    void open_missingDirectories_areCreatedOwnerOnlyAndFilesAre0600() throws Exception {
        Assumptions.assumeTrue(isPosix(), "needs POSIX permissions");
        Path dir = temp.resolve("a").resolve("b").resolve("store");
        MutableClock clock = MutableClock.atFixedStart();
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).clock(clock).build())) {
            assertTrue(Files.isDirectory(dir));
            String id = store.create(store.change().set("k", "v").build()).id();
            store.commit(id, store.change().set("k", "w").build());
            // a damaged file makes the store create its quarantine directory
            String damaged = store.create().id();
            Files.write(dir.resolve("sessions").resolve(damaged.substring(0, 2)).resolve(damaged),
                    new byte[0]);
            assertTrue(store.find(damaged).isEmpty());
            assertTrue(Files.isDirectory(dir.resolve("quarantine")));
        }
        List<Path> all;
        try (Stream<Path> walk = Files.walk(dir)) {
            all = walk.collect(Collectors.toList());
        }
        assertTrue(all.size() >= 6, all.toString());
        for (Path p : all) {
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(p,
                    LinkOption.NOFOLLOW_LINKS);
            String expected = Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS) ? "rwx------"
                    : "rw-------";
            assertEquals(expected, PosixFilePermissions.toString(mode), temp.relativize(p)
                    .toString());
        }
    }

    private boolean isPosix() {
        return temp.getFileSystem().supportedFileAttributeViews().contains("posix");
    }
}
