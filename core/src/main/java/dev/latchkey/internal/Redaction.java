package dev.latchkey.internal;

import java.io.IOException;
import java.nio.file.FileSystemException;
import java.nio.file.Path;
import java.util.regex.Pattern;

/**
 * Keeps session ids out of log lines and exception messages. An id is a bearer secret: whoever
 * reads it in a log can take over the session. Logs and messages show its first 6 letters only
 * ({@link FileSessionStore#describe}), and session files by their directory and that short form,
 * e.g. {@code /srv/sessions/sessions/Ab/Ab3xYz….tmp}. The operating system's own messages (the
 * {@link IOException}s behind a {@code StoreException}) name the full path, so they are replaced
 * by copies with the ids shortened (the same class where it can be built, else its name in the
 * text; the same stack trace).
 *
 * <p>Thread-safety: stateless; thread-safe.
 */
final class Redaction {
    /** A run of 43 id letters not inside a longer run: the shape of a session id. */
    private static final Pattern ID = Pattern.compile(
            "(?<![A-Za-z0-9_-])([A-Za-z0-9_-]{6})[A-Za-z0-9_-]{37}(?![A-Za-z0-9_-])");

    private Redaction() {
    }

    /** Text with every id-shaped word shortened to its first 6 letters and an ellipsis. */
    static String text(String s) {
        return s == null ? null : ID.matcher(s).replaceAll("$1…");
    }

    /** A path as logs may show it: the directory in full, a session id shortened. */
    static String path(Path p) {
        return p == null ? "null" : text(p.toString());
    }

    /** The exception itself if its message names no id, else a copy that does not. */
    static IOException cause(IOException e) {
        String message = e.getMessage();
        String safe = text(message);
        if (safe == null || safe.equals(message)) {
            return e;
        }
        IOException copy = sameType(e);
        if (copy == null) {
            copy = new Redacted(e.getClass().getName() + ": " + safe);
        }
        copy.setStackTrace(e.getStackTrace());
        for (Throwable suppressed : e.getSuppressed()) {
            copy.addSuppressed(suppressed);
        }
        return copy;
    }

    /**
     * A copy of a {@link FileSystemException} (the usual case: NIO names the file in it) of the
     * same class, so that callers can still tell {@code AccessDeniedException} from
     * {@code NoSuchFileException}, with the file names shortened; null if the class has neither of
     * the JDK's usual public constructors.
     */
    private static IOException sameType(IOException e) {
        if (!(e instanceof FileSystemException)) {
            return null;
        }
        FileSystemException f = (FileSystemException) e;
        String file = text(f.getFile());
        try {
            return e.getClass().getConstructor(String.class, String.class, String.class)
                    .newInstance(file, text(f.getOtherFile()), text(f.getReason()));
        } catch (ReflectiveOperationException | RuntimeException noSuch) {
            // try the one-argument form
        }
        if (f.getOtherFile() == null && f.getReason() == null) {
            try {
                return e.getClass().getConstructor(String.class).newInstance(file);
            } catch (ReflectiveOperationException | RuntimeException noSuch) {
                // fall back to a plain copy
            }
        }
        return null;
    }

    /** An I/O failure whose message had session ids in it, reported with them shortened. */
    static final class Redacted extends IOException {
        private static final long serialVersionUID = 1L;

        Redacted(String message) {
            super(message);
        }
    }
}
