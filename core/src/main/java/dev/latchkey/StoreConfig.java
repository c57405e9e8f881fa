package dev.latchkey;

import dev.latchkey.internal.MacKeys;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Pattern;

/**
 * The immutable configuration of a {@link SessionStore}. Build one with {@link #builder(Path)}.
 *
 * <p>Every process that opens one directory should use the same allowed types and the same
 * clock source and the same MAC keys; nothing else needs to agree (the lock layout is fixed by the
 * directory format).
 *
 * <p><b>Integrity.</b> Every session file carries an HMAC-SHA256 of its exact bytes and of the
 * session id it belongs to, under a secret key kept outside the session directory, and is verified
 * before any of it is parsed. Someone who can plant or edit files in the directory but cannot read
 * the key cannot forge a session: a file they wrote, edited or copied from another session is
 * moved to {@code quarantine/} with a WARN, and is "no session" to the caller. The key is, in this
 * order: the bytes given to {@link Builder#macKey}; the contents of {@link Builder#macKeyFile};
 * or, by default, of the file {@code <directory>.key} beside the session directory (for
 * {@code /var/lib/app/sessions}: {@code /var/lib/app/sessions.key}), which the first process to
 * open the directory creates with 32 random bytes and mode 0600. All processes end up with the same
 * default key even when they start at once. Keys for verification only
 * ({@link Builder#previousMacKeys}, {@link Builder#previousMacKeyFiles}) allow a rotation without
 * logging users out; {@code docs/operations.md} gives the procedure. Losing the key invalidates
 * every session (users log in again). This class never shows a key: it has no accessor for key
 * bytes and {@link #toString()} leaves them out.
 *
 * <p>Thread-safety: instances are immutable.
 */
public final class StoreConfig {

    /** The lock timeout when none is set: 10 seconds. */
    public static final Duration DEFAULT_LOCK_TIMEOUT = Duration.ofSeconds(10);

    /** The longest lock timeout accepted: one day. */
    public static final Duration MAX_LOCK_TIMEOUT = Duration.ofDays(1);

    /** The max-inactive interval of new sessions when none is set: 30 minutes. */
    public static final Duration DEFAULT_MAX_INACTIVE_INTERVAL = Duration.ofMinutes(30);

    /**
     * The longest max-inactive interval accepted: 10,000 years of 365 days; a longer one (from
     * {@link Builder#defaultMaxInactiveInterval} or
     * {@link SessionChange.Builder#maxInactiveInterval}) is refused rather than cut. Zero or
     * negative intervals (never expire) have no limit.
     */
    public static final Duration MAX_INACTIVE_INTERVAL_LIMIT = Duration.ofDays(10_000L * 365);

    /** The period of the background sweep when none is set: 1 minute. */
    public static final Duration DEFAULT_SWEEP_PERIOD = Duration.ofMinutes(1);

    private static final Pattern JAVA_NAME =
            Pattern.compile("\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*"
                    + "(\\.\\p{javaJavaIdentifierStart}\\p{javaJavaIdentifierPart}*)*");

    private final Path directory;
    private final Duration lockTimeout;
    private final Duration defaultMaxInactiveInterval;
    private final Set<Class<?>> allowedTypes;
    private final List<String> allowedPackages;
    private final Clock clock;
    private final Durability durability;
    private final byte[] macKey;
    private final Path macKeyFile;
    private final List<byte[]> previousMacKeys;
    private final List<Path> previousMacKeyFiles;
    private final ScheduledExecutorService sweepExecutor; // null: no background sweep
    private final Duration sweepPeriod;

