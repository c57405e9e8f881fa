package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Things planted at a session's temp name ({@code ID.tmp}) by someone who can write the
 * directory: a commit removes them and never writes through them, and never hangs on them.
 */
final class PlantedTempTest {
    @TempDir
    Path temp;
    private SessionStore store;
    private Layout layout;
    private Session session;

    @BeforeEach
    void open() {
        Path dir = temp.resolve("store");
        layout = new Layout(dir);
        store = SessionStore.open(StoreConfig.builder(dir).clock(MutableClock.atFixedStart())
                .lockTimeout(Duration.ofSeconds(2)).build());
        session = store.create(store.change().set("a", 1).build());
    }

    @AfterEach
    void close() {
        store.close();
    }

    private void commitSucceeds() {
        assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertEquals(2,
                store.commit(session.id(), store.change().set("a", 2).build()).orElseThrow()
                        .attribute("a")));
        assertEquals(2, store.find(session.id()).orElseThrow().attribute("a"));
        assertFalse(Files.exists(layout.temp(session.id())));
    }

    @Test
    void commit_hardLinkToAnotherFileAtTempName_otherFileUntouched() throws Exception {
        Path victim = temp.resolve("victim.txt");
        byte[] content = "precious".getBytes(StandardCharsets.UTF_8);
        Files.write(victim, content);
        Files.createLink(layout.temp(session.id()), victim);
        commitSucceeds();
        assertArrayEquals(content, Files.readAllBytes(victim));
    }

    @Test
    void commit_symlinkAtTempName_targetUntouched() throws Exception {
        Path victim = temp.resolve("victim.txt");
        Files.writeString(victim, "precious");
        Files.createSymbolicLink(layout.temp(session.id()), victim);
        commitSucceeds();
        assertEquals("precious", Files.readString(victim));
    }

    @Test
    void commit_fifoAtTempName_doesNotHang() throws Exception {
        Process mkfifo;
        try {
            mkfifo = new ProcessBuilder("mkfifo", layout.temp(session.id()).toString()).start();
        } catch (java.io.IOException e) {
            Assumptions.abort("mkfifo is not available");
            return;
        }
        Assumptions.assumeTrue(mkfifo.waitFor() == 0);
        commitSucceeds();
    }

    @Test
    void commit_nonEmptyDirectoryAtTempName_isMovedAside() throws Exception {
        Path planted = layout.temp(session.id());
        Files.createDirectory(planted);
        Files.writeString(planted.resolve("inside"), "x");
        commitSucceeds();
        assertTrue(Files.isDirectory(layout.quarantine()));
    }

    @Test
    void commit_leftoverRegularTempFile_isReplaced() throws Exception {
        Files.writeString(layout.temp(session.id()), "half-written garbage");
        commitSucceeds();
    }
}
