package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.ByteArrayOutputStream;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Damaged and hostile session files: find returns empty and a WARN names the file and the reason,
 * the file is moved to DIR/quarantine (a file of another format is left in place), other sessions
 * are unaffected, and no writer brings the damaged session back. Forged files (planted, edited,
 * copied from another session, signed with another key) fail the MAC.
 */
final class DamagedFileTest {
    @TempDir
    Path temp;
    private Path dir;
    private Layout layout;
    private SessionStore store;
    private String victim;
    private String other;

    /**
     * One way to damage the victim's files, the reason the WARN line must give, and {@code f} the
     * fixture. The hostile cases are written by someone who can write the directory but has not
     * got the key: they fail the MAC before anything in them is parsed.
     */
    enum Damage {
        ZERO_BYTES("empty file", f -> Files.write(f.file(), new byte[0])),
        TRUNCATED_HALF(NOT_A_FILE, f -> Files.write(f.file(),
                Arrays.copyOf(f.bytes(), f.bytes().length / 2))),
        TRUNCATED_INSIDE_HEADER(NOT_A_FILE, f -> Files.write(f.file(),
                Arrays.copyOf(f.bytes(), 20))),
        TRUNCATED_LAST_BYTE(NOT_A_FILE, f -> Files.write(f.file(),
                Arrays.copyOf(f.bytes(), f.bytes().length - 1))),
        NOT_JSON(NOT_A_FILE, f -> Files.writeString(f.file(), "\u0000\u0001garbage")),
        VALID_JSON_NOT_A_SESSION(NOT_A_FILE,
                f -> Files.writeString(f.file(), "{\"hello\":\"world\"}\n")),
        WRONG_ID_INSIDE_VALID_MAC("names another session", f -> {
            // only a holder of the key could write this: the id check stands behind the MAC
            Files.write(f.file(), signedFile(f.key(), f.victim(), body(f.otherBytes())));
        }),
        COPIED_FROM_OTHER_SESSION(MAC, f -> Files.write(f.file(), f.otherBytes())),
        EDITED_VALUE_MAC_KEPT(MAC, f -> {
            byte[] bytes = f.bytes();
            bytes[indexOf(bytes, "alice")] = 'A'; // still valid JSON; only the MAC can tell
            Files.write(f.file(), bytes);
        }),
        MAC_NOT_HEX(MAC, f -> {
            byte[] bytes = f.bytes();
            bytes[indexOf(bytes, "\"mac\":\"") + 10] = 'x';
            Files.write(f.file(), bytes);
        }),
        PLANTED_WITH_SHA256(MAC, f -> {
            // a forged session under the victim's id, "signed" with a plain hash, with the real
            // key id copied from any session file
            byte[] forged = replace(body(f.bytes()), "alice", "admin");
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(forged);
            Files.write(f.file(), file(keyId(f.key()), HexFormat.of().formatHex(sha), forged));
        }),
        PLANTED_WITH_SHA256_AND_HOSTILE_TYPE(MAC, f -> {
            // a class the store does not allow: never looked at, the MAC fails first
            byte[] forged = replace(body(f.bytes()), "{\"t\":\"s\",\"v\":\"alice\"}",
                    "{\"t\":\"java.lang.ProcessBuilder\",\"v\":{\"command\":[\"sh\"]}}");
            byte[] sha = MessageDigest.getInstance("SHA-256").digest(forged);
            Files.write(f.file(), file(keyId(f.key()), HexFormat.of().formatHex(sha), forged));
        }),
        PLANTED_MALFORMED_JSON_BAD_MAC(MAC, f -> {
            // the MAC is checked before the JSON: no parser ever sees this body
            Files.write(f.file(), file(keyId(f.key()), "00".repeat(32),
                    "{\"id\":[[[[".getBytes(StandardCharsets.US_ASCII)));
        }),
        PLANTED_WITH_CRC32C(NOT_A_FILE, f -> {
            // the checksummed header of the format before MACs
            byte[] forged = replace(body(f.bytes()), "alice", "admin");
            CRC32C crc = new CRC32C();
            crc.update(forged);
            Files.write(f.file(), concat(String.format("{\"latchkey\":1,\"crc32c\":\"%08x\","
                    + "\"session\":", crc.getValue()).getBytes(StandardCharsets.US_ASCII), forged,
                    "}\n".getBytes(StandardCharsets.US_ASCII)));
        }),
        SIGNED_WITH_UNKNOWN_KEY(MAC, f -> {
            // a valid file of another store (or of a process with another key)
            Files.write(f.file(), signedFile(TestKeys.random(), f.victim(), body(f.bytes())));
        }),
        NEWER_FORMAT("format 2, not 1", f -> {
            byte[] bytes = f.bytes();
            bytes[indexOf(bytes, "{\"latchkey\":1") + 12] = '2';
            Files.write(f.file(), bytes);
        }),
        FORMAT_VERSION_ZERO("format 0, not 1", f -> {
            byte[] bytes = f.bytes();
            bytes[indexOf(bytes, "{\"latchkey\":1") + 12] = '0';
            Files.write(f.file(), bytes);
        }),
        OVERSIZED("larger than", f -> {
            try (RandomAccessFile file = new RandomAccessFile(f.file().toFile(), "rw")) {
                file.setLength(SessionFiles.MAX_FILE_BYTES + 1); // sparse: cheap
            }
        }),
        DIRECTORY(NOT_REGULAR, f -> {
            Files.delete(f.file());
            Files.createDirectory(f.file());
            Files.write(f.file().resolve("inside"), f.bytes());
        }),
        SYMLINK_TO_OTHER_SESSION(NOT_REGULAR, f -> {
            Files.delete(f.file());
            Files.createSymbolicLink(f.file(), f.otherFile());
        }),
        SYMLINK_TO_DEV_ZERO(NOT_REGULAR, f -> {
            Assumptions.assumeTrue(Files.exists(Path.of("/dev/zero")));
            Files.delete(f.file());
            Files.createSymbolicLink(f.file(), Path.of("/dev/zero"));
        }),
        DANGLING_SYMLINK(NOT_REGULAR, f -> {
            Files.delete(f.file());
            Files.createSymbolicLink(f.file(), f.file().resolveSibling("nowhere"));
        }),
        FIFO(NOT_REGULAR, f -> {
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
        OLD_ONLY_TRUNCATED(NOT_A_FILE, f -> {
            // a crash left only ID.old, and that one is damaged
            Files.delete(f.file());
            Files.write(f.oldFile(), Arrays.copyOf(f.bytes(), 20));
        });

        final String reason;
        final Action action;

        Damage(String reason, Action action) {
            this.reason = reason;
            this.action = action;
        }

        boolean quarantines() {
            return this != NEWER_FORMAT && this != FORMAT_VERSION_ZERO
                    && this != SIGNED_WITH_UNKNOWN_KEY;
        }
    }

    private static final String MAC = "MAC mismatch";
    private static final String NOT_A_FILE = "not a Latchkey session file";
    private static final String NOT_REGULAR = "not a regular file";

    @FunctionalInterface
    interface Action {
        void apply(Fixture f) throws Exception;
    }

    /** What a damage needs to know. */
    interface Fixture {
        Path file();

        Path oldFile();

        Path otherFile();

        /** The victim's file as the store wrote it. */
        byte[] bytes() throws Exception;

        /** The other session's file as the store wrote it. */
        byte[] otherBytes() throws Exception;

        String victim();

        /** The store's key (from its default key file). */
        byte[] key() throws Exception;
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

    // ---- format 1, written from docs/design.md independently of RecordFormat ----

    /** HMAC-SHA256 of the concatenated parts. */
    static byte[] hmac(byte[] key, byte[]... parts) throws Exception {
        Mac mac = Mac.getInstance("HmacSHA256");
        mac.init(new SecretKeySpec(key, "HmacSHA256"));
        for (byte[] part : parts) {
            mac.update(part);
        }
        return mac.doFinal();
    }

    /** The key id: 8 hex digits of HMAC(key, "latchkey key id"). */
    static String keyId(byte[] key) throws Exception {
        return HexFormat.of().formatHex(hmac(key, ascii("latchkey key id"))).substring(0, 8);
    }

    /** A session file of {@code id} with the given session bytes, signed with {@code key}. */
    static byte[] signedFile(byte[] key, String id, byte[] body) throws Exception {
        byte[] mac = hmac(key, ascii("latchkey 1\0" + id + "\0"), body);
        return file(keyId(key), HexFormat.of().formatHex(mac), body);
    }

    static byte[] file(String keyId, String macHex, byte[] body) {
        return concat(ascii("{\"latchkey\":1,\"key\":\"" + keyId + "\",\"mac\":\"" + macHex
                + "\",\"session\":"), body, ascii("}\n"));
    }

    /** The exact bytes of the session object of a file. */
    static byte[] body(byte[] file) {
        int start = indexOf(file, "\"session\":") + "\"session\":".length();
        return Arrays.copyOfRange(file, start, file.length - 2);
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] part : parts) {
            out.writeBytes(part);
        }
        return out.toByteArray();
    }

