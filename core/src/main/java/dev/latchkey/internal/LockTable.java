package dev.latchkey.internal;

import dev.latchkey.LockInterruptedException;
import dev.latchkey.LockTimeoutException;
import dev.latchkey.StoreException;
import java.io.IOException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * The striped locks of one session directory, shared by every store of this JVM that is open on
 * it. A stripe is held by at most one holder in the whole machine: one {@link Semaphore} per stripe
 * in use
 * excludes the threads of this JVM, and an OS byte-range lock ({@code fcntl F_SETLK}) on byte
 * {@code stripe} of the lock file excludes other processes.
 *
 * <p>Why it is built this way (each is a pitfall of {@link java.nio.channels.FileLock} on Linux):
 * <ul>
 *   <li>OS locks belong to the process, and the JDK refuses a second overlapping lock in one JVM
 *       ({@code OverlappingFileLockException}): hence the semaphore in front of each stripe, and
 *       one table per lock file per JVM (the JVM-wide registry below), never one per store.</li>
 *   <li>Closing any channel of a file drops all of this process's locks on it: the table opens
 *       the lock file exactly once per JVM and closes it only when the last store and the last
 *       held lock are gone; nothing else in Latchkey opens the lock file.</li>
 *   <li>"Once per JVM" must hold across class loaders: two web applications, a redeploy or
 *       Tomcat's parallel deployment load this class twice, and a static field per class loader
 *       would give each copy its own channel, so that one copy closing its last store drops the
 *       other copy's locks. The registry therefore lives in a place every class loader sees:
 *       {@link System#getProperties()}, under {@value #REGISTRY_KEY}, as a
 *       {@link ConcurrentHashMap} that holds JDK types only (the channel, the mapping, the
 *       reference count and the per-stripe {@link Semaphore}s), since each copy has its own
 *       Latchkey classes. So the copies share the channel, the count and the semaphores, and
 *       exclude each other's threads as threads of one copy do. The alternative, never closing a
 *       copy's channel, was rejected: a channel only a copy's static field refers to goes with
 *       that copy after an undeploy, so every redeploy would leak a descriptor or, if the
 *       collected channel were closed, drop every lock; and copies would still need shared
 *       semaphores. The
 *       price: that one system property is not a string ({@code Properties.store} and
 *       {@code list} on the system properties would throw; {@code stringPropertyNames},
 *       {@code getProperty} and the JDK's tools skip it). {@code System.setProperties(null)}
 *       (or a replacement {@code Properties}) throws the JVM-wide registry away: a copy that
 *       has seen it puts its handle back on its next open, but a copy that opens a store
 *       first after the reset, and has not seen the registry, starts a new one, with its own
 *       channel and semaphores, and its close can drop the other copy's locks. Do not reset
 *       the system properties while Latchkey is in use. Its layout is version 1 of the key;
 *       a copy that changed it would have to use a new key.</li>
 *   <li>{@code FileChannel} is an interruptible channel: an interrupt during a blocking
 *       {@code lock()}, a read, a write or {@code size()} closes it, and with it every lock the
 *       JVM holds on the file. The table uses an {@link AsynchronousFileChannel}, which no
 *       interrupt closes, so no operation on the lock file, now or later, can drop the JVM's
 *       locks by accident.</li>
 *   <li>A lock on a file that is renamed over or deleted no longer guards its path: the lock file
 *       is never replaced or removed, and session files are not locked at all.</li>
 *   <li>The lock file does not grow: 65,536 one-byte ranges of an empty file (POSIX locks may
 *       lie past the end of a file).</li>
 * </ul>
 * OS locks have no timed wait, so a holder of the semaphore polls {@code tryLock} with a short
 * exponential back-off (at most 1 ms) until the deadline. A process that dies loses its OS locks.
 *
 * <p>Thread-safety: thread-safe.
 */
final class LockTable {
    static final int STRIPES = 1 << 16;

    private static final long MAX_BACKOFF_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** The system property that holds this JVM's registry of lock tables, for every copy. */
    static final String REGISTRY_KEY = "dev.latchkey.lockTables.v1";
    /**
     * This copy's handle on the registry, kept so that code that replaces the system properties
     * ({@code System.setProperties}) does not make a later open start a second channel: the
     * registry is put back.
     */
    private static volatile ConcurrentHashMap<String, Object[]> knownRegistry;
    // the layout of a registry entry (JDK types only: shared by every class loader)
    private static final int CHANNEL = 0; // AsynchronousFileChannel
    private static final int SEQUENCES = 1; // MappedByteBuffer
    private static final int REFERENCES = 2; // int[1], guarded by the registry's monitor
    private static final int STRIPE_MAP = 3; // ConcurrentHashMap<Integer, Object[]>
    // the layout of a stripe entry: guarded by its map (compute)
    private static final int SEMAPHORE = 0; // Semaphore(1)
    private static final int USERS = 1; // int[1]: holders and waiters
    private static final int OWNER = 2; // AtomicReference<Thread>, for messages
    static final String SEQUENCE_FILE = "latchkey.seq";
    private static final VarHandle SEQUENCE =
            MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.nativeOrder());

    private final Path file;
    private final ConcurrentHashMap<String, Object[]> registry;
    /** The shared entry of the registry: this JVM's table, whichever copy opened it. */
    private final Object[] entry;
    private final AsynchronousFileChannel channel;
    /** One 8-byte publish sequence per stripe, shared with other processes through mmap. */
    private final MappedByteBuffer sequences;
    private final ConcurrentHashMap<Integer, Object[]> local;
    private final int[] references;

    @SuppressWarnings("unchecked")
    private LockTable(Path file, ConcurrentHashMap<String, Object[]> registry, Object[] entry) {
        this.file = file;
        this.registry = registry;
        this.entry = entry;
        this.channel = (AsynchronousFileChannel) entry[CHANNEL];
        this.sequences = (MappedByteBuffer) entry[SEQUENCES];
        this.references = (int[]) entry[REFERENCES];
        this.local = (ConcurrentHashMap<Integer, Object[]>) entry[STRIPE_MAP];
    }

    /**
     * Returns a view of this JVM's table for a lock file (shared by every store and every class
     * loader of the JVM), opening (and creating, mode 0600) the file if this is the first user.
     * Each call must be paired with one {@link #release()} of the returned view.
     */
    static LockTable open(Path lockFile) {
        Path key = realPath(lockFile);
        ConcurrentHashMap<String, Object[]> registry = registry();
        synchronized (registry) {
            Object[] entry = registry.get(key.toString());
            if (entry == null) {
                entry = new Object[] {openChannel(key), mapSequences(key), new int[1],
                        new ConcurrentHashMap<Integer, Object[]>()};
                registry.put(key.toString(), entry);
            }
            ((int[]) entry[REFERENCES])[0]++;
            return new LockTable(key, registry, entry);
        }
    }

    /** The JVM-wide registry: lock file's real path to entry. See the class comment. */
    @SuppressWarnings("unchecked")
    private static ConcurrentHashMap<String, Object[]> registry() {
        ConcurrentHashMap<String, Object[]> mine = knownRegistry;
        Object candidate = mine != null ? mine : new ConcurrentHashMap<String, Object[]>();
        Object registry = System.getProperties().putIfAbsent(REGISTRY_KEY, candidate);
        if (registry == null) {
            registry = candidate;
        }
        if (!(registry instanceof ConcurrentHashMap)) {
            throw new IllegalStateException("system property " + REGISTRY_KEY + " is reserved"
                    + " for Latchkey's JVM-wide lock registry; do not set it");
        }
        knownRegistry = (ConcurrentHashMap<String, Object[]>) registry;
        return knownRegistry;
    }

    private static Path realPath(Path lockFile) {
        try {
            try {
                Files.createFile(lockFile, FileModes.file(lockFile));
            } catch (java.nio.file.FileAlreadyExistsException alreadyThere) {
                // another store or process made it: fine
            }
            return lockFile.toRealPath();
        } catch (IOException e) {
            throw new StoreException("cannot create or resolve the lock file; check that the"
                    + " session directory is writable", lockFile, e);
        }
    }

    /**
     * Maps the publish sequences: {@code latchkey.seq} beside the lock file, 8 bytes per stripe
     * (512 KiB, sparse). A mapping is shared memory with every other process that maps the file,
     * immune to interrupts, and stays valid after its channel is closed; closing that channel
     * drops no lock, since it is another file than the lock file.
     */
    private static MappedByteBuffer mapSequences(Path lockFile) {
        Path path = lockFile.resolveSibling(SEQUENCE_FILE);
        try (FileChannel ch = FileChannel.open(path, Set.of(StandardOpenOption.CREATE,
                StandardOpenOption.READ, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                FileModes.file(path))) {
            return ch.map(FileChannel.MapMode.READ_WRITE, 0, (long) STRIPES * Long.BYTES);
        } catch (IOException e) {
            throw new StoreException("cannot map the publish sequence file", path, e);
        }
    }

    /**
     * Returns a stripe's publish sequence: odd while the holder of that stripe is between taking a
     * session's current file away, or putting one beside an {@code ID.old}, and removing that
     * {@code ID.old} (steps 3 to 5 of the publish protocol), even otherwise. Bit
     * {@link #CUT_SHORT} may be set besides (see there). Values never repeat: the counter in the
     * other bits only grows, and the flag is set only together with a step of the counter. A
     * reader that found no file for a session and saw the same even value before and after looking
     * knows that no publish hid the file from it: the session does not exist.
     */
    long publishSequence(int stripe) {
        return (long) SEQUENCE.getVolatile(sequences, stripe * Long.BYTES);
    }

    /**
     * The flag bit of a publish sequence that says a publish of one of the stripe's sessions may
     * have been cut short after its {@code ID.old} was made: a holder died inside the window (the
     * next holder found the sequence odd), or could not unlink {@code ID.old}. While it is set,
     * holders look for a stale {@code ID.old} beside each file they read (and remove it); while it
     * is clear they need not, which saves a system call per commit. Only {@code recover()} clears
     * it, after it has resolved every leftover it lists. Processes of older versions add to the
     * sequence and so keep the bit.
     */
    static final long CUT_SHORT = 1L << 62;

    /** Whether a stripe's {@link #CUT_SHORT} flag is set; the caller should hold the stripe. */
    boolean cutShort(int stripe) {
        return (publishSequence(stripe) & CUT_SHORT) != 0;
    }

    /**
     * Makes an odd publish sequence even and sets {@link #CUT_SHORT}. Called by every new holder
     * of the stripe, before it does anything else: while the stripe is held nobody is inside a
     * publish, so an odd value was left by a holder that died inside one (kill -9 between steps 3
     * and 5), and may have left a stale {@code ID.old}. Until it is repaired, lock-free readers of
     * every session of the stripe cannot prove a session missing and fall back to reading under the
     * lock; repairing on acquire (not only when the next publish moves a file) means that a
     * recovery publish from {@code ID.old}, an invalidation, or a lock held for a long unit of work
     * all end that state at once.
     *
     * @return true if the sequence was odd (the new {@link Held} reports it, for the counters)
     */
    private boolean repairOddSequence(int stripe) {
        long v = publishSequence(stripe);
        if ((v & 1) != 0) {
            SEQUENCE.setVolatile(sequences, stripe * Long.BYTES, (v + 1) | CUT_SHORT);
            return true;
        }
        return false;
    }

    private static AsynchronousFileChannel openChannel(Path file) {
        try {
            return AsynchronousFileChannel.open(file, StandardOpenOption.READ,
                    StandardOpenOption.WRITE);
        } catch (NoSuchFileException e) {
            throw new StoreException("the lock file vanished; never delete latchkey.lock while a"
                    + " process uses the directory", file, e);
        } catch (IOException e) {
            throw new StoreException("cannot open the lock file", file, e);
        }
    }

    /**
     * For tests: the references of this JVM's table for a lock file, 0 if none is registered.
     */
    static int referencesOf(Path lockFile) {
        ConcurrentHashMap<String, Object[]> registry = registry();
        synchronized (registry) {
            try {
                Object[] entry = registry.get(lockFile.toRealPath().toString());
                return entry == null ? 0 : ((int[]) entry[REFERENCES])[0];
            } catch (IOException e) {
                return 0;
            }
        }
    }

    /** Drops one reference; the last one of the JVM closes the lock file. */
    void release() {
        synchronized (registry) {
            if (--references[0] > 0) {
                return;
            }
            registry.remove(file.toString(), entry);
            try {
                channel.close();
            } catch (IOException e) {
                // nothing is held when the last reference goes; the OS drops the locks anyway
            }
        }
    }

    /**
     * Takes a reference for a held stripe, before the channel is used. A table whose last
     * reference is gone is closed and unregistered for good: it is never revived (a stale table
     * whose later release unregistered a newer one would let a second channel be opened and
     * closed on the lock file, dropping every lock of the JVM).
     *
     * @throws IllegalStateException if the table is closed: every store that used it is closed
     */
    private void retain() {
        synchronized (registry) {
            if (references[0] == 0) {
                throw new IllegalStateException("the session store is closed");
            }
            references[0]++;
        }
    }

    /**
     * Acquires a stripe, waiting up to the timeout.
     *
     * @param stripe in [0, STRIPES)
     * @param timeout how long to wait, zero to try once
     * @param what names the session for the timeout message
     * @return the held stripe, released with {@link Held#release()}
     * @throws LockTimeoutException if not acquired in time
     * @throws LockInterruptedException if the thread is interrupted before or while it waits
     *     (even if the stripe is free: an interrupted thread should stop, not take locks); the
     *     interrupt status stays set
     */
    Held acquire(int stripe, Duration timeout, String what) {
        long deadline = System.nanoTime() + timeout.toNanos();
        if (Thread.currentThread().isInterrupted()) { // the status stays set
            // checked first, also for a free stripe: the next file operation of an interrupted
            // thread would fail anyway (an interrupt closes the channel of a read)
            throw new LockInterruptedException("interrupted before taking the lock of " + what);
        }
        retain();
        Semaphore semaphore = enter(stripe);
        boolean acquired = false;
        boolean waited = false;
        try {
            if (!semaphore.tryAcquire()) {
                waited = true;
            }
            if (waited && !semaphore.tryAcquire(timeout.toNanos(), TimeUnit.NANOSECONDS)) {
                if (owner(stripe) == Thread.currentThread()) {
                    throw new LockTimeoutException("lock of " + what + " is held by this very"
                            + " thread, through a SessionLock it has not closed (the lock is not"
                            + " reentrant: use that handle for the session, or close it first)",
                            timeout);
                }
                throw new LockTimeoutException("lock of " + what + " is held by another thread of"
                        + " this JVM", timeout);
            }
            try {
                FileLock lock = tryOsLock(stripe);
                if (lock == null) {
                    waited = true;
                    lock = pollOsLock(stripe, deadline, timeout, what);
                }
                boolean repaired = repairOddSequence(stripe);
                owner(local.get(stripe)).set(Thread.currentThread());
                acquired = true;
                return new Held(stripe, lock, semaphore, waited, repaired);
            } finally {
                if (!acquired) {
                    semaphore.release();
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // the caller's to handle: keep the status
            throw new LockInterruptedException("interrupted while waiting for the lock of "
                    + what);
        } finally {
            if (!acquired) {
                leave(stripe);
                release();
            }
        }
    }

    /**
     * Takes a stripe only if it is free at this instant, without waiting and without counting as
     * a timeout: a sweep skips sessions that are in use.
     *
     * @param stripe in [0, STRIPES)
     * @return the held stripe, or null if a thread of this JVM or another process holds it
     */
    Held tryAcquire(int stripe) {
        retain();
        Semaphore semaphore = enter(stripe);
        boolean acquired = false;
        try {
            if (!semaphore.tryAcquire()) {
                return null;
            }
            try {
                FileLock lock = tryOsLock(stripe);
                if (lock == null) {
                    return null;
                }
                boolean repaired = repairOddSequence(stripe);
                owner(local.get(stripe)).set(Thread.currentThread());
                acquired = true;
                return new Held(stripe, lock, semaphore, false, repaired);
            } finally {
                if (!acquired) {
                    semaphore.release();
                }
            }
        } finally {
            if (!acquired) {
                leave(stripe);
                release();
            }
        }
    }

    /**
     * Registers a user (holder or waiter) of a stripe's semaphore, creating it if needed. Entries
     * live only while they have users, so memory follows the number of stripes in use, not the
     * 65,536 that exist.
     */
    private Semaphore enter(int stripe) {
        return (Semaphore) local.compute(stripe, (k, e) -> {
            if (e == null) {
                // a semaphore, the count of the threads that hold it or wait for it, the owner
                return new Object[] {new Semaphore(1), new int[] {1}, new AtomicReference<>()};
            }
            ((int[]) e[USERS])[0]++;
            return e;
        })[SEMAPHORE];
    }

    /** The thread that acquired a stripe (for messages only: a handle may move to another). */
    private Thread owner(int stripe) {
        Object[] e = local.get(stripe);
        return e == null ? null : owner(e).get();
    }

    @SuppressWarnings("unchecked")
    private static AtomicReference<Thread> owner(Object[] stripeEntry) {
        return (AtomicReference<Thread>) stripeEntry[OWNER];
    }

    private void leave(int stripe) {
        local.computeIfPresent(stripe, (k, e) -> --((int[]) e[USERS])[0] == 0 ? null : e);
    }

    /** One attempt at the OS lock of a stripe: the lock, or null if another process holds it. */
    private FileLock tryOsLock(int stripe) {
        try {
            return channel.tryLock(stripe, 1, false);
        } catch (OverlappingFileLockException e) {
            // another table of this JVM holds it: the same file reached by another path
            // (a bind mount); it is as held as a lock of another process
            return null;
        } catch (IOException e) {
            throw new StoreException("cannot lock the lock file", file, e);
        }
    }

    private FileLock pollOsLock(int stripe, long deadline, Duration timeout, String what) {
        long backoff = 10_000; // 10 µs
        int spins = 0;
        while (true) {
            FileLock lock = tryOsLock(stripe);
            if (lock != null) {
                return lock;
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new LockTimeoutException("lock of " + what + " is held by another process",
                        timeout);
            }
            if (Thread.currentThread().isInterrupted()) { // the status stays set
                throw new LockInterruptedException("interrupted while waiting for the lock of "
                        + what);
            }
            if (spins++ < 20) {
                Thread.onSpinWait();
                continue;
            }
            LockSupport.parkNanos(Math.min(backoff, left));
            backoff = Math.min(backoff * 2, MAX_BACKOFF_NANOS);
        }
    }

    /**
     * One held stripe. Not thread-safe, except {@link #release()}: released exactly once, even if
     * two threads release it at once (a second release of the semaphore would let two holders in,
     * and a second drop of the table's reference could close the lock file under other locks).
     */
    final class Held {
        private final int stripe;
        private final FileLock lock;
        private final Semaphore semaphore;
        private final boolean waited;
        private final boolean repairedOnAcquire;
        private final AtomicBoolean released = new AtomicBoolean();

        private Held(int stripe, FileLock lock, Semaphore semaphore, boolean waited,
                boolean repairedOnAcquire) {
            this.stripe = stripe;
            this.lock = lock;
            this.semaphore = semaphore;
            this.waited = waited;
            this.repairedOnAcquire = repairedOnAcquire;
        }

        /** Whether acquiring found the sequence odd (a holder had died in a publish) and fixed it. */
        boolean repairedOnAcquire() {
            return repairedOnAcquire;
        }

        int stripe() {
            return stripe;
        }

        /** Whether the first attempt found the stripe busy, in this JVM or in another process. */
        boolean waited() {
            return waited;
        }

        /**
         * Marks the start of a window in which a session file of this stripe is away, or an
         * {@code ID.old} stands beside it.
         *
         * @return true if the sequence was odd: a holder died inside such a window (a repair)
         */
        boolean beginPublish() {
            long v = publishSequence(stripe);
            boolean odd = (v & 1) != 0;
            SEQUENCE.setVolatile(sequences, stripe * Long.BYTES, odd ? (v + 2) | CUT_SHORT : v + 1);
            return odd;
        }

        /**
         * Marks the end of that window (the sequence even again).
         *
         * @param leftStale true if the window ends with an {@code ID.old} left beside its
         *     {@code ID} (its unlink failed, or was never reached): sets {@link #CUT_SHORT}
         */
        void endPublish(boolean leftStale) {
            long v = publishSequence(stripe);
            if ((v & 1) == 0) {
                return; // not in a window (a failure before it began)
            }
            SEQUENCE.setVolatile(sequences, stripe * Long.BYTES,
                    leftStale ? (v + 1) | CUT_SHORT : v + 1);
        }

        /** Whether this stripe's {@link #CUT_SHORT} flag is set. */
        boolean cutShort() {
            return LockTable.this.cutShort(stripe);
        }

        /**
         * Clears this stripe's {@link #CUT_SHORT} flag: for {@code recover()}, once no stale
         * {@code ID.old} of the stripe is left. The counter steps too, so the value is new.
         *
         * @return true if the flag was set
         */
        boolean clearCutShort() {
            long v = publishSequence(stripe);
            if ((v & CUT_SHORT) == 0) {
                return false;
            }
            SEQUENCE.setVolatile(sequences, stripe * Long.BYTES, (v & ~CUT_SHORT) + 2);
            return true;
        }

        /**
         * Makes an odd sequence even (and sets {@link #CUT_SHORT}): while this stripe is held
         * nobody is inside a publish window, so an odd value outside
         * {@link #beginPublish}/{@link #endPublish} is the trace of a holder that died inside one.
         *
         * @return true if the sequence was odd
         */
        boolean repairSequence() {
            return repairOddSequence(stripe);
        }

        /** Releases the OS lock, then the JVM's semaphore. Idempotent. */
        void release() {
            if (!released.compareAndSet(false, true)) {
                return;
            }
            try {
                lock.release();
            } catch (IOException e) {
                // the channel is open (we hold a reference), so this is an OS failure: the lock
                // may still be held by this process; closing the table's last reference frees it
                org.slf4j.LoggerFactory.getLogger(LockTable.class)
                        .error("cannot release stripe {} of {}", stripe, file, e);
            } finally {
                owner(local.get(stripe)).set(null);
                semaphore.release();
                leave(stripe);
                LockTable.this.release();
            }
        }
    }
}
