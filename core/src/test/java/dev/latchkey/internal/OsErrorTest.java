package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionLock;
import dev.latchkey.StoreConfig;
import dev.latchkey.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.attribute.FileAttribute;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors the operating system reports while a commit writes or publishes: each becomes a
 * {@link StoreException} with the path and the cause, the session keeps its previous state, and
 * no partial temp file stays behind (a failure to remove it is attached with
 * {@code addSuppressed}). The tests run as root, so permissions deny nothing, and mounting a full
 * or read-only file system needs privileges a build must not assume: the failures are injected
 * through {@link FileOps}, with the messages Linux gives. One test uses a real one, an immutable
 * directory ({@code chattr +i}), where the file system supports it.
 */
final class OsErrorTest {
    private static final String ENOSPC = "No space left on device";
    private static final String EROFS = "Read-only file system";

    @TempDir
    Path temp;
    private Layout layout;
    private FaultyOps ops;
    private FileSessionStore store;
    private String id;
    private byte[] before;

    /** Injects failures; every switch is off until a test turns it on. */
    private static final class FaultyOps extends FileOps {
        volatile IOException onOpen;
        volatile IOException onWrite; // after writing half of the first buffer
        volatile IOException onMove;
        volatile int movesBeforeFailure;
        volatile IOException onDelete;
        volatile String deleteOnlySuffix = "";
        /** Fail only the unlink of a file that exists (a read-only mount fails every unlink). */
        volatile boolean deleteFailsOnlyIfExists;

        @Override
        FileChannel openNew(Path path, Set<? extends OpenOption> options,
                FileAttribute<?>... attributes) throws IOException {
            if (onOpen != null) {
                throw onOpen;
            }
            return super.openNew(path, options, attributes);
        }

        @Override
        int write(FileChannel channel, ByteBuffer buffer) throws IOException {
            if (onWrite != null) {
                ByteBuffer half = buffer.duplicate();
                half.limit(buffer.position() + Math.max(1, buffer.remaining() / 2));
                int written = channel.write(half);
                buffer.position(buffer.position() + written);
                throw onWrite;
            }
            return super.write(channel, buffer);
        }

        @Override
        void move(Path source, Path target) throws IOException {
            if (onMove != null && movesBeforeFailure-- <= 0) {
                throw onMove;
            }
            super.move(source, target);
        }

        @Override
        boolean deleteIfExists(Path path) throws IOException {
            if (onDelete != null && path.toString().endsWith(deleteOnlySuffix)
                    && (!deleteFailsOnlyIfExists || Files.exists(path, LinkOption.NOFOLLOW_LINKS))) {
                throw onDelete;
            }
            return super.deleteIfExists(path);
        }
    }

    @BeforeEach
    void open() throws Exception {
        Path dir = temp.resolve("store");
        layout = new Layout(dir);
        ops = new FaultyOps();
        store = FileSessionStore.open(StoreConfig.builder(dir).clock(MutableClock.atFixedStart())
                .lockTimeout(Duration.ofSeconds(5)).build(), ops);
        id = store.create(store.change().set("a", 1).set("big", "x".repeat(20_000)).build()).id();
        before = Files.readAllBytes(layout.current(id));
    }

    @AfterEach
    void close() {
        store.close();
    }

    private StoreException failingCommit() {
        return assertThrows(StoreException.class,
                () -> store.commit(id, store.change().set("a", 2).build()));
    }

    /** The previous state is intact: same bytes, same attributes, and nothing beside it. */
    private void assertPreviousStateIntact() throws IOException {
        assertArrayEquals(before, Files.readAllBytes(layout.current(id)));
        Session found = store.find(id).orElseThrow();
        assertEquals(1, found.attribute("a"));
        assertEquals(0, found.revision());
        assertFalse(exists(layout.temp(id)), "partial temp file left");
        assertFalse(exists(layout.old(id)));
    }

    private static boolean exists(Path path) {
        return Files.exists(path, LinkOption.NOFOLLOW_LINKS);
    }

    private void assertCommitsAgain() {
        ops.onOpen = null;
        ops.onWrite = null;
        ops.onMove = null;
        ops.onDelete = null;
        assertEquals(3, store.commit(id, store.change().set("a", 3).build()).orElseThrow()
                .attribute("a"));
        assertFalse(exists(layout.temp(id)));
        assertFalse(exists(layout.old(id)));
    }