    static byte[] replace(byte[] bytes, String from, String to) {
        String text = new String(bytes, StandardCharsets.UTF_8);
        if (!text.contains(from)) {
            throw new AssertionError("not found: " + from);
        }
        return text.replace(from, to).getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void storeFile_isTheDocumentedFormat_macOverFormatIdAndExactSessionBytes() throws Exception {
        byte[] key = Files.readAllBytes(MacKeys.defaultFile(dir));
        byte[] written = Files.readAllBytes(layout.current(victim));
        assertArrayEquals(signedFile(key, victim, body(written)), written,
                new String(written, StandardCharsets.UTF_8));
        // the id is bound: the same bytes under another name need another MAC
        assertFalse(Arrays.equals(written, signedFile(key, other, body(written))));
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
        byte[] otherOriginal = otherBytes.clone();
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

            @Override
            public byte[] otherBytes() {
                return otherOriginal.clone();
            }

            @Override
            public String victim() {
                return victim;
            }

            @Override
            public byte[] key() throws Exception {
                return Files.readAllBytes(MacKeys.defaultFile(dir));
            }
        });
        Path damagedPath = damage == Damage.OLD_ONLY_TRUNCATED ? layout.old(victim) : file;
        byte[] damagedBytes = Files.isRegularFile(damagedPath, LinkOption.NOFOLLOW_LINKS)
                && Files.size(damagedPath) < 1 << 20 ? Files.readAllBytes(damagedPath) : null;

        try (LogCapture log = new LogCapture()) {
            assertTrue(store.find(victim).isEmpty());
            List<String> warned = log.warnings(Redaction.path(damagedPath), damage.reason);
            assertEquals(1, warned.size(), () -> "one WARN naming " + Redaction.path(damagedPath) + " and '"
                    + damage.reason + "', got: " + log.warnings());
        }

        if (damage.quarantines()) {
            assertFalse(Files.exists(damagedPath, LinkOption.NOFOLLOW_LINKS),
                    "the damaged file was not moved aside");
            List<String> moved = quarantined();
            assertEquals(1, moved.size(), moved.toString());
            assertTrue(moved.get(0).startsWith(damagedPath.getFileName() + "."), moved.toString());
            if (damage.reason.equals(MAC) || damage.reason.equals(NOT_REGULAR)) {
                // the name says why, without the details after the colon
                assertTrue(moved.get(0).endsWith("." + damage.reason.replace(' ', '-')),
                        moved.toString());
            }
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
