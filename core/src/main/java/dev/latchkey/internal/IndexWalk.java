package dev.latchkey.internal;

import java.io.Closeable;
import java.io.IOException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.attribute.BasicFileAttributeView;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A sweep's access to the expiry index, which never follows a link. Where the platform offers a
 * {@link SecureDirectoryStream} (Linux does), the walk holds open descriptors of {@code DIR},
 * {@code DIR/expiry} and each bucket, opens each of them relative to its parent with
 * {@code O_NOFOLLOW}, and unlinks entries relative to the bucket's descriptor ({@code openat},
 * {@code unlinkat}): a link planted at {@code expiry} or at a bucket's name, or swapped in while
 * the walk runs, is never entered; it is removed itself, with a WARN. Elsewhere each directory is
 * checked with {@code lstat} before use (which leaves a race with a concurrent swap).
 *
 * <p>Not thread-safe: one walk per sweep call.
 */
final class IndexWalk implements Closeable {
    private static final Logger LOG = LoggerFactory.getLogger(IndexWalk.class);

    private final ExpiryIndex index;
    private final SecureDirectoryStream<Path> top; // null: no secure streams here
    private final SecureDirectoryStream<Path> expiry; // null: missing, or no secure streams
    /** Planted links (or other non-directories) removed by this walk. */
    int linksRemoved;

    private IndexWalk(ExpiryIndex index, SecureDirectoryStream<Path> top,
            SecureDirectoryStream<Path> expiry) {
        this.index = index;
        this.top = top;
        this.expiry = expiry;
    }

    static IndexWalk open(ExpiryIndex index) throws IOException {
        Path root = index.layout().root();
        DirectoryStream<Path> top = Files.newDirectoryStream(root);
        if (!(top instanceof SecureDirectoryStream<Path> secure)) {
            top.close();
            IndexWalk walk = new IndexWalk(index, null, null);
            walk.refuse(index.root());
            return walk;
        }
        try {
            SecureDirectoryStream<Path> expiry = openChild(secure, Path.of(Layout.EXPIRY));
            IndexWalk walk = new IndexWalk(index, secure, expiry);
            if (expiry == null) {
                walk.refuseChild(secure, Path.of(Layout.EXPIRY), index.root());
            }
            return walk;
        } catch (IOException | RuntimeException e) {
            secure.close();
            throw e;
        }
    }