    private StoreConfig(Builder b) {
        this.directory = b.directory;
        this.lockTimeout = b.lockTimeout == null ? DEFAULT_LOCK_TIMEOUT : b.lockTimeout;
        this.defaultMaxInactiveInterval = b.defaultMaxInactiveInterval == null
                ? DEFAULT_MAX_INACTIVE_INTERVAL : b.defaultMaxInactiveInterval;
        this.allowedTypes = b.allowedTypes == null ? Set.of()
                : Collections.unmodifiableSet(new LinkedHashSet<>(b.allowedTypes));
        this.allowedPackages = b.allowedPackages == null ? List.of() : List.copyOf(b.allowedPackages);
        this.clock = b.clock == null ? Clock.systemUTC() : b.clock;
        this.durability = b.durability == null ? Durability.BUFFERED : b.durability;
        this.macKey = b.macKey;
        this.macKeyFile = b.macKey != null ? null
                : b.macKeyFile != null ? b.macKeyFile : MacKeys.defaultFile(directory);
        this.previousMacKeys = b.previousMacKeys == null ? List.of()
                : List.copyOf(b.previousMacKeys);
        this.previousMacKeyFiles = b.previousMacKeyFiles == null ? List.of()
                : List.copyOf(b.previousMacKeyFiles);
        this.sweepExecutor = b.sweepExecutor;
        this.sweepPeriod = b.sweepPeriod == null ? DEFAULT_SWEEP_PERIOD : b.sweepPeriod;
    }

    /**
     * Starts a configuration for a store in the given directory.
     *
     * @param directory where the sessions live; created (mode 0700 where POSIX) if missing; every
     *     process that shares sessions must use the same directory
     * @return a builder
     * @throws NullPointerException if directory is null
     */
    public static Builder builder(Path directory) {
        return new Builder(Objects.requireNonNull(directory, "directory"));
    }

    /**
     * Returns the session directory, as given (absolute).
     *
     * @return the directory
     */
    public Path directory() {
        return directory;
    }

    /**
     * Returns how long a writer waits for a session's lock before it throws
     * {@link LockTimeoutException}.
     *
     * @return the lock timeout
     */
    public Duration lockTimeout() {
        return lockTimeout;
    }

    /**
     * Returns the max-inactive interval of sessions created without one.
     *
     * @return the default interval; zero or negative means never expire
     */
    public Duration defaultMaxInactiveInterval() {
        return defaultMaxInactiveInterval;
    }

    /**
     * Returns the classes whose instances may be stored besides JSON-native values.
     *
     * @return an immutable set
     */
    public Set<Class<?>> allowedTypes() {
        return allowedTypes;
    }

    /**
     * Returns the packages whose classes (not subpackages) may be stored besides JSON-native values.
     *
     * @return an immutable list of package names
     */
    public List<String> allowedPackages() {
        return allowedPackages;
    }

    /**
     * Returns the clock that decides creation, access and expiry times.
     *
     * @return the clock
     */
    public Clock clock() {
        return clock;
    }

    /**
     * Returns what a commit makes sure of before it returns.
     *
     * @return the durability, {@link Durability#BUFFERED} unless set
     */
    public Durability durability() {
        return durability;
    }

    /**
     * Returns the file the signing MAC key is read from: the one given to
     * {@link Builder#macKeyFile}, else the default {@code <directory>.key} beside the session
     * directory (created on first use if missing, also when given explicitly).
     *
     * @return the key file; empty if the key was given as bytes ({@link Builder#macKey}), or if
     *     the directory is a file-system root and so has no default key file
     */
    public Optional<Path> macKeyFile() {
        return Optional.ofNullable(macKeyFile);
    }

    /**
     * Returns the files of keys that verify session files but never sign them.
     *
     * @return an immutable list, empty unless set
     */
    public List<Path> previousMacKeyFiles() {
        return previousMacKeyFiles;
    }

    /** The signing key given as bytes (a copy), or null; for {@link SessionStore#open} only. */
    byte[] macKey() {
        return macKey == null ? null : macKey.clone();
    }

    /** Copies of the verification-only keys given as bytes; for {@link SessionStore#open} only. */
    List<byte[]> previousMacKeys() {
        List<byte[]> copies = new ArrayList<>();
        for (byte[] key : previousMacKeys) {
            copies.add(key.clone());
        }
        return copies;
    }

