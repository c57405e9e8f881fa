package dev.latchkey.internal;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileAttribute;
import java.util.Set;

/**
 * The calls of the write path that the operating system may refuse (no space left, a read-only
 * file system, permission denied). {@link #SYSTEM} makes them; tests subclass it to inject the
 * failures that cannot be provoked for real here (the tests run as root, and mounting a full or
 * read-only file system needs privileges a build must not assume).
 *
 * <p>Thread-safety: {@link #SYSTEM} is stateless; subclasses must be thread-safe.
 */
class FileOps {
    static final FileOps SYSTEM = new FileOps();

    FileChannel openNew(Path path, Set<? extends OpenOption> options,
            FileAttribute<?>... attributes) throws IOException {
        return FileChannel.open(path, options, attributes);
    }

    int write(FileChannel channel, ByteBuffer buffer) throws IOException {
        return channel.write(buffer);
    }

    /** An atomic rename (to a fresh name: the publish protocol never replaces a file). */
    void move(Path source, Path target) throws IOException {
        Files.move(source, target, StandardCopyOption.ATOMIC_MOVE);
    }

    boolean deleteIfExists(Path path) throws IOException {
        return Files.deleteIfExists(path);
    }
}
