package dev.latchkey.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Map;

/**
 * The floor: the file-system operations a safe commit cannot do without, written directly on
 * NIO with no library logic. A request takes the stripe's byte-range lock ({@code tryLock} on one
 * byte of a lock file opened once), reads the session file, writes the same bytes (one changed)
 * to a fresh temporary file, publishes it with two renames to fresh names and an unlink, and
 * unlocks. No parsing, no checksum, no in-JVM lock (it is only ever driven by one thread), no
 * expiry. With {@code synced}, the temporary file is forced before the renames and the directory
 * after them, as a durable commit must. With {@code readFirst} ("floor+read"), a request first
 * reads the file without the lock, as a request that loads its session and commits later does.
 * <p>Not thread-safe.
 */
final class FloorContender implements Contender {
    private static final int STRIPES = 65_536;

    private final Path sessions;
    private final FileChannel lockFile;
    private final boolean synced;
    private final boolean readFirst;
    private final byte[] initial;

    FloorContender(Path directory, boolean synced, boolean readFirst) throws IOException {
        this.readFirst = readFirst;
        this.sessions = Files.createDirectories(directory.resolve("sessions"));
        this.lockFile = FileChannel.open(directory.resolve("floor.lock"), StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE);
        this.synced = synced;
        this.initial = new ObjectMapper().writeValueAsBytes(
                Map.of("floor", 1, "session", SampleSession.attributes()));
    }

    @Override
    public String create(Map<String, Object> attributes) throws IOException {
        String id = SampleSession.newId();
        Path file = file(id);
        Files.createDirectories(file.getParent());
        Files.write(file, initial, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE);
        return id;
    }

    /**
     * Whether a session's file is what {@code requests} requests leave: the initial bytes with
     * the middle one flipped once per request.
     */
    boolean holdsRequests(String id, int requests) throws IOException {
        byte[] expected = initial.clone();
        expected[expected.length / 2] ^= (byte) (requests & 1);
        return java.util.Arrays.equals(expected, Files.readAllBytes(file(id)));
    }

    @Override
    public Map<String, Object> read(String id) {
        throw new UnsupportedOperationException("the floor keeps no attributes");
    }

    @Override
    public Object request(String id, String name, Object value) throws IOException {
        byte[] first = null;
        if (readFirst && (first = Files.readAllBytes(file(id))).length == 0) {
            throw new IllegalStateException("empty " + id);
        }
        int stripe = (id.hashCode() & 0x7fff_ffff) % STRIPES;
        FileLock lock;
        while ((lock = lockFile.tryLock(stripe, 1, false)) == null) {
            Thread.onSpinWait();
        }
        try {
            Path file = file(id);
            Path tmp = file.resolveSibling(id + ".tmp");
            Path old = file.resolveSibling(id + ".old");
            byte[] bytes = Files.readAllBytes(file);
            bytes[bytes.length / 2] ^= 1;
            try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE_NEW,
                    StandardOpenOption.WRITE)) {
                ByteBuffer buffer = ByteBuffer.wrap(bytes);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
                if (synced) {
                    out.force(true);
                }
            }
            // ATOMIC_MOVE: a plain move stats source and target first, calls Latchkey's
            // FileOps.move does not make; with it the JDK issues the rename(2) alone.
            Files.move(file, old, StandardCopyOption.ATOMIC_MOVE);
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
            Files.delete(old);
            if (synced) {
                try (FileChannel dir = FileChannel.open(file.getParent(), StandardOpenOption.READ)) {
                    dir.force(true);
                }
            }
            return first != null ? first : bytes;
        } finally {
            lock.release();
        }
    }

    @Override
    public boolean increment(String id, String name) {
        throw new UnsupportedOperationException("the floor keeps no attributes");
    }

    @Override
    public void close() {
        try {
            lockFile.close();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private Path file(String id) {
        return sessions.resolve(id.substring(0, 2)).resolve(id);
    }
}
