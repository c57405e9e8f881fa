package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Ids from untrusted sources. A malformed id is "no session" for every operation, and it touches
 * no file: where the store would have looked for it, a valid session file naming exactly that id
 * is planted, and it is never found, changed, moved or removed; nothing is created either.
 */
final class HostileIdTest {
    /** A valid id; the hostile ids below are variations of it. */
    private static final String VALID = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCdE";

    @TempDir
    Path temp;
    private Path dir;
    private SessionStore store;

    @BeforeEach
    void open() {
        dir = temp.resolve("store");
        store = SessionStore.open(StoreConfig.builder(dir).clock(MutableClock.atFixedStart())
                .lockTimeout(Duration.ofMillis(300)).build());
    }

    @AfterEach
    void close() {
        store.close();
    }

    static Stream<Arguments> hostileIds() {
        char[] nonAscii = VALID.toCharArray();
        nonAscii[10] = '\u00e9';
        char[] fullWidth = VALID.toCharArray();
        fullWidth[0] = '\uff21'; // FULLWIDTH LATIN CAPITAL LETTER A
        return Stream.of(
                Arguments.of("parent traversal", "../x"),
                Arguments.of("dot dot", ".."),
                Arguments.of("dot", "."),
                Arguments.of("absolute /etc/passwd", "/etc/passwd"),
                Arguments.of("empty", ""),
                Arguments.of("NUL inside", "a\u0000b"),
                Arguments.of("NUL in a 43-char id", VALID.substring(0, 20) + "\u0000"
                        + VALID.substring(21)),
                Arguments.of("44 chars", VALID + "A"),
                Arguments.of("overlong", VALID.repeat(100)),
                Arguments.of("42 chars", VALID.substring(0, 42)),
                Arguments.of("non-ASCII letter", new String(nonAscii)),
                Arguments.of("full-width letter", new String(fullWidth)),
                Arguments.of("dot inside", VALID.substring(0, 20) + "." + VALID.substring(21)),
                Arguments.of("43 chars of traversal", "../../../../../../../../../../../etc/passwd"),
                Arguments.of("slash inside", VALID.substring(0, 2) + "/" + VALID.substring(3)),
                Arguments.of("backslash inside", VALID.substring(0, 2) + "\\" + VALID.substring(3)),
                Arguments.of("standard base64 '+'", VALID.substring(0, 5) + "+" + VALID.substring(6)),
                Arguments.of("padding '='", VALID.substring(0, 42) + "="),
                Arguments.of("space", VALID.substring(0, 42) + " "),
                Arguments.of("padding bits set (B)", VALID.substring(0, 42) + "B"),
                Arguments.of("padding bits set (_)", VALID.substring(0, 42) + "_"),
                Arguments.of("padding bits set (z)", VALID.substring(0, 42) + "z"));
    }

    @Test
    void validSample_isWellFormed() {
        // the hostile ids are near misses of this one, which the store must accept
        assertTrue(SessionIds.isWellFormed(VALID));
        assertTrue(SessionIds.isWellFormed(SessionIds.generate()));
    }

