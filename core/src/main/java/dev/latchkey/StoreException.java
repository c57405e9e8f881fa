package dev.latchkey;

import java.nio.file.Path;

/**
 * The file system refused an operation of the store: permission denied, disk full, a read-only
 * file system, an I/O error, a directory that vanished. {@link #path()} names the file and
 * {@link #getCause()} is the operating system's report. The session's previous state is intact:
 * a commit that fails with this exception has not published anything, and its partial temp file
 * is removed (a failure to remove it is attached with {@link #addSuppressed}). One exception, said
 * in its message: under {@link Durability#SYNCED}, a failure to force the directory to disk comes
 * after the new state is published.
 */
public final class StoreException extends LatchkeyException {
    private static final long serialVersionUID = 1L;

    private final transient Path path;

    /**
     * Creates an exception.
     *
     * @param message what the store was doing and what to check
     * @param path the file or directory involved (never a path that holds a session id)
     * @param cause the I/O failure the operating system reported
     */
    public StoreException(String message, Path path, Throwable cause) {
        super(message + " [" + path + "]" + (cause == null ? "" : ": " + cause), cause);
        this.path = path;
    }

    /**
     * Returns the file or directory the failed operation was working on. For a session's file
     * this is the file's directory: session ids are secrets, so neither this path nor the message
     * shows a whole id (the message names the file with the id cut to its first 6 letters).
     *
     * @return the path, or {@code null} if this exception was deserialized
     */
    public Path path() {
        return path;
    }
}