    /** A child directory opened without following a link; null if missing or not a directory. */
    private static SecureDirectoryStream<Path> openChild(SecureDirectoryStream<Path> parent,
            Path name) throws IOException {
        try {
            return parent.newDirectoryStream(name,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        } catch (FileSystemException e) {
            if (isDirectory(parent, name)) {
                throw e; // a real directory that cannot be opened: a real error
            }
            return null; // a link (ELOOP) or a file (ENOTDIR): the caller refuses it
        }
    }

    private static boolean isDirectory(SecureDirectoryStream<Path> parent, Path name)
            throws IOException {
        try {
            return parent.getFileAttributeView(name, BasicFileAttributeView.class,
                    LinkOption.NOFOLLOW_LINKS).readAttributes().isDirectory();
        } catch (NoSuchFileException e) {
            return true; // gone: nothing to refuse
        }
    }

    /** Removes a non-directory at {@code name} in {@code parent} (the link itself). */
    private void refuseChild(SecureDirectoryStream<Path> parent, Path name, Path shown)
            throws IOException {
        if (isDirectory(parent, name)) {
            return;
        }
        LOG.warn("{} is a symbolic link or another non-directory in the expiry index; removing it"
                + " (never following it). Only the workers' user may write into the session"
                + " directory", Redaction.path(shown));
        try {
            parent.deleteFile(name);
            linksRemoved++;
        } catch (NoSuchFileException e) {
            // gone meanwhile
        }
    }

    /** Without secure streams: lstat and remove a non-directory. */
    private void refuse(Path dir) throws IOException {
        if (RealDirectories.kind(dir) == RealDirectories.Kind.OTHER) {
            RealDirectories.refuseNonDirectory(dir);
            linksRemoved++;
        }
    }

    /** The due buckets' times, oldest first (one listing of the index's top directory). */
    List<Long> dueBuckets(long now) {
        if (top == null) {
            return index.dueBuckets(now);
        }
        List<Long> due = new ArrayList<>();
        if (expiry == null) {
            return due;
        }
        for (Path entry : expiry) {
            long time = ExpiryIndex.parseBucket(entry.getFileName().toString());
            if (time != ExpiryIndex.NONE && time <= now) {
                due.add(time);
            }
        }
        due.sort(null);
        return due;
    }

    /** One bucket's entries; null if it is gone, or was a link (then removed). Close it. */
    Bucket bucket(long due) throws IOException {
        Path name = Path.of(Long.toString(due));
        if (top == null) {
            refuse(index.bucket(due));
            DirectoryStream<Path> markers = index.markers(due);
            return markers == null ? null : new Bucket(markers, null, due);
        }
        SecureDirectoryStream<Path> bucket = openChild(expiry, name);
        if (bucket == null) {
            refuseChild(expiry, name, index.bucket(due));
            return null;
        }
        return new Bucket(bucket, bucket, due);
    }

    /** Removes a bucket if it is empty (never a link's target). */
    void removeBucketIfEmpty(long due) throws IOException {
        if (top == null) {
            index.removeBucketIfEmpty(due);
            return;
        }
        try {
            expiry.deleteDirectory(Path.of(Long.toString(due)));
        } catch (NoSuchFileException | DirectoryNotEmptyException e) {
            // gone, or a marker came in
        }
    }

    @Override
    public void close() throws IOException {
        try {
            if (expiry != null) {
                expiry.close();
            }
        } finally {
            if (top != null) {
                top.close();
            }
        }
    }

    /** The entries of one bucket. */
    final class Bucket implements Closeable {
        private final DirectoryStream<Path> stream;
        private final SecureDirectoryStream<Path> secure; // null: path operations
        private final long due;

        private Bucket(DirectoryStream<Path> stream, SecureDirectoryStream<Path> secure,
                long due) {
            this.stream = stream;
            this.secure = secure;
            this.due = due;
        }

        Iterator<Path> iterator() {
            return stream.iterator();
        }

        /** Unlinks a marker of this bucket (a directory at its name is moved aside). */
        void removeMarker(String id) {
            if (secure == null) {
                index.remove(id, due);
                return;
            }
            remove(Path.of(id), "a directory where an expiry marker should be");
        }

        /** Removes an entry whose name is not an id, with a WARN. */
        void removeForeign(Path entry) {
            if (secure == null) {
                index.removeForeign(entry);
                return;
            }
            LOG.warn("removing {} from the expiry index: not a session id", Redaction.path(entry));
            remove(entry.getFileName(), "a directory in the expiry index");
        }

        private void remove(Path name, String reason) {
            Path shown = index.bucket(due).resolve(name);
            try {
                try {
                    secure.deleteFile(name); // unlinkat(): a link is removed, never followed
                } catch (NoSuchFileException e) {
                    return;
                } catch (FileSystemException e) {
                    if (!isDirectory(secure, name)) {
                        throw e;
                    }
                    try {
                        secure.deleteDirectory(name);
                    } catch (DirectoryNotEmptyException full) {
                        quarantine(name, shown, reason);
                    }
                }
            } catch (NoSuchFileException e) {
                // gone meanwhile
            } catch (IOException e) {
                throw SessionFiles.storeException("cannot remove an entry of the expiry index",
                        shown, e);
            }
        }

        private void quarantine(Path name, Path shown, String reason) throws IOException {
            RealDirectories.ensure(index.layout().quarantine(),
                    FileModes.directory(index.layout().root()));
            SecureDirectoryStream<Path> quarantine = openChild(top, Path.of(Layout.QUARANTINE));
            if (quarantine == null) {
                throw new FileSystemException(index.layout().quarantine().toString(), null,
                        "the quarantine directory is not a directory");
            }
            try (quarantine) {
                Path target = Path.of("expiry." + due + "." + name + "."
                        + System.currentTimeMillis());
                secure.move(name, quarantine, target);
                LOG.warn("{} is {}; moved to {}", Redaction.path(shown), reason,
                        Redaction.path(index.layout().quarantine().resolve(target)));
            }
        }

        @Override
        public void close() throws IOException {
            stream.close();
        }
    }
}
