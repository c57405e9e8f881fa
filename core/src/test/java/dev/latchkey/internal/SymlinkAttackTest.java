package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.StoreConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Symbolic links planted where Latchkey keeps a directory (sessions/, sessions/Ab, expiry/,
 * expiry/DUE, quarantine/): each is refused (the link itself removed), never followed, so nothing
 * outside the session directory is read, written, moved or deleted.
 */
@Timeout(120)
final class SymlinkAttackTest {
    private static final String ALPHABET =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    @TempDir
    Path temp;

    private static long files(Path dir) throws IOException {
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).count();
        }
    }

    @Test
    void sweep_symlinkedBucket_touchesNothingOutsideAndRemovesTheLink() throws IOException {
        Path dir = temp.resolve("store");
        Path victim = Files.createDirectories(temp.resolve("victim"));
        Files.writeString(victim.resolve("important.txt"), "do not delete");
        Files.writeString(victim.resolve(SessionIds.generate()), "id-named");
        Files.createDirectories(victim.resolve("photos"));
        Files.writeString(victim.resolve("photos/p1.jpg"), "jpg");
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).build())) {
            Files.createDirectories(dir.resolve("expiry"));
            Files.createSymbolicLink(dir.resolve("expiry/1000"), victim);
            store.sweep(100);
        }
        assertEquals(3, files(victim), "a file outside the directory was deleted or moved");
        assertFalse(Files.exists(dir.resolve("expiry/1000"), LinkOption.NOFOLLOW_LINKS),
                "the planted link itself is removed");
        assertFalse(Files.exists(dir.resolve("quarantine")) && files(dir.resolve("quarantine")) > 0,
                "nothing was moved into quarantine");
    }

    @Test
    void sweep_symlinkedExpiryRoot_touchesNothingOutside() throws IOException {
        Path dir = temp.resolve("store");
        Path victim = Files.createDirectories(temp.resolve("home"));
        Files.createDirectories(victim.resolve("2024"));
        Files.writeString(victim.resolve("2024/tax-return.pdf"), "pdf");
        Files.writeString(victim.resolve("2024/" + SessionIds.generate()), "id-named");
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).build())) {
            Files.createSymbolicLink(dir.resolve("expiry"), victim);
            store.sweep(100);
            assertFalse(Files.isSymbolicLink(dir.resolve("expiry")), "the link is removed");
            // the index works again after the link is gone
            String id = store.create(store.change().set("u", 1).build()).id();
            assertTrue(store.find(id).isPresent());
        }
        assertEquals(2, files(victim));
    }

    @Test
    void create_symlinkedSubdirectories_noSessionFileOrMarkerOutside() throws IOException {
        Path dir = temp.resolve("store");
        Path outside = Files.createDirectories(temp.resolve("public-uploads"));
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).build())) {
            for (char a : ALPHABET.toCharArray()) {
                for (char b : ALPHABET.toCharArray()) {
                    Files.createSymbolicLink(dir.resolve("sessions").resolve("" + a + b), outside);
                }
            }
            Session s = store.create(store.change().set("user", "alice").build());
            assertTrue(store.find(s.id()).isPresent());
            assertTrue(Files.isRegularFile(new Layout(dir).current(s.id()),
                    LinkOption.NOFOLLOW_LINKS));
            assertFalse(Files.isSymbolicLink(new Layout(dir).current(s.id()).getParent()));
            String moved = store.changeId(s.id()).orElseThrow().id();
            assertFalse(Files.isSymbolicLink(new Layout(dir).current(moved).getParent()));
        }
        assertEquals(0, files(outside), "a session file (named by its id) was written outside");
    }

    @Test
    void create_symlinkedSessionsAndExpiryDirs_noFileOutside() throws IOException {
        Path dir = temp.resolve("store");
        Path outside = Files.createDirectories(temp.resolve("outside"));
        MutableClock clock = MutableClock.atFixedStart();
        StoreConfig config = StoreConfig.builder(dir).clock(clock)
                .defaultMaxInactiveInterval(Duration.ofMinutes(30)).build();
        try (FileSessionStore store = FileSessionStore.open(config)) {
            Files.delete(dir.resolve("sessions"));
            Files.createSymbolicLink(dir.resolve("sessions"), outside);
            Files.createSymbolicLink(dir.resolve("expiry"), outside);
            String id = store.create(store.change().set("u", 1).build()).id();
            assertTrue(store.find(id).isPresent());
            // a planted bucket link where the next marker goes
            clock.advance(Duration.ofMinutes(2));
            long due = ExpiryIndex.due(new SessionRecord(id, clock.millis(), clock.millis(),
                    Duration.ofMinutes(30).toMillis(), 0, java.util.Map.of()));
            Path bucket = dir.resolve("expiry").resolve(Long.toString(due));
            Files.createSymbolicLink(bucket, outside);
            store.commit(id, store.change().touch().build());
            assertFalse(Files.isSymbolicLink(bucket));
            assertTrue(Files.exists(bucket.resolve(id), LinkOption.NOFOLLOW_LINKS));
        }
        assertEquals(0, files(outside), "a file named by a session id was written outside");
    }

    @Test
    void damagedFile_symlinkedQuarantine_isNotMovedOutside() throws IOException {
        Path dir = temp.resolve("store");
        Path outside = Files.createDirectories(temp.resolve("outside"));
        try (FileSessionStore store = FileSessionStore.open(StoreConfig.builder(dir).build())) {
            String id = store.create(store.change().set("u", 1).build()).id();
            Files.writeString(new Layout(dir).current(id), "garbage");
            Files.createSymbolicLink(dir.resolve("quarantine"), outside);
            assertTrue(store.commit(id, store.change().set("u", 2).build()).isEmpty());
            assertTrue(Files.isDirectory(dir.resolve("quarantine"), LinkOption.NOFOLLOW_LINKS));
            assertEquals(1, files(dir.resolve("quarantine")));
        }
        assertEquals(0, files(outside), "a damaged file was moved outside the directory");
    }
}
