package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Damaged session files: find returns empty, the file is moved to DIR/quarantine (a file of a
 * newer format is left in place), other sessions are unaffected, and no writer brings the damaged
 * session back.
 */
final class DamagedFileTest {
    @TempDir
    Path temp;
    private Path dir;
    private Layout layout;
    private SessionStore store;
    private String victim;
    private String other;

    /** One way to damage the victim's files; {@code f} gives access to the fixture. */
    enum Damage {
        ZERO_BYTES(f -> Files.write(f.file(), new byte[0])),
        TRUNCATED_HALF(f -> Files.write(f.file(), Arrays.copyOf(f.bytes(), f.bytes().length / 2))),
        TRUNCATED_INSIDE_HEADER(f -> Files.write(f.file(), Arrays.copyOf(f.bytes(), 20))),
        TRUNCATED_LAST_BYTE(f -> Files.write(f.file(),
                Arrays.copyOf(f.bytes(), f.bytes().length - 1))),
        NOT_JSON(f -> Files.writeString(f.file(), "\u0000\u0001garbage")),
        VALID_JSON_NOT_A_SESSION(f -> Files.writeString(f.file(), "{\"hello\":\"world\"}\n")),
        WRONG_ID_INSIDE(f -> Files.write(f.file(), Files.readAllBytes(f.otherFile()))),
        CHECKSUM_MISMATCH(f -> {
            byte[] bytes = f.bytes();
            int at = indexOf(bytes, "alice");
            bytes[at] = 'A'; // still valid JSON; only the checksum can tell
            Files.write(f.file(), bytes);
        }),
        CHECKSUM_NOT_HEX(f -> {
            byte[] bytes = f.bytes();
            bytes[indexOf(bytes, "\"crc32c\":\"") + 10] = 'x';
            Files.write(f.file(), bytes);
        }),
        NEWER_FORMAT(f -> {
            byte[] bytes = f.bytes();
            bytes[indexOf(bytes, "{\"latchkey\":1") + 12] = '2';
            Files.write(f.file(), bytes);
        }),
        OVERSIZED(f -> {
            try (RandomAccessFile file = new RandomAccessFile(f.file().toFile(), "rw")) {
                file.setLength(SessionFiles.MAX_FILE_BYTES + 1); // sparse: cheap
            }
        }),
        DIRECTORY(f -> {
            Files.delete(f.file());
            Files.createDirectory(f.file());
            Files.write(f.file().resolve("inside"), f.bytes());
        }),
        SYMLINK_TO_OTHER_SESSION(f -> {
            Files.delete(f.file());
            Files.createSymbolicLink(f.file(), f.otherFile());
        }),
        SYMLINK_TO_DEV_ZERO(f -> {
            Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")));
            Files.delete(f.file());
            Files.createSymbolicLink(f.file(), Path.of("/dev/zero"));
        }),
        DANGLING_SYMLINK(f -> {
            Files.delete(f.file());
            Files.createSymbolicLink(f.file(), f.file().resolveSibling("nowhere"));
        }),
        FIFO(f -> {
            // a named pipe would block a reader that opens it until a writer comes: never open it
            Files.delete(f.file());
            Process mkfifo;
            try {
                mkfifo = new ProcessBuilder("mkfifo", f.file().toString()).start();
            } catch (java.io.IOException noMkfifo) {
                Assumptions.abort("mkfifo is not available");
                return;
            }
            Assumptions.assumeTrue(mkfifo.waitFor() == 0, "mkfifo failed");
        }),
        OLD_ONLY_TRUNCATED(f -> {
            // a crash left only ID.old, and that one is damaged
            Files.delete(f.file());
            Files.write(f.oldFile(), Arrays.copyOf(f.bytes(), 20));
        });

        final Action action;

        Damage(Action action) {
            this.action = action;
        }

        boolean quarantines() {
            return this != NEWER_FORMAT;
        }
    }

    @FunctionalInterface
    interface Action {
        void apply(Fixture f) throws Exception;
    }

    /** What a damage needs to know. */
    interface Fixture {
        Path file();

        Path oldFile();

        Path otherFile();

        byte[] bytes() throws Exception;
    }