    /** The planting technique works: a planted file for a well-formed id is found. */
    @Test
    void plantedFile_forWellFormedId_isFound() throws Exception {
        Path planted = new Layout(dir).current(VALID);
        plant(planted, VALID);
        Session found = store.find(VALID).orElseThrow();
        assertEquals("planted", found.attribute("who"));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("hostileIds")
    void everyOperation_hostileId_isNoSessionAndTouchesNoFile(String label, String id)
            throws Exception {
        assertNoSessionAndNoFileAccess(id);
    }

    @Test
    void everyOperation_absolutePathIntoTheFileSystem_isNoSessionAndTouchesNoFile()
            throws Exception {
        String id = temp.resolve("elsewhere").resolve("planted").toString();
        assertEquals(temp.resolve("elsewhere").resolve("planted"), new Layout(dir).current(id),
                "the layout would resolve an absolute id to itself");
        assertNoSessionAndNoFileAccess(id);
        assertTrue(Files.exists(temp.resolve("elsewhere").resolve("planted")));
    }

    private void assertNoSessionAndNoFileAccess(String id) throws Exception {
        assertFalse(SessionIds.isWellFormed(id));
        Path planted = plantWhereItWouldResolve(id);
        Map<String, String> before = snapshot(temp);

        assertTrue(store.find(id).isEmpty());
        assertTrue(store.commit(id, store.change().set("k", "v").touch().build()).isEmpty());
        AtomicInteger calls = new AtomicInteger();
        assertTrue(store.update(id, "k", v -> calls.incrementAndGet()).isEmpty());
        assertEquals(0, calls.get());
        assertFalse(store.invalidate(id));
        assertTrue(store.changeId(id).isEmpty());
        try (SessionLock lock = store.lock(id)) {
            assertTrue(lock.session().isEmpty());
            assertTrue(lock.commit(store.change().set("k", "v").build()).isEmpty());
            assertTrue(lock.update("k", v -> calls.incrementAndGet()).isEmpty());
            assertFalse(lock.invalidate());
            assertTrue(lock.changeId().isEmpty());
        }
        assertEquals(0, calls.get());

        assertEquals(before, snapshot(temp), "the calls changed the file system");
        assertFalse(Files.exists(dir.resolve("quarantine")));
        if (planted != null) {
            assertTrue(Files.exists(planted), "the planted file was moved: " + planted);
        }
    }

    @Test
    void malformedIdLocks_doNotExcludeEachOther() throws Exception {
        // a malformed id names no session: its handle guards nothing (no stripe is taken)
        try (SessionLock first = store.lock("../x"); SessionLock second = store.lock("../x")) {
            assertEquals("../x", first.id());
            assertEquals("../x", second.id());
        }
    }

    /**
     * Plants a valid session file, naming {@code id} inside, where the store's layout would put
     * the file of {@code id} if it did not check ids, if that place is inside the test's temp
     * directory. Returns the planted path, or null if the id cannot name a path there.
     */
    private Path plantWhereItWouldResolve(String id) throws Exception {
        Path target;
        try {
            target = id.length() >= 2 ? new Layout(dir).current(id).normalize() : null;
        } catch (InvalidPathException e) {
            return null;
        }
        if (target == null || !target.startsWith(temp) || target.equals(temp)
                || target.equals(dir) || Files.isDirectory(target)) {
            return null;
        }
        try {
            plant(target, id);
        } catch (java.nio.file.FileSystemException e) {
            return null; // a name too long for the file system cannot be planted, or opened
        }
        return target;
    }

    private void plant(Path target, String id) throws Exception {
        Files.createDirectories(target.getParent());
        var attributes = new java.util.LinkedHashMap<String, com.fasterxml.jackson.databind.JsonNode>();
        attributes.put("who", JsonNodeFactory.instance.objectNode().put("t", "s").put("v",
                "planted"));
        long now = MutableClock.atFixedStart().millis();
        SessionRecord record = new SessionRecord(id, now, now, 0, 5, attributes);
        Files.write(target, new RecordFormat(new ObjectMapper(), TestKeys.ofDefaultFile(dir))
                .write(record));
    }

    /** Every path under root with its content (files) or a marker (directories, links). */
    private static Map<String, String> snapshot(Path root) throws Exception {
        Map<String, String> result = new TreeMap<>();
        List<Path> paths = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.forEach(paths::add);
        }
        for (Path p : paths) {
            String key = root.relativize(p).toString();
            if (Files.isSymbolicLink(p)) {
                result.put(key, "link " + Files.readSymbolicLink(p));
            } else if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                result.put(key, "dir");
            } else {
                result.put(key, Arrays.toString(Files.readAllBytes(p)) + " "
                        + Files.getLastModifiedTime(p, LinkOption.NOFOLLOW_LINKS));
            }
        }
        return result;
    }
}