    @Test
    void diskFullMidWrite_storeExceptionWithPathAndCause_previousStateIntact() throws Exception {
        IOException full = new IOException(ENOSPC);
        ops.onWrite = full;

        StoreException e = failingCommit();
        assertEquals(layout.temp(id).getParent(), e.path());
        assertSame(full, e.getCause());
        assertTrue(e.getMessage().contains(ENOSPC) && e.getMessage().contains(id.substring(0, 2)),
                e.getMessage());
        assertEquals(0, e.getSuppressed().length);
        assertPreviousStateIntact();
        assertCommitsAgain();
    }

    @Test
    void diskFull_update_andSessionLockCommit_sameOutcome() throws Exception {
        ops.onWrite = new IOException(ENOSPC);
        assertThrows(StoreException.class, () -> store.update(id, "a", v -> 2));
        assertPreviousStateIntact();
        try (SessionLock lock = store.lock(id)) {
            assertThrows(StoreException.class, () -> lock.commit(store.change().set("a", 2)
                    .build()));
            assertEquals(1, lock.session().orElseThrow().attribute("a"), "the lock is usable");
        }
        assertPreviousStateIntact();
        assertCommitsAgain();
    }

    @Test
    void diskFull_andTheCleanupFails_cleanupFailureIsSuppressed() throws Exception {
        ops.onWrite = new IOException(ENOSPC);
        FileSystemException cleanup = new FileSystemException(layout.temp(id).toString(), null,
                "Input/output error");
        ops.onDelete = cleanup;
        ops.deleteOnlySuffix = ".tmp";

        StoreException e = failingCommit();
        assertEquals(List.of(cleanup), List.of(e.getSuppressed()));
        assertArrayEquals(before, Files.readAllBytes(layout.current(id)));
        assertEquals(1, store.find(id).orElseThrow().attribute("a"), "the partial temp is unread");
        ops.onDelete = null;
        assertEquals(1, store.recover().leftoversRemoved(), "recovery removes the partial temp");
        assertPreviousStateIntact();
        assertCommitsAgain();
    }

    /**
     * As Linux does on a read-only mount: every unlink fails with EROFS, even of a file that does
     * not exist (the mount is checked before the name is looked up), and so does every create.
     * A commit fails at its first step that writes: creating {@code ID.tmp} (no stale
     * {@code ID.old} is looked for: no publish of the stripe was cut short).
     */
    @Test
    void readOnlyFileSystem_commitAndCreate_storeException_nothingChanges() throws Exception {
        FileSystemException readOnly = new FileSystemException(layout.temp(id).toString(), null,
                EROFS);
        ops.onOpen = readOnly;
        ops.onDelete = new FileSystemException(layout.old(id).toString(), null, EROFS);

        StoreException e = failingCommit();
        assertEquals(layout.old(id).getParent(), e.path());
        assertSameFailure(readOnly, e.getCause());
        assertTrue(e.getMessage().contains(EROFS), e.getMessage());
        assertPreviousStateIntact();
        assertEquals(1, store.find(id).orElseThrow().attribute("a"), "reads still work");

        StoreException onCreate = assertThrows(StoreException.class, () -> store.create());
        assertTrue(onCreate.getMessage().contains(".tmp"), onCreate.toString());
        assertSameFailure(ops.onOpen, onCreate.getCause());
        assertEquals(1, onCreate.getSuppressed().length, "removing the temp name failed too");
        assertEquals(List.of(layout.current(id)), sessionFiles());
        assertCommitsAgain();
    }

    /**
     * The same on a stripe where a publish was cut short: the commit fails at removing the stale
     * {@code ID.old} it looks for first.
     */
    @Test
    void readOnlyFileSystem_flaggedStripe_failsAtTheStaleOld_nothingChanges() throws Exception {
        CutShort.unlinkFailed(layout.root(), id);
        FileSystemException readOnly = new FileSystemException(layout.old(id).toString(), null,
                EROFS);
        ops.onOpen = new FileSystemException(layout.temp(id).toString(), null, EROFS);
        ops.onDelete = readOnly;

        StoreException e = failingCommit();
        assertEquals(layout.old(id).getParent(), e.path());
        assertSameFailure(readOnly, e.getCause());
        assertPreviousStateIntact();
        ops.onOpen = null;
        ops.onDelete = null;
        assertCommitsAgain();
    }

    @Test
    void permissionDenied_messageSaysWhatToCheck() throws Exception {
        ops.onOpen = new AccessDeniedException(layout.temp(id).toString());

        StoreException e = failingCommit();
        assertEquals(layout.temp(id).getParent(), e.path());
        assertTrue(e.getCause() instanceof AccessDeniedException);
        assertTrue(e.getMessage().contains("permission denied")
                && e.getMessage().contains("every worker's user"), e.getMessage());
        assertPreviousStateIntact();
        assertCommitsAgain();
    }