    @BeforeEach
    void open() {
        dir = temp.resolve("store");
        layout = new Layout(dir);
        store = SessionStore.open(StoreConfig.builder(dir).clock(MutableClock.atFixedStart())
                .lockTimeout(Duration.ofSeconds(2)).build());
        victim = store.create(store.change().set("user", "alice").build()).id();
        other = store.create(store.change().set("user", "bob").build()).id();
    }

    @AfterEach
    void close() {
        store.close();
    }

    private static int indexOf(byte[] bytes, String text) {
        byte[] needle = text.getBytes(StandardCharsets.UTF_8);
        for (int i = 0; i + needle.length <= bytes.length; i++) {
            if (Arrays.equals(bytes, i, i + needle.length, needle, 0, needle.length)) {
                return i;
            }
        }
        throw new AssertionError("not found: " + text);
    }

    @ParameterizedTest
    @EnumSource(Damage.class)
    void find_damagedFile_isEmptyMovedAsideAndNotResurrected(Damage damage) throws Exception {
        Path file = layout.current(victim);
        byte[] otherBytes = Files.readAllBytes(layout.current(other));
        byte[] original = Files.readAllBytes(file);
        damage.action.apply(new Fixture() {
            @Override
            public Path file() {
                return file;
            }

            @Override
            public Path oldFile() {
                return layout.old(victim);
            }

            @Override
            public Path otherFile() {
                return layout.current(other);
            }

            @Override
            public byte[] bytes() {
                return original.clone();
            }
        });
        Path damagedPath = damage == Damage.OLD_ONLY_TRUNCATED ? layout.old(victim) : file;
        byte[] damagedBytes = Files.isRegularFile(damagedPath, LinkOption.NOFOLLOW_LINKS)
                && Files.size(damagedPath) < 1 << 20 ? Files.readAllBytes(damagedPath) : null;

        assertTrue(store.find(victim).isEmpty());

        if (damage.quarantines()) {
            assertFalse(Files.exists(damagedPath, LinkOption.NOFOLLOW_LINKS),
                    "the damaged file was not moved aside");
            List<String> moved = quarantined();
            assertEquals(1, moved.size(), moved.toString());
            assertTrue(moved.get(0).startsWith(damagedPath.getFileName() + "."), moved.toString());
            if (damagedBytes != null) {
                assertArrayEquals(damagedBytes, Files.readAllBytes(dir.resolve("quarantine")
                        .resolve(moved.get(0))), "the quarantined file must keep its bytes");
            }
        } else {
            assertArrayEquals(damagedBytes, Files.readAllBytes(damagedPath),
                    "a file of a newer format must be left as it is");
            assertEquals(List.of(), quarantined());
        }

        // the other session, even one a link pointed to, is intact
        Session bob = store.find(other).orElseThrow();
        assertEquals("bob", bob.attribute("user"));
        assertArrayEquals(otherBytes, Files.readAllBytes(layout.current(other)));

        // no writer revives the damaged session
        assertTrue(store.commit(victim, store.change().set("user", "mallory").touch().build())
                .isEmpty());
        AtomicInteger calls = new AtomicInteger();
        assertTrue(store.update(victim, "user", v -> calls.incrementAndGet()).isEmpty());
        assertEquals(0, calls.get());
        assertTrue(store.changeId(victim).isEmpty());
        assertTrue(store.find(victim).isEmpty());
        assertFalse(Files.exists(layout.temp(victim), LinkOption.NOFOLLOW_LINKS));
        if (damage.quarantines()) {
            assertFalse(store.invalidate(victim));
            assertFalse(Files.exists(file, LinkOption.NOFOLLOW_LINKS));
            assertFalse(Files.exists(layout.old(victim), LinkOption.NOFOLLOW_LINKS));
            assertEquals(1, quarantined().size());
        } else {
            assertArrayEquals(damagedBytes, Files.readAllBytes(damagedPath));
        }
        assertEquals("bob", store.find(other).orElseThrow().attribute("user"));
    }

    private List<String> quarantined() throws Exception {
        Path quarantine = dir.resolve("quarantine");
        if (!Files.exists(quarantine)) {
            return List.of();
        }
        try (Stream<Path> files = Files.list(quarantine)) {
            return files.map(p -> p.getFileName().toString()).sorted()
                    .collect(Collectors.toList());
        }
    }
}
