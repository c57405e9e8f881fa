package dev.latchkey.internal;

import dev.latchkey.StoreException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The secret keys that sign and verify session files with HMAC-SHA256: one signing key, and any
 * number of keys that only verify (rotation). Each key has a public <em>key id</em>, the first 4
 * bytes of HMAC-SHA256(key, "latchkey key id") in hex: it names the key in files and logs without
 * revealing anything about it, and lets a reader pick the key a file was signed with.
 *
 * <p>Key files: the file's bytes are the key, whatever they are (32 to 1,024 bytes). A key file
 * must be a regular file, not a symbolic link, and, where the file system is POSIX, readable and
 * writable by its owner only. It must not lie inside the session directory: whoever can write
 * session files must not be able to read or replace the key. The default key file,
 * {@code <directory>.key} beside the session directory, is created on first use with 32 bytes of
 * {@link SecureRandom}, mode 0600, race-free: every process writes its candidate to a temp file of
 * its own and publishes it with {@link Files#createLink}, which fails if the name exists; the
 * processes that lose read the winner's key, so all of them end up with the same key.
 *
 * <p>Thread-safety: immutable; {@link Key#mac()} hands out a fresh {@link Mac} per call (a clone
 * of an initialised prototype: cheaper than {@code Mac.getInstance}, and no thread-local that
 * would pin a web application's class loader).
 */
public final class MacKeys {
    private static final Logger LOG = LoggerFactory.getLogger(MacKeys.class);
    private static final String ALGORITHM = "HmacSHA256";

    /** The shortest key accepted: 256 bits, the strength of HMAC-SHA256. */
    public static final int MIN_KEY_BYTES = 32;
    /** The longest key accepted; a longer "key file" is more likely a mistake. */
    public static final int MAX_KEY_BYTES = 1024;
    /** Length of a MAC in bytes. */
    static final int MAC_BYTES = 32;
    /** Length of a key id in hex digits. */
    static final int ID_CHARS = 8;

    private static final byte[] ID_LABEL = "latchkey key id".getBytes(StandardCharsets.US_ASCII);
    private static final Set<PosixFilePermission> NOT_OWNER = EnumSet.of(
            PosixFilePermission.GROUP_READ, PosixFilePermission.GROUP_WRITE,
            PosixFilePermission.GROUP_EXECUTE, PosixFilePermission.OTHERS_READ,
            PosixFilePermission.OTHERS_WRITE, PosixFilePermission.OTHERS_EXECUTE);
    private static final Set<OpenOption> READ_NO_FOLLOW =
            Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
    private static final Set<OpenOption> CREATE_NO_FOLLOW = Set.of(StandardOpenOption.WRITE,
            StandardOpenOption.CREATE_NEW, LinkOption.NOFOLLOW_LINKS);
    private static final SecureRandom RANDOM = new SecureRandom();

    /** One key: its public id and an initialised MAC to clone. */
    static final class Key {
        final String id;
        private final SecretKeySpec spec;
        private final Mac prototype;

        private Key(byte[] bytes) {
            this.spec = new SecretKeySpec(bytes, ALGORITHM);
            this.prototype = newMac(spec);
            this.id = HexFormat.of().formatHex(prototype.doFinal(ID_LABEL), 0, ID_CHARS / 2);
        }

        /** A MAC initialised with this key, for the calling thread's use only. */
        Mac mac() {
            try {
                return (Mac) prototype.clone();
            } catch (CloneNotSupportedException e) {
                return newMac(spec); // a provider without clone support: slower, still right
            }
        }

        private static Mac newMac(SecretKeySpec spec) {
            try {
                Mac mac = Mac.getInstance(ALGORITHM);
                mac.init(spec);
                return mac;
            } catch (GeneralSecurityException e) {
                throw new IllegalStateException(ALGORITHM + " is not available in this JVM", e);
            }
        }

        @Override
        public String toString() {
            return "key " + id; // never the key itself
        }
    }

    private final Key signing;
    private final List<Key> all; // the signing key first

    private MacKeys(Key signing, List<Key> all) {
        this.signing = signing;
        this.all = List.copyOf(all);
    }

    /** The key new files are signed with. */
    Key signing() {
        return signing;
    }

    /** The key with this id, or null if this store has none such. */
    Key find(String id) {
        for (Key key : all) {
            if (key.id.equals(id)) {
                return key;
            }
        }
        return null;
    }

    /** The ids of every key this store verifies with, the signing key's first. */
    List<String> ids() {
        List<String> ids = new ArrayList<>();
        for (Key key : all) {
            ids.add(key.id);
        }
        return ids;
    }

    /** Compares two MACs in time that does not depend on where they differ. */
    static boolean same(byte[] a, byte[] b) {
        return MessageDigest.isEqual(a, b);
    }

    /**
     * Checks a key's bytes.
     *
     * @param key the key
     * @return what is wrong with it, or null if it is acceptable
     */
    public static String problem(byte[] key) {
        if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
            return "a MAC key must be " + MIN_KEY_BYTES + " to " + MAX_KEY_BYTES
                    + " bytes from a secure random source, this one has " + key.length;
        }
        for (byte b : key) {
            if (b != key[0]) {
                return null;
            }
        }
        return "a MAC key must come from a secure random source, this one is " + key.length
                + " times the same byte";
    }

    /**
     * Returns the default key file of a session directory: {@code <directory>.key} beside it.
     *
     * @param directory the session directory (absolute, normalized)
     * @return the key file, or null if the directory has no parent
     */
    public static Path defaultFile(Path directory) {
        Path name = directory.getFileName();
        return name == null ? null : directory.resolveSibling(name + ".key");
    }

    /**
     * Loads the keys of a store. The signing key is {@code key} if given, else the contents of
     * {@code keyFile}, which is created if it is missing and is the {@linkplain #defaultFile
     * default} file.
     *
     * @param layout the session directory, which exists
     * @param key the signing key's bytes, or null
     * @param keyFile the signing key's file; null if key is given (or if there is none)
     * @param previous keys that only verify
     * @param previousFiles files of keys that only verify
     * @return the keys
     * @throws StoreException if a key file is missing, unsafe or unreadable, or lies in the session
     *     directory
     */
    static MacKeys load(Layout layout, byte[] key, Path keyFile, List<byte[]> previous,
            List<Path> previousFiles) {
        Path directory = layout.root();
        Key signing;
        String source;
        if (key != null) {
            signing = new Key(key);
            source = "the configuration";
        } else {
            Path file = keyFile;
            if (file == null) {
                throw new StoreException("the session directory has no parent for the default MAC"
                        + " key file; configure StoreConfig.Builder.macKeyFile or macKey",
                        directory, null);
            }
            signing = new Key(readFile(layout, file, file.equals(defaultFile(directory))));
            source = file.toString();
        }
        List<Key> all = new ArrayList<>();
        all.add(signing);
        for (byte[] bytes : previous) {
            add(all, new Key(bytes));
        }
        for (Path file : previousFiles) {
            add(all, new Key(readFile(layout, file, false)));
        }
        MacKeys keys = new MacKeys(signing, all);
        LOG.info("session files in {} are signed with MAC key {} from {}{}", directory,
                signing.id, source, all.size() == 1 ? ""
                        : "; also accepted: " + keys.ids().subList(1, all.size()));
        return keys;
    }

    private static void add(List<Key> keys, Key key) {
        for (Key k : keys) {
            if (k.id.equals(key.id)) {
                return; // the same key twice (ids of different keys collide once in 2^32)
            }
        }
        keys.add(key);
    }

    /** Reads a key file after checking that it is safe, creating the default one if missing. */
    private static byte[] readFile(Layout layout, Path file, boolean createIfMissing) {
        refuseInside(layout.root(), file);
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class,
                    LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException missing) {
            if (!createIfMissing) {
                throw new StoreException("there is no MAC key file here; create one with"
                        + " 'head -c 32 /dev/urandom > " + file + " && chmod 600 " + file
                        + "' (every process that shares the session directory must use the same"
                        + " key), or configure another file", file, null);
            }
            create(layout, file);
            return readFile(layout, file, false);
        } catch (IOException e) {
            throw new StoreException("cannot read the MAC key file", file, e);
        }
        if (attributes.isSymbolicLink()) {
            throw new StoreException("the MAC key file is a symbolic link, which whoever can"
                    + " change it could point elsewhere; configure the path of the file itself",
                    file, null);
        }
        if (!attributes.isRegularFile()) {
            throw new StoreException("the MAC key file is not a regular file", file, null);
        }
        if (isPosix(file)) {
            Set<PosixFilePermission> permissions;
            try {
                permissions = Files.getPosixFilePermissions(file, LinkOption.NOFOLLOW_LINKS);
            } catch (IOException e) {
                throw new StoreException("cannot read the permissions of the MAC key file", file,
                        e);
            }
            permissions.retainAll(NOT_OWNER);
            if (!permissions.isEmpty()) {
                throw new StoreException("the MAC key file is open to other users (" + permissions
                        + "); anyone who can read it can forge sessions: run 'chmod 600 " + file
                        + "'", file, null);
            }
        }
        byte[] bytes;
        try (SeekableByteChannel in = Files.newByteChannel(file, READ_NO_FOLLOW)) {
            long size = in.size();
            if (size > MAX_KEY_BYTES) {
                throw new StoreException("the MAC key file holds " + size + " bytes, more than "
                        + MAX_KEY_BYTES + ": is it a key file? create one with 'head -c 32"
                        + " /dev/urandom > " + file + "'", file, null);
            }
            ByteBuffer buffer = ByteBuffer.allocate((int) size);
            while (buffer.hasRemaining() && in.read(buffer) >= 0) {
                // read it all
            }
            bytes = Arrays.copyOf(buffer.array(), buffer.position());
        } catch (AccessDeniedException e) {
            throw new StoreException("cannot read the MAC key file: permission denied; it must be"
                    + " readable by the user this process runs as (chown that user, chmod 600)",
                    file, e);
        } catch (IOException e) {
            throw new StoreException("cannot read the MAC key file", file, e);
        }
        String problem = problem(bytes);
        if (problem != null) {
            throw new StoreException(problem + "; create the key file with 'head -c 32"
                    + " /dev/urandom > " + file + " && chmod 600 " + file + "'", file, null);
        }
        return bytes;
    }

    /** A key in the session directory is readable by whoever can plant files there. */
    private static void refuseInside(Path directory, Path file) {
        String why = "the MAC key file lies inside the session directory, where whoever can write"
                + " session files could read or replace it; keep it outside " + directory;
        if (file.toAbsolutePath().normalize().startsWith(directory)) {
            throw new StoreException(why, file, null);
        }
        Path parent = file.toAbsolutePath().getParent();
        try {
            if (parent != null && Files.exists(parent) && parent.toRealPath()
                    .resolve(file.getFileName()).startsWith(directory.toRealPath())) {
                throw new StoreException(why + " (through a symbolic link)", file, null);
            }
        } catch (IOException e) {
            throw new StoreException("cannot resolve the path of the MAC key file", file, e);
        }
    }

    /**
     * Creates the default key file: a temp file of this process, published with a hard link that
     * fails if another process published first. Either way a complete key file exists afterwards.
     */
    private static void create(Layout layout, Path file) {
        Path parent = file.toAbsolutePath().getParent();
        byte[] key = new byte[MIN_KEY_BYTES];
        RANDOM.nextBytes(key);
        byte[] suffix = new byte[8];
        RANDOM.nextBytes(suffix);
        Path temp = parent.resolve(file.getFileName() + "." + HexFormat.of().formatHex(suffix)
                + ".tmp");
        StoreException failure = null;
        try {
            try (FileChannel out = FileChannel.open(temp, CREATE_NO_FOLLOW,
                    FileModes.file(parent))) {
                ByteBuffer buffer = ByteBuffer.wrap(key);
                while (buffer.hasRemaining()) {
                    out.write(buffer);
                }
                out.force(true); // the key is on disk before its name: sessions depend on it
            }
            // looked at before the key is published: afterwards other threads and processes may
            // be committing sessions signed with it
            boolean hadSessions = holdsSessions(layout);
            try {
                Files.createLink(file, temp);
            } catch (FileAlreadyExistsException raced) {
                return; // another process published its key first: all use that one
            }
            try (FileChannel dir = FileChannel.open(parent, StandardOpenOption.READ)) {
                dir.force(true);
            } catch (IOException e) {
                // some platforms cannot open a directory; the link is made, only not yet synced
            }
            if (hadSessions) {
                LOG.warn("created a new MAC key file {}, but {} already holds sessions: those"
                        + " signed with another key are refused (\"no session\", left in place);"
                        + " if the key file was moved or lost, stop every process and put it"
                        + " back", file, layout.root());
            } else {
                LOG.info("created MAC key file {} (mode 0600); back it up with the sessions,"
                        + " never inside the session directory", file);
            }
        } catch (IOException | UnsupportedOperationException e) {
            failure = new StoreException("cannot create the MAC key file; create it yourself with"
                    + " 'head -c 32 /dev/urandom > " + file + " && chmod 600 " + file + "', or"
                    + " configure StoreConfig.Builder.macKeyFile or macKey", file, e);
            throw failure;
        } finally {
            Arrays.fill(key, (byte) 0);
            try {
                Files.deleteIfExists(temp);
            } catch (IOException cleanup) {
                if (failure != null) {
                    failure.addSuppressed(cleanup);
                } else {
                    LOG.warn("cannot remove the temp key file {}; remove it by hand", temp,
                            cleanup);
                }
            }
        }
    }

    /**
     * Whether the session directory holds a regular file, two levels down. Entries that go while
     * it looks (a commit's temp file renamed, a session removed) are passed over, not an error.
     */
    static boolean holdsSessions(Layout layout) {
        boolean[] found = {false};
        try {
            Files.walkFileTree(layout.sessions(), EnumSet.noneOf(FileVisitOption.class), 2,
                    new SimpleFileVisitor<Path>() {
                        @Override
                        public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                            if (attrs.isRegularFile()) {
                                found[0] = true;
                                return FileVisitResult.TERMINATE;
                            }
                            return FileVisitResult.CONTINUE;
                        }

                        @Override
                        public FileVisitResult visitFileFailed(Path file, IOException e) {
                            return FileVisitResult.CONTINUE; // gone meanwhile, or unreadable
                        }
                    });
        } catch (IOException e) {
            return found[0];
        }
        return found[0];
    }

    private static boolean isPosix(Path path) {
        return path.getFileSystem().supportedFileAttributeViews().contains("posix");
    }

    @Override
    public String toString() {
        return "MacKeys" + ids();
    }
}