    @Test
    void firstRenameFails_tempRemoved_previousStateIntact() throws Exception {
        ops.onMove = new FileSystemException(layout.current(id).toString(), null, EROFS);

        StoreException e = failingCommit();
        assertEquals(layout.current(id).getParent(), e.path());
        assertPreviousStateIntact();
        assertCommitsAgain();
    }

    /** ID is already ID.old when the second rename fails: by the rule, the old state reads. */
    @Test
    void secondRenameFails_previousStateReadsFromOld_nextCommitPublishesIt() throws Exception {
        ops.onMove = new FileSystemException(layout.temp(id).toString(), null, ENOSPC);
        ops.movesBeforeFailure = 1;

        StoreException e = failingCommit();
        assertEquals(layout.current(id).getParent(), e.path());
        assertFalse(exists(layout.temp(id)));
        assertArrayEquals(before, Files.readAllBytes(layout.old(id)));
        Session found = store.find(id).orElseThrow();
        assertEquals(1, found.attribute("a"));
        assertEquals(0, found.revision());
        assertCommitsAgain();
        assertEquals(Map.of("a", 3, "big", "x".repeat(20_000)), store.find(id).orElseThrow()
                .attributes());
    }

    /** After the second rename the commit has happened: a failed unlink of ID.old cannot undo it. */
    @Test
    void staleOldCannotBeRemoved_commitStillSucceeds_nextCommitRemovesIt() throws Exception {
        ops.onDelete = new FileSystemException(layout.old(id).toString(), null,
                "Input/output error");
        ops.deleteOnlySuffix = ".old";
        ops.deleteFailsOnlyIfExists = true;

        assertEquals(2, store.commit(id, store.change().set("a", 2).build()).orElseThrow()
                .attribute("a"));
        assertTrue(exists(layout.old(id)), "the stale file stays");
        assertTrue(CutShort.flagged(layout.root(), id), "and the stripe says so");
        assertEquals(2, store.find(id).orElseThrow().attribute("a"));
        assertCommitsAgain();
    }

    @Test
    void invalidate_deleteFails_storeException_sessionStillThere() throws Exception {
        ops.onDelete = new FileSystemException(layout.current(id).toString(), null, EROFS);

        StoreException e = assertThrows(StoreException.class, () -> store.invalidate(id));
        assertEquals(layout.old(id).getParent(), e.path(), "ID.old goes first");
        assertPreviousStateIntact();
    }

    /** A real error of the kernel: an immutable directory refuses new files even to root. */
    @Test
    void immutableDirectory_realOsError_storeException_previousStateIntact() throws Exception {
        Path subdirectory = layout.current(id).getParent();
        Assumptions.assumeTrue(chattr("+i", subdirectory),
                "chattr +i is not available here (no e2fsprogs, no CAP_LINUX_IMMUTABLE, or a file"
                        + " system without the attribute)");
        try {
            StoreException e = failingCommit();
            assertEquals(layout.temp(id).getParent(), e.path());
            assertTrue(e.getCause() instanceof FileSystemException, String.valueOf(e.getCause()));
            assertTrue(e.getMessage().contains("Operation not permitted"), e.getMessage());
            assertArrayEquals(before, Files.readAllBytes(layout.current(id)));
            assertEquals(1, store.find(id).orElseThrow().attribute("a"));
            assertFalse(exists(layout.temp(id)));
        } finally {
            assertTrue(chattr("-i", subdirectory), "cannot undo chattr +i on " + subdirectory);
        }
        assertCommitsAgain();
    }

    private List<Path> sessionFiles() throws IOException {
        try (Stream<Path> files = Files.walk(layout.sessions())) {
            return files.filter(Files::isRegularFile).collect(Collectors.toList());
        }
    }

    private static boolean chattr(String flag, Path path) throws Exception {
        Process p;
        try {
            p = new ProcessBuilder("chattr", flag, path.toString()).redirectErrorStream(true)
                    .start();
        } catch (IOException notInstalled) {
            return false;
        }
        p.getInputStream().readAllBytes();
        return p.waitFor(30, TimeUnit.SECONDS) && p.exitValue() == 0;
    }

    /**
     * The OS failure behind a StoreException: the same class and reason, its file named with the
     * session id shortened (ids are secrets: no message shows a whole one).
     */
    private static void assertSameFailure(IOException expected, Throwable cause) {
        assertEquals(expected.getClass(), cause.getClass(), String.valueOf(cause));
        FileSystemException want = (FileSystemException) expected;
        FileSystemException got = (FileSystemException) cause;
        assertEquals(want.getReason(), got.getReason());
        assertEquals(Redaction.text(want.getFile()), got.getFile());
        assertArrayEquals(expected.getStackTrace(), cause.getStackTrace());
    }
}