    /**
     * Returns the executor that runs the background sweep, if one was configured.
     *
     * @return the executor, or empty if expired sessions are swept only by explicit
     *     {@link SessionStore#sweep(int)} calls
     */
    public Optional<ScheduledExecutorService> sweepExecutor() {
        return Optional.ofNullable(sweepExecutor);
    }

    /**
     * Returns the delay between two runs of the background sweep.
     *
     * @return the period, {@link #DEFAULT_SWEEP_PERIOD} unless set; unused without an executor
     */
    public Duration sweepPeriod() {
        return sweepPeriod;
    }

    /**
     * Describes the configuration. Key bytes are never shown; a key given as bytes shows as
     * {@code macKey=<given>}.
     *
     * @return a description without secrets
     */
    @Override
    public String toString() {
        return "StoreConfig[directory=" + directory + ", durability=" + durability
                + ", lockTimeout=" + lockTimeout
                + ", defaultMaxInactiveInterval=" + defaultMaxInactiveInterval
                + ", allowedTypes=" + allowedTypes + ", allowedPackages=" + allowedPackages
                + ", clock=" + clock
                + (macKey != null ? ", macKey=<given>" : ", macKeyFile=" + macKeyFile)
                + (previousMacKeys.isEmpty() ? ""
                        : ", previousMacKeys=<" + previousMacKeys.size() + " given>")
                + (previousMacKeyFiles.isEmpty() ? ""
                        : ", previousMacKeyFiles=" + previousMacKeyFiles)
                + (sweepExecutor == null ? "" : ", sweepPeriod=" + sweepPeriod) + "]";
    }

    /**
     * Builds a {@link StoreConfig}. Each setting may be given at most once.
     *
     * <p>Not thread-safe.
     */
    public static final class Builder {
        private final Path directory;
        private Duration lockTimeout;
        private Duration defaultMaxInactiveInterval;
        private Set<Class<?>> allowedTypes;
        private List<String> allowedPackages;
        private Clock clock;
        private Durability durability;
        private byte[] macKey;
        private Path macKeyFile;
        private List<byte[]> previousMacKeys;
        private List<Path> previousMacKeyFiles;
        private ScheduledExecutorService sweepExecutor;
        private Duration sweepPeriod;

        private Builder(Path directory) {
            this.directory = directory.toAbsolutePath().normalize();
        }

        /**
         * Sets how long a writer waits for a session's lock. Default
         * {@link StoreConfig#DEFAULT_LOCK_TIMEOUT}.
         *
         * @param timeout a positive duration, at most {@link StoreConfig#MAX_LOCK_TIMEOUT}
         * @return this builder
         * @throws IllegalArgumentException if the timeout is zero, negative or over a day
         * @throws IllegalStateException if the lock timeout was set already
         * @throws NullPointerException if timeout is null
         */
        public Builder lockTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            requireUnset(lockTimeout, "lockTimeout");
            if (timeout.isZero() || timeout.isNegative()
                    || timeout.compareTo(MAX_LOCK_TIMEOUT) > 0) {
                throw new IllegalArgumentException("lockTimeout must be positive and at most "
                        + MAX_LOCK_TIMEOUT + ", was " + timeout);
            }
            this.lockTimeout = timeout;
            return this;
        }

