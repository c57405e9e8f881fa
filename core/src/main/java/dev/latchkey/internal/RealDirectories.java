package dev.latchkey.internal;

import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes sure that a directory Latchkey keeps under the session directory ({@code sessions/},
 * {@code sessions/Ab}, {@code expiry/}, {@code expiry/DUE}, {@code quarantine/}) is a real
 * directory, looked at without following links ({@code lstat}). Whatever else stands at its name
 * (a symbolic link planted by someone who can write into the directory, a file, a FIFO) is
 * refused: the entry itself is removed with a WARN, its target is never touched, and the
 * directory is made anew. So no file of Latchkey (a session file or marker is named by its bearer
 * id) is ever written to, and no file is removed or moved from, a place a planted link points at.
 *
 * <p>Thread-safety: stateless.
 */
final class RealDirectories {
    private static final Logger LOG = LoggerFactory.getLogger(RealDirectories.class);

    private RealDirectories() {
    }

    /** What stands at a name, looked at without following a link. */
    enum Kind { MISSING, DIRECTORY, OTHER }

    static Kind kind(Path path) throws IOException {
        try {
            BasicFileAttributes attributes = Files.readAttributes(path, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
            return attributes.isDirectory() ? Kind.DIRECTORY : Kind.OTHER;
        } catch (NoSuchFileException e) {
            return Kind.MISSING;
        }
    }

    /**
     * Removes what stands at {@code dir} if it is not a real directory (a link is unlinked, never
     * followed).
     *
     * @return what is there now: {@link Kind#DIRECTORY} or {@link Kind#MISSING}
     */
    static Kind refuseNonDirectory(Path dir) throws IOException {
        Kind kind = kind(dir);
        if (kind != Kind.OTHER) {
            return kind;
        }
        LOG.warn("{} is a symbolic link or another non-directory where Latchkey keeps a directory;"
                + " removing it (never following it). Only the workers' user may write into the"
                + " session directory", Redaction.path(dir));
        Files.deleteIfExists(dir); // unlink(): removes a link itself
        return kind(dir) == Kind.DIRECTORY ? Kind.DIRECTORY : Kind.MISSING;
    }

    /**
     * Makes sure {@code dir} is a real directory, creating it if it is missing; its parent must
     * be one already.
     */
    static void ensure(Path dir, FileAttribute<?>[] mode) throws IOException {
        for (int attempt = 0; ; attempt++) {
            if (refuseNonDirectory(dir) == Kind.DIRECTORY) {
                return;
            }
            try {
                Files.createDirectory(dir, mode);
                return;
            } catch (FileAlreadyExistsException raced) {
                if (attempt >= 3) {
                    throw raced; // something keeps replacing it
                }
            }
        }
    }
}
