package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.StoreException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The MAC key: where it comes from, which key files are refused and why, rotation, and the
 * race-free creation of the default key file by several threads and processes.
 */
@Timeout(value = 5, unit = TimeUnit.MINUTES)
final class MacKeyTest {
    @TempDir
    Path temp;

    private Path dir() {
        return temp.resolve("store");
    }

    private SessionStore open(StoreConfig.Builder builder) {
        return SessionStore.open(builder.clock(MutableClock.atFixedStart())
                .lockTimeout(Duration.ofSeconds(5)).build());
    }

    private static boolean isPosix(Path path) {
        return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    private static Path writeKey(Path file, byte[] key) throws Exception {
        Files.write(file, key);
        if (isPosix(file)) {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        }
        return file;
    }

    private List<String> quarantined() throws Exception {
        Path quarantine = dir().resolve("quarantine");
        if (!Files.exists(quarantine)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(quarantine)) {
            return files.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    // ---- the default key file ----

    @Test
    void open_withoutKey_createsSiblingKeyFileOutsideTheDirectory_andKeepsUsingIt()
            throws Exception {
        StoreConfig config = StoreConfig.builder(dir()).build();
        Path keyFile = temp.resolve("store.key");
        assertEquals(Optional.of(keyFile), config.macKeyFile());
        assertFalse(Files.exists(keyFile), "build() must not touch the file system");
        String id;
        try (SessionStore store = SessionStore.open(config)) {
            id = store.create(store.change().set("user", "alice").build()).id();
        }
        assertTrue(Files.isRegularFile(keyFile, LinkOption.NOFOLLOW_LINKS));
        byte[] key = Files.readAllBytes(keyFile);
        assertEquals(32, key.length);
        if (isPosix(keyFile)) {
            assertEquals("rw-------", PosixFilePermissions.toString(
                    Files.getPosixFilePermissions(keyFile, LinkOption.NOFOLLOW_LINKS)));
        }
        try (Stream<Path> beside = Files.list(temp)) {
            assertEquals(List.of("store", "store.key"), beside.map(p -> p.getFileName().toString())
                    .sorted().collect(Collectors.toList()), "no temp file is left");
        }
        try (SessionStore again = SessionStore.open(config)) {
            assertEquals("alice", again.find(id).orElseThrow().attribute("user"));
        }
        assertArrayEquals(key, Files.readAllBytes(keyFile), "the key must not change");
    }

    @Test
    void open_keyFileLost_newKeyIsMade_oldSessionsAreRefusedWithWarn() throws Exception {
        String id;
        try (SessionStore store = open(StoreConfig.builder(dir()))) {
            id = store.create(store.change().set("user", "alice").build()).id();
        }
        Files.delete(temp.resolve("store.key"));
        try (LogCapture log = new LogCapture(); SessionStore store = open(StoreConfig.builder(dir()))) {
            assertEquals(1, log.warnings("created a new MAC key file", "already holds sessions")
                    .size(), log.warnings().toString());
            assertTrue(store.find(id).isEmpty(), "a session signed with a lost key is gone");
            assertEquals(1, log.warnings(FileSessionStore.describe(id).substring(8), "MAC mismatch", "left in place").size(),
                    log.warnings().toString());
            assertTrue(Files.exists(new Layout(dir()).current(id)),
                    "a file signed with a key this store lacks is not moved aside");
            assertEquals(List.of(), quarantined());
        }
    }

    // ---- keys given in the configuration ----

    @Test
    void macKey_bytes_signAndVerify_arrayIsCopied_noKeyFileMade() throws Exception {
        byte[] key = TestKeys.random();
        byte[] original = key.clone();
        StoreConfig.Builder builder = StoreConfig.builder(dir()).macKey(key);
        key[0]++; // the caller's array is not the key
        String id;
        try (SessionStore store = open(builder)) {
            assertEquals(Optional.empty(), store.config().macKeyFile());
            id = store.create(store.change().set("user", "alice").build()).id();
        }
        assertFalse(Files.exists(temp.resolve("store.key")));
        try (SessionStore store = open(StoreConfig.builder(dir()).macKey(original))) {
            assertEquals("alice", store.find(id).orElseThrow().attribute("user"));
        }
        try (SessionStore store = open(StoreConfig.builder(dir()).macKey(key))) {
            assertTrue(store.find(id).isEmpty(), "another key must not verify");
        }
        assertEquals(List.of(), quarantined(), "a process with the wrong key moves nothing aside");
        try (SessionStore store = open(StoreConfig.builder(dir()).macKey(original))) {
            assertEquals("alice", store.find(id).orElseThrow().attribute("user"));
        }
    }

    @Test
    void macKey_badValues_areRefusedByTheBuilder() {
        StoreConfig.Builder b = StoreConfig.builder(dir());
        IllegalArgumentException shortKey = assertThrows(IllegalArgumentException.class,
                () -> b.macKey(new byte[31]));
        assertTrue(shortKey.getMessage().contains("32"), shortKey.getMessage());
        IllegalArgumentException constant = assertThrows(IllegalArgumentException.class,
                () -> b.macKey(new byte[32]));
        assertTrue(constant.getMessage().contains("secure random"), constant.getMessage());
        assertThrows(IllegalArgumentException.class, () -> b.macKey(new byte[1025]));
        assertThrows(NullPointerException.class, () -> b.macKey(null));
        assertThrows(IllegalArgumentException.class, () -> b.previousMacKeys(new byte[8]));
        assertThrows(NullPointerException.class,
                () -> b.previousMacKeys(TestKeys.random(), null));

        b.macKey(TestKeys.random());
        assertThrows(IllegalStateException.class, () -> b.macKey(TestKeys.random()));
        IllegalStateException both = assertThrows(IllegalStateException.class,
                () -> b.macKeyFile(temp.resolve("k")));
        assertTrue(both.getMessage().contains("exclude each other"), both.getMessage());
        assertThrows(IllegalStateException.class, () -> StoreConfig.builder(dir())
                .macKeyFile(temp.resolve("k")).macKey(TestKeys.random()));
    }

    @Test
    void macKeyFile_insideTheSessionDirectory_isRefused() throws Exception {
        for (Path inside : List.of(dir().resolve("latchkey.key"), dir(),
                dir().resolve("sessions").resolve("..").resolve("k"))) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> StoreConfig.builder(dir()).macKeyFile(inside));
            assertTrue(e.getMessage().contains("inside the session directory"), e.getMessage());
            assertThrows(IllegalArgumentException.class,
                    () -> StoreConfig.builder(dir()).previousMacKeyFiles(inside));
        }
        // the same, reached through a symbolic link: refused when the store opens
        Files.createDirectories(dir());
        Path link = Files.createSymbolicLink(temp.resolve("link"), dir());
        writeKey(dir().resolve("k"), TestKeys.random());
        StoreException e = assertThrows(StoreException.class,
                () -> open(StoreConfig.builder(dir()).macKeyFile(link.resolve("k"))));
        assertTrue(e.getMessage().contains("inside the session directory"), e.getMessage());
    }

    @Test
    void macKeyFile_given_isUsed_andMustExist() throws Exception {
        Path keyFile = temp.resolve("secrets").resolve("latchkey.key");
        StoreException missing = assertThrows(StoreException.class,
                () -> open(StoreConfig.builder(dir()).macKeyFile(keyFile)));
        assertTrue(missing.getMessage().contains("head -c 32 /dev/urandom > " + keyFile),
                missing.getMessage());
        assertFalse(Files.exists(keyFile), "a configured key file is never made up");

        Files.createDirectories(keyFile.getParent());
        byte[] key = TestKeys.random();
        writeKey(keyFile, key);
        String id;
        try (SessionStore store = open(StoreConfig.builder(dir()).macKeyFile(keyFile))) {
            assertEquals(Optional.of(keyFile), store.config().macKeyFile());
            id = store.create(store.change().set("user", "alice").build()).id();
        }
        try (SessionStore store = open(StoreConfig.builder(dir()).macKey(key))) {
            assertEquals("alice", store.find(id).orElseThrow().attribute("user"));
        }
        assertFalse(Files.exists(temp.resolve("store.key")));
    }

    /** A key file and what the store must say about it. */
    private void assertRefused(Path keyFile, String... fragments) {
        StoreException e = assertThrows(StoreException.class,
                () -> open(StoreConfig.builder(dir()).macKeyFile(keyFile)));
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), e.getMessage());
        }
        assertEquals(keyFile, e.path());
        StoreException previous = assertThrows(StoreException.class,
                () -> open(StoreConfig.builder(dir()).previousMacKeyFiles(keyFile)));
        assertEquals(keyFile, previous.path());
    }

    @Test
    void keyFile_tooShortOrTooLong_isRefused() throws Exception {
        assertRefused(writeKey(temp.resolve("short.key"), new byte[16]), "16",
                "head -c 32 /dev/urandom");
        assertRefused(writeKey(temp.resolve("empty.key"), new byte[0]), "has 0");
        assertRefused(writeKey(temp.resolve("long.key"), new byte[4096]), "4096");
    }

    @Test
    void keyFile_symlink_isRefused() throws Exception {
        Path real = writeKey(temp.resolve("real.key"), TestKeys.random());
        Path link = Files.createSymbolicLink(temp.resolve("link.key"), real);
        assertRefused(link, "symbolic link");
    }

    @Test
    void keyFile_directory_isRefused() throws Exception {
        assertRefused(Files.createDirectory(temp.resolve("dir.key")), "not a regular file");
    }

    @Test
    void keyFile_readableByGroupOrOthers_isRefusedWithChmodAdvice() throws Exception {
        Assumptions.assumeTrue(isPosix(temp), "needs POSIX permissions");
        for (String mode : List.of("rw-r-----", "rw----r--", "rw--w----", "rw-rw-rw-")) {
            Path file = writeKey(temp.resolve(mode + ".key"), TestKeys.random());
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
            assertRefused(file, "chmod 600 " + file);
        }
        Path readOnly = writeKey(temp.resolve("r.key"), TestKeys.random());
        Files.setPosixFilePermissions(readOnly, PosixFilePermissions.fromString("r--------"));
        try (SessionStore store = open(StoreConfig.builder(dir()).macKeyFile(readOnly))) {
            assertTrue(store.find(SessionIds.generate()).isEmpty(), "mode 0400 is fine");
        }
    }

    @Test
    void keyFile_unreadable_isRefusedSayingSo() throws Exception {
        Assumptions.assumeTrue(isPosix(temp), "needs POSIX permissions");
        Path file = writeKey(temp.resolve("locked.key"), TestKeys.random());
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("---------"));
        Assumptions.assumeFalse(Files.isReadable(file), "root reads every file");
        assertRefused(file, "permission denied");
    }

    @Test
    void defaultKeyFile_unsafe_isRefusedNotReplaced() throws Exception {
        Assumptions.assumeTrue(isPosix(temp), "needs POSIX permissions");
        Path keyFile = temp.resolve("store.key");
        byte[] key = TestKeys.random();
        writeKey(keyFile, key);
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-r--r--"));
        StoreException e = assertThrows(StoreException.class,
                () -> open(StoreConfig.builder(dir())));
        assertTrue(e.getMessage().contains("chmod 600 " + keyFile), e.getMessage());
        assertArrayEquals(key, Files.readAllBytes(keyFile));
    }

    @Test
    void config_neverShowsTheKey() {
        byte[] key = TestKeys.random();
        StoreConfig config = StoreConfig.builder(dir()).macKey(key)
                .previousMacKeys(TestKeys.random()).build();
        String text = config.toString();
        assertTrue(text.contains("macKey=<given>"), text);
        for (String form : List.of(HexFormat.of().formatHex(key),
                HexFormat.of().withUpperCase().formatHex(key), Base64.getEncoder().encodeToString(key),
                Base64.getUrlEncoder().withoutPadding().encodeToString(key),
                java.util.Arrays.toString(key), new String(key,
                        java.nio.charset.StandardCharsets.ISO_8859_1))) {
            assertFalse(text.contains(form), text);
        }
        String withFile = StoreConfig.builder(dir()).build().toString();
        assertTrue(withFile.contains("macKeyFile=" + temp.resolve("store.key")), withFile);
        // nothing that walks the getters (a framework's config dump) can reach the bytes
        for (java.lang.reflect.Method m : StoreConfig.class.getMethods()) {
            String type = m.getGenericReturnType().getTypeName();
            assertFalse(type.contains("byte[]"), m + " returns key material");
        }
    }

    // ---- rotation ----

    @Test
    void rotation_previousKeyVerifies_commitReSigns_unknownKeyIsRefusedInPlace() throws Exception {
        byte[] k1 = TestKeys.random();
        byte[] k2 = TestKeys.random();
        Layout layout = new Layout(dir());
        String a;
        String b;
        String c;
        try (SessionStore old = open(StoreConfig.builder(dir()).macKey(k1))) {
            a = old.create(old.change().set("user", "alice").build()).id();
            b = old.create(old.change().set("user", "bob").build()).id();
            c = old.create(old.change().set("user", "carol").build()).id();
        }
        byte[] bBefore = Files.readAllBytes(layout.current(b));

        // step 1 of a rotation: sign with k1, also accept k2 (not needed yet, harmless)
        try (SessionStore step1 = open(StoreConfig.builder(dir()).macKey(k1)
                .previousMacKeys(k2))) {
            assertEquals("alice", step1.find(a).orElseThrow().attribute("user"));
        }
        // step 2: sign with k2, accept k1
        try (SessionStore rotated = open(StoreConfig.builder(dir()).macKey(k2)
                .previousMacKeys(k1))) {
            assertEquals("alice", rotated.find(a).orElseThrow().attribute("user"));
            assertEquals(keyIdOf(k1), keyIdIn(layout.current(a)), "a read writes nothing");
            Session committed = rotated.commit(a, rotated.change().set("n", 1).build())
                    .orElseThrow();
            assertEquals("alice", committed.attribute("user"));
            assertEquals(keyIdOf(k2), keyIdIn(layout.current(a)), "the commit re-signed it");
            assertEquals("carol", rotated.find(c).orElseThrow().attribute("user"));
        }
        // a process still on step 1 reads both kinds
        try (SessionStore step1 = open(StoreConfig.builder(dir()).macKey(k1)
                .previousMacKeys(k2))) {
            assertEquals(1, step1.find(a).orElseThrow().attribute("n"));
            assertEquals("bob", step1.find(b).orElseThrow().attribute("user"));
        }
        assertArrayEquals(bBefore, Files.readAllBytes(layout.current(b)));
        // step 3: k1 retired; b was never written again, so k1 is unknown to it now
        try (LogCapture log = new LogCapture();
                SessionStore retired = open(StoreConfig.builder(dir()).macKey(k2))) {
            assertEquals(1, retired.find(a).orElseThrow().attribute("n"));
            assertTrue(retired.find(b).isEmpty());
            List<String> warned = log.warnings(Redaction.path(layout.current(b)), "MAC mismatch",
                    "signed with key " + keyIdOf(k1), "does not have");
            assertEquals(1, warned.size(), log.warnings().toString());
            assertFalse(warned.get(0).contains(HexFormat.of().formatHex(k1)), warned.get(0));
            assertFalse(warned.get(0).contains(HexFormat.of().formatHex(k2)), warned.get(0));
        }
        assertEquals(List.of(), quarantined(), "refused, not moved aside");
        assertArrayEquals(bBefore, Files.readAllBytes(layout.current(b)));
        // a store with an unrelated key accepts none of them
        try (SessionStore stranger = open(StoreConfig.builder(dir()).macKey(TestKeys.random()))) {
            assertTrue(stranger.find(c).isEmpty());
        }
        assertEquals(List.of(), quarantined(), quarantined().toString());
        // the misconfigured process destroyed nothing: the right key reads c again
        try (SessionStore fixed = open(StoreConfig.builder(dir()).macKey(k2).previousMacKeys(k1))) {
            assertEquals("carol", fixed.find(c).orElseThrow().attribute("user"));
        }
    }

    @Test
    void rotation_withKeyFiles() throws Exception {
        Path k1 = writeKey(temp.resolve("k1.key"), TestKeys.random());
        Path k2 = writeKey(temp.resolve("k2.key"), TestKeys.random());
        String id;
        try (SessionStore old = open(StoreConfig.builder(dir()).macKeyFile(k1))) {
            id = old.create(old.change().set("user", "alice").build()).id();
        }
        try (SessionStore rotated = open(StoreConfig.builder(dir()).macKeyFile(k2)
                .previousMacKeyFiles(k1))) {
            assertEquals(List.of(k1), rotated.config().previousMacKeyFiles());
            assertEquals("alice", rotated.find(id).orElseThrow().attribute("user"));
            rotated.commit(id, rotated.change().touch().build()).orElseThrow();
        }
        try (SessionStore retired = open(StoreConfig.builder(dir()).macKeyFile(k2))) {
            assertEquals("alice", retired.find(id).orElseThrow().attribute("user"));
        }
    }

    private static String keyIdOf(byte[] key) {
        return TestKeys.of(Path.of("unused"), key).signing().id;
    }

    private static String keyIdIn(Path file) throws Exception {
        String text = Files.readString(file);
        int at = text.indexOf("\"key\":\"") + 7;
        return text.substring(at, at + 8);
    }

    // ---- creating the default key file concurrently ----

    @Test
    void defaultKeyFile_threadsOpeningAFreshDirectoryAtOnce_allGetTheSameKey() throws Exception {
        int threads = 8;
        int rounds = 20;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            for (int round = 0; round < rounds; round++) {
                Path dir = temp.resolve("fresh-" + round);
                CyclicBarrier start = new CyclicBarrier(threads);
                List<Future<String>> created = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int thread = t;
                    Callable<String> task = () -> {
                        start.await(1, TimeUnit.MINUTES);
                        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir)
                                .build())) {
                            return store.create(store.change().set("t", thread).build()).id();
                        }
                    };
                    created.add(pool.submit(task));
                }
                List<String> ids = new ArrayList<>();
                for (Future<String> f : created) {
                    ids.add(f.get(1, TimeUnit.MINUTES));
                }
                assertAllReadable(dir, ids);
            }
        } finally {
            pool.shutdownNow();
            assertTrue(pool.awaitTermination(1, TimeUnit.MINUTES));
        }
    }

    @Test
    void defaultKeyFile_processesOpeningFreshDirectoriesAtOnce_allGetTheSameKey() {
        int children = 4;
        int rounds = 15;
        Path base = temp.resolve("fresh");
        List<Map<String, String>> results;
        try (ChildJvms jvms = new ChildJvms()) {
            for (int c = 0; c < children; c++) {
                jvms.start("opener-" + c, "openFresh", temp.resolve("scratch-" + c), "-", base,
                        rounds);
            }
            jvms.awaitAllReady();
            jvms.goAll();
            results = jvms.awaitAllSucceeded();
        }
        for (int round = 0; round < rounds; round++) {
            List<String> ids = new ArrayList<>();
            for (Map<String, String> r : results) {
                ids.add(r.get("created-" + round));
            }
            assertAllReadable(temp.resolve("fresh-" + round), ids);
        }
    }

    /**
     * Every session of {@code ids} verifies with the key in {@code dir}'s key file: all creators
     * signed with that one key. No temp file of the key's creation is left.
     */
    private void assertAllReadable(Path dir, List<String> ids) {
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
            for (String id : ids) {
                assertTrue(store.find(id).isPresent(), "session " + id + " of " + ids + " in "
                        + dir + " was signed with another key");
            }
        }
        assertFalse(Files.exists(dir.resolve("quarantine")));
        try (Stream<Path> beside = Files.list(dir.getParent())) {
            List<String> leftovers = beside.map(p -> p.getFileName().toString())
                    .filter(n -> n.startsWith(dir.getFileName() + ".key."))
                    .collect(Collectors.toList());
            assertEquals(List.of(), leftovers);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