        /**
         * Sets the max-inactive interval of sessions created without one. Default
         * {@link StoreConfig#DEFAULT_MAX_INACTIVE_INTERVAL}.
         *
         * @param interval the interval, at most {@link StoreConfig#MAX_INACTIVE_INTERVAL_LIMIT}
         *     (10,000 years); zero or negative means new sessions never expire
         * @return this builder
         * @throws IllegalArgumentException if the interval is longer than 10,000 years
         * @throws IllegalStateException if the interval was set already
         * @throws NullPointerException if interval is null
         */
        public Builder defaultMaxInactiveInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            requireUnset(defaultMaxInactiveInterval, "defaultMaxInactiveInterval");
            if (interval.compareTo(MAX_INACTIVE_INTERVAL_LIMIT) > 0) {
                throw new IllegalArgumentException("defaultMaxInactiveInterval must be at most "
                        + MAX_INACTIVE_INTERVAL_LIMIT.toSeconds() + " s (10,000 years; zero or"
                        + " negative: never expire), was " + interval.getSeconds() + " s");
            }
            this.defaultMaxInactiveInterval = interval;
            return this;
        }

        /**
         * Allows instances of exactly these classes (not their subclasses) as attribute values,
         * stored as JSON by Jackson with the class name beside them. Only allowed classes are ever
         * loaded when a session is read, so a planted file cannot make the store instantiate
         * anything else. Java serialization is never used.
         *
         * @param types concrete classes with a Jackson-compatible shape (records, beans, enums)
         * @return this builder
         * @throws IllegalArgumentException if a class is an interface, abstract, primitive, array,
         *     anonymous or local class, or a class of the JDK (JSON-native values need no allowing;
         *     other JDK classes are not safe to build from a file)
         * @throws IllegalStateException if allowed types were set already
         * @throws NullPointerException if types or an element is null
         */
        public Builder allowTypes(Class<?>... types) {
            Objects.requireNonNull(types, "types");
            requireUnset(allowedTypes, "allowTypes");
            Set<Class<?>> set = new LinkedHashSet<>();
            for (Class<?> type : types) {
                Objects.requireNonNull(type, "types contains null");
                if (type.isInterface() || type.isPrimitive() || type.isArray()
                        || type.isAnonymousClass() || type.isLocalClass()
                        || (java.lang.reflect.Modifier.isAbstract(type.getModifiers())
                                && !type.isEnum())) {
                    throw new IllegalArgumentException("allowTypes takes concrete named classes;"
                            + " " + type.getName() + " is not one");
                }
                if (isJdkPackage(type.getPackageName())) {
                    throw new IllegalArgumentException("allowTypes refuses JDK class "
                            + type.getName() + "; strings, numbers, booleans, lists and maps are"
                            + " stored without allowing them, other JDK types are not storable");
                }
                set.add(type);
            }
            this.allowedTypes = set;
            return this;
        }

        /**
         * Allows instances of every class directly in these packages (not subpackages) as
         * attribute values. Prefer {@link #allowTypes}: a package may hold classes that should not
         * be built from untrusted input.
         *
         * @param packageNames package names such as {@code "com.example.cart"}
         * @return this builder
         * @throws IllegalArgumentException if a name is not a package name, or names a package of
         *     the JDK ({@code java.}, {@code javax.}, {@code jdk.}, {@code sun.}, {@code com.sun.})
         * @throws IllegalStateException if allowed packages were set already
         * @throws NullPointerException if packageNames or an element is null
         */
        public Builder allowPackages(String... packageNames) {
            Objects.requireNonNull(packageNames, "packageNames");
            requireUnset(allowedPackages, "allowPackages");
            List<String> list = new ArrayList<>();
            for (String name : packageNames) {
                Objects.requireNonNull(name, "packageNames contains null");
                if (!JAVA_NAME.matcher(name).matches()) {
                    throw new IllegalArgumentException("not a package name: '" + name + "'");
                }
                if (isJdkPackage(name)) {
                    throw new IllegalArgumentException("allowPackages refuses JDK package '"
                            + name + "'; allow your own classes with allowTypes instead");
                }
                list.add(name);
            }
            this.allowedPackages = list;
            return this;
        }

        /**
         * Sets the clock for creation, access and expiry times. Default: the UTC system clock.
         * Tests pass a clock they can move.
         *
         * @param clock the clock
         * @return this builder
         * @throws IllegalStateException if the clock was set already
         * @throws NullPointerException if clock is null
         */
        public Builder clock(Clock clock) {
            Objects.requireNonNull(clock, "clock");
            requireUnset(this.clock, "clock");
            this.clock = clock;
            return this;
        }

        /**
         * Sets what a commit makes sure of before it returns. Default {@link Durability#BUFFERED}.
         * Processes that share a directory may differ here: each commit follows its own store.
         *
         * @param durability the durability
         * @return this builder
         * @throws IllegalStateException if the durability was set already
         * @throws NullPointerException if durability is null
         */
        public Builder durability(Durability durability) {
            Objects.requireNonNull(durability, "durability");
            requireUnset(this.durability, "durability");
            this.durability = durability;
            return this;
        }

        /**
         * Sets the secret key that signs and verifies session files (HMAC-SHA256), instead of a
         * key file. Use it when the key comes from a secret store; every process that shares the
         * directory must use the same key. The array is copied.
         *
         * @param key 32 to 1,024 bytes from a secure random source
         * @return this builder
         * @throws IllegalArgumentException if the key is shorter or longer, or all one byte value
         * @throws IllegalStateException if the key or a key file was set already
         * @throws NullPointerException if key is null
         */
        public Builder macKey(byte[] key) {
            Objects.requireNonNull(key, "key");
            requireUnset(macKey, "macKey");
            requireUnset(macKeyFile, "macKeyFile (macKey and macKeyFile exclude each other)");
            byte[] copy = key.clone();
            checkKey(copy, "macKey");
            this.macKey = copy;
            return this;
        }

        /**
         * Sets the file whose bytes are the secret key that signs and verifies session files
         * (HMAC-SHA256). Default: {@code <directory>.key} beside the session directory, created
         * on first use. A file given here must exist when the store opens (a typo must not
         * silently make a new key); create one with {@code head -c 32 /dev/urandom > FILE &&
         * chmod 600 FILE}. When the store opens, it refuses the file (with a
         * {@link StoreException} that says what to do) if it is missing, unreadable, shorter than
         * 32 or longer than 1,024 bytes, a
         * symbolic link (the last name; links in the directories above it are followed), not a
         * regular file, open to the group or others where the file system is POSIX (mode 0600 or
         * 0400), or inside the session directory after resolving links. Its owner is not checked.
         *
         * @param file the key file, outside the session directory
         * @return this builder
         * @throws IllegalArgumentException if the file lies inside the session directory, where
         *     whoever can plant session files could read or replace it
         * @throws IllegalStateException if the key file or a key was set already
         * @throws NullPointerException if file is null
         */
        public Builder macKeyFile(Path file) {
            Objects.requireNonNull(file, "file");
            requireUnset(macKeyFile, "macKeyFile");
            requireUnset(macKey, "macKey (macKey and macKeyFile exclude each other)");
            this.macKeyFile = outsideDirectory(file, "macKeyFile");
            return this;
        }

        /**
         * Sets keys that verify session files but never sign them: during a rotation, the key
         * being retired, or (in its first step) the key about to be used. A file signed by one of
         * them is read as usual and signed with the current key at its next commit that writes.
         * Keep a retired key until every session it signed has been written again or has expired.
         * The arrays are copied.
         *
         * @param keys keys as for {@link #macKey}
         * @return this builder
         * @throws IllegalArgumentException if a key is shorter or longer, or all one byte value
         * @throws IllegalStateException if previous keys were set already
         * @throws NullPointerException if keys or an element is null
         */
        public Builder previousMacKeys(byte[]... keys) {
            Objects.requireNonNull(keys, "keys");
            requireUnset(previousMacKeys, "previousMacKeys");
            List<byte[]> copies = new ArrayList<>();
            for (byte[] key : keys) {
                byte[] copy = Objects.requireNonNull(key, "keys contains null").clone();
                checkKey(copy, "previousMacKeys[" + copies.size() + "]");
                copies.add(copy);
            }
            this.previousMacKeys = copies;
            return this;
        }

        /**
         * Sets files of keys that verify session files but never sign them; see
         * {@link #previousMacKeys} for their use and {@link #macKeyFile} for what a key file must
         * be. Each must exist when the store opens.
         *
         * @param files key files, outside the session directory
         * @return this builder
         * @throws IllegalArgumentException if a file lies inside the session directory
         * @throws IllegalStateException if previous key files were set already
         * @throws NullPointerException if files or an element is null
         */
        public Builder previousMacKeyFiles(Path... files) {
            Objects.requireNonNull(files, "files");
            requireUnset(previousMacKeyFiles, "previousMacKeyFiles");
            List<Path> list = new ArrayList<>();
            for (Path file : files) {
                list.add(outsideDirectory(Objects.requireNonNull(file, "files contains null"),
                        "previousMacKeyFiles"));
            }
            this.previousMacKeyFiles = list;
            return this;
        }

        private static void checkKey(byte[] key, String setting) {
            String problem = MacKeys.problem(key);
            if (problem != null) {
                throw new IllegalArgumentException(setting + ": " + problem);
            }
        }

        private Path outsideDirectory(Path file, String setting) {
            Path absolute = file.toAbsolutePath().normalize();
            if (absolute.startsWith(directory)) {
                throw new IllegalArgumentException(setting + " " + absolute + " lies inside the"
                        + " session directory " + directory + ", where whoever can plant session"
                        + " files could read or replace it; keep the key outside (the default is "
                        + MacKeys.defaultFile(directory) + ")");
            }
            return absolute;
        }

        /**
         * Sweeps expired sessions in the background every {@link StoreConfig#DEFAULT_SWEEP_PERIOD}.
         * Same as {@link #backgroundSweep(ScheduledExecutorService, Duration)} with that period.
         *
         * @param executor runs the sweeps; it stays the caller's
         * @return this builder
         * @throws IllegalStateException if the background sweep was set already
         * @throws NullPointerException if executor is null
         */
        public Builder backgroundSweep(ScheduledExecutorService executor) {
            return backgroundSweep(executor, DEFAULT_SWEEP_PERIOD);
        }

        /**
         * Sweeps expired sessions in the background (see {@link SessionStore#sweep(int)}). An
         * open store schedules one task on the executor with this fixed delay between runs (the
         * first run one period after the store opens); each run sweeps until nothing more is due.
         * A run that fails is logged at WARN and the next run happens as planned. Closing the
         * store cancels the task; the executor is the caller's and is never shut down by the
         * store. One executor may serve many stores. Any number of processes may sweep one
         * directory; one is enough.
         *
         * @param executor runs the sweeps; it stays the caller's
         * @param period the delay between the end of one run and the start of the next
         * @return this builder
         * @throws IllegalArgumentException if the period is zero or negative
         * @throws IllegalStateException if the background sweep was set already
         * @throws NullPointerException if executor or period is null
         */
        public Builder backgroundSweep(ScheduledExecutorService executor, Duration period) {
            Objects.requireNonNull(executor, "executor");
            Objects.requireNonNull(period, "period");
            requireUnset(sweepExecutor, "backgroundSweep");
            if (period.isZero() || period.isNegative()) {
                throw new IllegalArgumentException("the sweep period must be positive, was "
                        + period);
            }
            this.sweepExecutor = executor;
            this.sweepPeriod = period;
            return this;
        }

        /**
         * Builds the configuration. The directory is not touched until a store is opened.
         *
         * @return the configuration
         */
        public StoreConfig build() {
            return new StoreConfig(this);
        }

        private static boolean isJdkPackage(String packageName) {
            for (String jdk : List.of("java.", "javax.", "jdk.", "sun.", "com.sun.")) {
                if ((packageName + ".").startsWith(jdk)) {
                    return true;
                }
            }
            return false;
        }

        private static void requireUnset(Object current, String setting) {
            if (current != null) {
                throw new IllegalStateException(setting + " was already set");
            }
        }
    }
}
