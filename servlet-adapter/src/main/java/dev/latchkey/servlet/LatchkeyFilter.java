package dev.latchkey.servlet;

import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.servlet.internal.InitParams;
import dev.latchkey.servlet.internal.SessionRuntime;
import dev.latchkey.servlet.internal.Settings;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpSessionAttributeListener;
import jakarta.servlet.http.HttpSessionIdListener;
import jakarta.servlet.http.HttpSessionListener;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EventListener;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.regex.Pattern;

/**
 * A servlet filter that replaces the container's sessions with Latchkey sessions: behind it,
 * {@code request.getSession()}, {@code getSession(false)}, {@code changeSessionId()},
 * {@code getRequestedSessionId()} and {@code isRequestedSessionId*()} use a session directory that
 * any number of processes may share.
 *
 * <p><b>Ordering: this filter must be the first in the chain</b> (first {@code <filter-mapping>} in
 * {@code web.xml}, lowest order in Spring Boot), mapped to {@code /*} with dispatcher types
 * {@code REQUEST}, {@code ASYNC} and {@code ERROR}, and with async support enabled. A filter that
 * runs before it and touches the session gets the container's session instead.
 *
 * <p>Two ways to configure it:
 * <ul>
 *   <li>In {@code web.xml}, declare this class with init-params; {@link #init(FilterConfig)}
 *       reads and validates them ({@code latchkey.directory} is required; the others are listed
 *       in {@code docs/servlet.md}). A bad, missing or unknown {@code latchkey.*} parameter fails
 *       {@code init()} with a {@link ServletException} naming the parameter and what is
 *       allowed.</li>
 *   <li>In code, {@link #builder(Path)} returns a builder whose {@link Builder#build()} yields a
 *       ready filter instance for {@code ServletContext.addFilter}, Jetty, Tomcat, Undertow or
 *       Spring Boot's {@code FilterRegistrationBean}. Init-params are then ignored.</li>
 * </ul>
 *
 * <p>The filter opens its {@link SessionStore} in {@code init()} and closes it in
 * {@code destroy()}. Unless configured otherwise ({@code latchkey.sweepInterval},
 * {@link Builder#sweepInterval(Duration)}) it also removes the files of expired sessions once a
 * minute on a daemon thread named {@code latchkey-sweep}, started in {@code init()} and ended by
 * {@code destroy()}. Sessions are never put in URLs: the id travels only in the cookie.
 *
 * <p>Thread-safety: after {@code init()}, the filter is safe for concurrent requests, as the
 * Servlet specification requires. Each request gets its own session object; see
 * {@link jakarta.servlet.http.HttpSession} notes in {@code docs/servlet.md}.
 */
public final class LatchkeyFilter implements Filter {
    /** How often a filter sweeps expired sessions unless configured: one minute. */
    public static final Duration DEFAULT_SWEEP_INTERVAL = Duration.ofMinutes(1);
    /** The longest sweep interval accepted: one day. */
    public static final Duration MAX_SWEEP_INTERVAL = Duration.ofDays(1);

    private final Settings preset;
    private volatile SessionRuntime runtime;

    /**
     * Creates a filter that is configured by its init-params in {@link #init(FilterConfig)}; for
     * {@code web.xml} and other declarative registration.
     */
    public LatchkeyFilter() {
        this.preset = null;
    }

    private LatchkeyFilter(Settings settings) {
        this.preset = settings;
    }

    /**
     * Starts a programmatic configuration.
     *
     * @param directory the session directory, an absolute path; every process that shares
     *     sessions must use the same
     * @return a builder
     * @throws IllegalArgumentException if the path is relative: resolved against each process's
     *     working directory, it would silently stop being shared by processes started elsewhere
     * @throws NullPointerException if directory is null
     */
    public static Builder builder(Path directory) {
        Objects.requireNonNull(directory, "directory");
        requireAbsolute(directory, "the session directory", "share sessions");
        return new Builder(directory);
    }

    /** Every process must name the same file: a relative path depends on its working directory. */
    private static void requireAbsolute(Path path, String what, String purpose) {
        if (!path.isAbsolute()) {
            throw new IllegalArgumentException(what + " must be an absolute path, was '" + path
                    + "' (it would be resolved against this process's working directory, "
                    + Path.of("").toAbsolutePath() + ", so processes started elsewhere would not "
                    + purpose + "); give the absolute path");
        }
    }

    /**
     * Reads the configuration (init-params, unless this filter was built by a {@link Builder}) and
     * opens the session store.
     *
     * @param filterConfig the container's filter configuration
     * @throws ServletException if a parameter is missing, malformed or unknown, or the directory
     *     cannot be used; the message names the parameter
     */
    @Override
    public void init(FilterConfig filterConfig) throws ServletException {
        Settings settings = preset;
        if (settings == null) {
            Builder b = InitParams.parse(filterConfig);
            try {
                settings = b.settings();
            } catch (IllegalArgumentException e) { // the only check across settings: the cookie
                throw InitParams.fail(filterConfig, "latchkey.cookieName",
                        filterConfig.getInitParameter("latchkey.cookieName"), e.getMessage(), e);
            }
        }
        this.runtime = SessionRuntime.start(settings, filterConfig);
    }

    /**
     * Wraps the request and response so that the application sees Latchkey sessions, runs the
     * rest of the chain, and commits the session's changes.
     *
     * @throws IllegalStateException if the filter was not initialized
     */
    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        SessionRuntime rt = runtime;
        if (rt == null) {
            throw new IllegalStateException("LatchkeyFilter.init() has not been called");
        }
        rt.doFilter(request, response, chain);
    }

    /**
     * Closes the session store and stops the filter's sweep: its own thread has ended when this
     * returns (a sweep under way stops at its next session; this waits up to 10 seconds for it).
     * Sessions stay in the directory.
     */
    @Override
    public void destroy() {
        SessionRuntime rt = runtime;
        runtime = null;
        if (rt != null) {
            rt.close();
        }
    }

    @Override
    public String toString() {
        SessionRuntime rt = runtime;
        return "LatchkeyFilter[" + (rt != null ? rt.settings() : preset != null ? preset
                : "not initialized") + "]";
    }

    /**
     * Configures a {@link LatchkeyFilter} in code. Each setting may be given at most once; every
     * setter validates its value at once.
     *
     * <p>Not thread-safe.
     */
    public static final class Builder {
        private static final Pattern TOKEN = Pattern.compile("[!#$%&'*+\\-.^_`|~0-9A-Za-z]+");
        private static final Pattern DOMAIN = Pattern.compile("\\.?[A-Za-z0-9]([A-Za-z0-9.-]*)");
        private static final Pattern PATH = Pattern.compile("/[\\x21-\\x3a\\x3c-\\x7e]*");

        private final Path directory;
        private Duration maxInactiveInterval;
        private String cookieName;
        private String cookiePath;
        private String cookieDomain;
        private CookieSecure cookieSecure;
        private String cookieSameSite;
        private Concurrency concurrency;
        private SaveMode saveMode;
        private Duration lockTimeout;
        private Integer lockTimeoutStatus;
        private Set<Class<?>> allowedTypes;
        private Clock clock;
        private final List<EventListener> listeners = new ArrayList<>();
        private Path macKeyFile;
        private List<Path> previousMacKeyFiles;
        private Duration sweepInterval;
        private ScheduledExecutorService sweepExecutor;

        private Builder(Path directory) {
            this.directory = directory.toAbsolutePath().normalize();
        }

        /**
         * Sets how long a session lives without a request. Default 30 minutes.
         *
         * @param interval the interval, at most {@link StoreConfig#MAX_INACTIVE_INTERVAL_LIMIT}
         *     (10,000 years); zero or negative means sessions never expire
         * @return this builder
         * @throws IllegalArgumentException if the interval is longer than 10,000 years (it is
         *     refused, not cut)
         * @throws IllegalStateException if set already
         */
        public Builder maxInactiveInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            requireUnset(maxInactiveInterval, "maxInactiveInterval");
            if (interval.compareTo(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT) > 0) {
                throw new IllegalArgumentException("max inactive interval must be at most "
                        + StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT.toSeconds() + " s (10,000 years;"
                        + " 0 or negative: never expire), was " + interval.getSeconds() + " s");
            }
            this.maxInactiveInterval = interval;
            return this;
        }

        /**
         * Sets the session cookie's name. Default {@code LATCHKEY}.
         *
         * @param name an RFC 6265 token other than {@code JSESSIONID} (the container's own cookie);
         *     a name starting with {@code __Host-} or {@code __Secure-} (any case) obliges the
         *     cookie to the rules browsers apply to these prefixes, checked by {@link #build()}
         * @return this builder
         * @throws IllegalArgumentException if the name is not a token or is {@code JSESSIONID}
         * @throws IllegalStateException if set already
         */
        public Builder cookieName(String name) {
            Objects.requireNonNull(name, "name");
            requireUnset(cookieName, "cookieName");
            if (!TOKEN.matcher(name).matches()) {
                throw new IllegalArgumentException("cookie name must be a non-empty RFC 6265 token"
                        + " (letters, digits and !#$%&'*+-.^_`|~), was '" + name + "'");
            }
            if (name.equalsIgnoreCase("JSESSIONID")) {
                throw new IllegalArgumentException("cookie name must not be JSESSIONID: it would"
                        + " collide with the container's own session cookie");
            }
            this.cookieName = name;
            return this;
        }

        /**
         * Sets the cookie's {@code Path}. Default: the context path, or {@code /} for the root
         * context.
         *
         * @param path a path starting with {@code /}, without {@code ;}, spaces or control
         *     characters
         * @return this builder
         * @throws IllegalArgumentException if the path is malformed
         * @throws IllegalStateException if set already
         */
        public Builder cookiePath(String path) {
            Objects.requireNonNull(path, "path");
            requireUnset(cookiePath, "cookiePath");
            if (!PATH.matcher(path).matches()) {
                throw new IllegalArgumentException("cookie path must start with '/' and contain no"
                        + " ';', spaces or control characters, was '" + path + "'");
            }
            this.cookiePath = path;
            return this;
        }

        /**
         * Sets the cookie's {@code Domain}. Default: none (host-only cookie).
         *
         * @param domain a domain name such as {@code example.com}
         * @return this builder
         * @throws IllegalArgumentException if the domain is malformed
         * @throws IllegalStateException if set already
         */
        public Builder cookieDomain(String domain) {
            Objects.requireNonNull(domain, "domain");
            requireUnset(cookieDomain, "cookieDomain");
            if (!DOMAIN.matcher(domain).matches()) {
                throw new IllegalArgumentException("cookie domain must be a domain name (letters,"
                        + " digits, '.' and '-'), was '" + domain + "'");
            }
            this.cookieDomain = domain;
            return this;
        }

        /**
         * Sets when the cookie carries the {@code Secure} attribute. Default
         * {@link CookieSecure#AUTO}: exactly when {@code request.isSecure()}.
         *
         * @param mode {@link CookieSecure#AUTO}, {@link CookieSecure#ALWAYS} or
         *     {@link CookieSecure#NEVER}
         * @return this builder
         * @throws IllegalStateException if set already (by this method or
         *     {@link #cookieSecure(boolean)})
         * @throws NullPointerException if mode is null
         */
        public Builder cookieSecure(CookieSecure mode) {
            Objects.requireNonNull(mode, "mode");
            requireUnset(cookieSecure, "cookieSecure");
            this.cookieSecure = mode;
            return this;
        }

        /**
         * Forces the cookie's {@code Secure} attribute on or off: the same as
         * {@link #cookieSecure(CookieSecure)} with {@link CookieSecure#ALWAYS} or
         * {@link CookieSecure#NEVER}.
         *
         * @param secure whether to mark the cookie {@code Secure}
         * @return this builder
         * @throws IllegalStateException if set already
         */
        public Builder cookieSecure(boolean secure) {
            return cookieSecure(secure ? CookieSecure.ALWAYS : CookieSecure.NEVER);
        }

        /**
         * Sets the cookie's {@code SameSite} attribute. Default {@code Lax}.
         *
         * @param sameSite {@code Lax}, {@code Strict} or {@code None} (case-insensitive); browsers
         *     reject {@code None} without {@code Secure}
         * @return this builder
         * @throws IllegalArgumentException if the value is none of these
         * @throws IllegalStateException if set already
         */
        public Builder cookieSameSite(String sameSite) {
            Objects.requireNonNull(sameSite, "sameSite");
            requireUnset(cookieSameSite, "cookieSameSite");
            String normalized = switch (sameSite.toLowerCase(Locale.ROOT)) {
                case "lax" -> "Lax";
                case "strict" -> "Strict";
                case "none" -> "None";
                default -> throw new IllegalArgumentException(
                        "SameSite must be Lax, Strict or None, was '" + sameSite + "'");
            };
            this.cookieSameSite = normalized;
            return this;
        }

        /**
         * Sets how requests of one session run relative to each other. Default
         * {@link Concurrency#MERGE}.
         *
         * @param mode the mode
         * @return this builder
         * @throws IllegalStateException if set already
         */
        public Builder concurrency(Concurrency mode) {
            requireUnset(concurrency, "concurrency");
            this.concurrency = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Sets which attributes a request writes back. Default {@link SaveMode#ON_SET_ATTRIBUTE}.
         *
         * @param mode the mode
         * @return this builder
         * @throws IllegalStateException if set already
         */
        public Builder saveMode(SaveMode mode) {
            requireUnset(saveMode, "saveMode");
            this.saveMode = Objects.requireNonNull(mode, "mode");
            return this;
        }

        /**
         * Sets how long a request waits for a session's lock (every commit; in
         * {@link Concurrency#EXCLUSIVE} mode, the first access to the session, after which the
         * lock is held to the end of the request). Default
         * {@link StoreConfig#DEFAULT_LOCK_TIMEOUT}.
         *
         * @param timeout a positive duration, at most {@link StoreConfig#MAX_LOCK_TIMEOUT} (one day)
         * @return this builder
         * @throws IllegalArgumentException if the timeout is not positive or is over one day
         * @throws IllegalStateException if set already
         */
        public Builder lockTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            requireUnset(lockTimeout, "lockTimeout");
            if (timeout.isZero() || timeout.isNegative()
                    || timeout.compareTo(StoreConfig.MAX_LOCK_TIMEOUT) > 0) {
                throw new IllegalArgumentException("lock timeout must be positive and at most "
                        + StoreConfig.MAX_LOCK_TIMEOUT.toMillis() + " ms (one day), was "
                        + timeout.toMillis() + " ms");
            }
            this.lockTimeout = timeout;
            return this;
        }

        /**
         * Sets the HTTP status answered when a session's lock cannot be had in time. Default 503.
         * A wait for a lock that the thread's interrupt ends is always answered 503: nothing was
         * busy.
         *
         * @param status an error status, 400 to 599
         * @return this builder
         * @throws IllegalArgumentException if the status is outside 400..599
         * @throws IllegalStateException if set already
         */
        public Builder lockTimeoutStatus(int status) {
            requireUnset(lockTimeoutStatus, "lockTimeoutStatus");
            if (status < 400 || status > 599) {
                throw new IllegalArgumentException("lock timeout status must be 400 to 599, was "
                        + status);
            }
            this.lockTimeoutStatus = status;
            return this;
        }

        /**
         * Allows instances of these classes as attribute values, besides the JSON-native values the
         * store always accepts (see {@link StoreConfig.Builder#allowTypes}).
         *
         * @param types concrete classes with a Jackson-compatible shape
         * @return this builder
         * @throws IllegalArgumentException if a class is not concrete and named
         * @throws IllegalStateException if set already
         */
        public Builder allowTypes(Class<?>... types) {
            Objects.requireNonNull(types, "types");
            requireUnset(allowedTypes, "allowTypes");
            StoreConfig.builder(directory).allowTypes(types); // validates as the store will
            this.allowedTypes = new LinkedHashSet<>(List.of(types));
            return this;
        }

        /**
         * Sets the clock that decides creation, access and expiry times. Default: the UTC system
         * clock. Tests pass a clock they can move.
         *
         * @param clock the clock
         * @return this builder
         * @throws IllegalStateException if set already
         */
        public Builder clock(Clock clock) {
            requireUnset(this.clock, "clock");
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Sets the file of the secret key that signs session files, outside the session
         * directory; see {@link StoreConfig.Builder#macKeyFile}. Default: {@code <directory>.key}
         * beside the session directory, created on first use. Every process that shares the
         * directory must use the same key.
         *
         * @param file the key file, an absolute path; it must exist when the filter starts
         * @return this builder
         * @throws IllegalArgumentException if the path is relative or the file lies inside the
         *     session directory
         * @throws IllegalStateException if set already
         */
        public Builder macKeyFile(Path file) {
            Objects.requireNonNull(file, "file");
            requireUnset(macKeyFile, "macKeyFile");
            requireAbsolute(file, "the MAC key file", "use the same key");
            StoreConfig.builder(directory).macKeyFile(file); // validates as the store will
            this.macKeyFile = file.toAbsolutePath().normalize();
            return this;
        }

        /**
         * Sets files of keys that verify session files but never sign them, for a key rotation;
         * see {@link StoreConfig.Builder#previousMacKeys} and {@code docs/operations.md}.
         *
         * @param files key files outside the session directory, absolute paths; each must exist
         *     when the filter starts
         * @return this builder
         * @throws IllegalArgumentException if a path is relative or a file lies inside the session
         *     directory
         * @throws IllegalStateException if set already
         */
        public Builder previousMacKeyFiles(Path... files) {
            Objects.requireNonNull(files, "files");
            requireUnset(previousMacKeyFiles, "previousMacKeyFiles");
            for (Path file : files) {
                requireAbsolute(Objects.requireNonNull(file, "files contains null"),
                        "a previous MAC key file", "verify with the same keys");
            }
            StoreConfig.builder(directory).previousMacKeyFiles(files); // validates
            List<Path> list = new ArrayList<>();
            for (Path file : files) {
                list.add(file.toAbsolutePath().normalize());
            }
            this.previousMacKeyFiles = list;
            return this;
        }

        /**
         * Sets how often the filter removes the files of expired sessions (see
         * {@link dev.latchkey.SessionStore#sweep(int)}). Default {@link #DEFAULT_SWEEP_INTERVAL}
         * (one minute). The filter runs the sweep on a daemon thread of its own named
         * {@code latchkey-sweep}, started by {@link LatchkeyFilter#init(FilterConfig)} and
         * stopped by {@link LatchkeyFilter#destroy()}. Any number of processes may sweep one
         * directory (each session is re-checked under its lock, and busy ones are skipped), so
         * every worker may keep the default; zero turns the sweep off in this process, for
         * deployments where one other process sweeps.
         *
         * @param interval the delay between the end of one sweep and the start of the next, at
         *     most {@link #MAX_SWEEP_INTERVAL} (one day); zero: no sweep in this filter
         * @return this builder
         * @throws IllegalArgumentException if the interval is negative or over one day
         * @throws IllegalStateException if set already (by this method or
         *     {@link #sweepInterval(Duration, ScheduledExecutorService)})
         * @throws NullPointerException if interval is null
         */
        public Builder sweepInterval(Duration interval) {
            Objects.requireNonNull(interval, "interval");
            requireUnset(sweepInterval, "sweepInterval");
            if (interval.isNegative() || interval.compareTo(MAX_SWEEP_INTERVAL) > 0) {
                throw new IllegalArgumentException("sweep interval must be 0 (no sweep) to "
                        + MAX_SWEEP_INTERVAL.toSeconds() + " s (one day), was " + interval.getSeconds()
                        + " s");
            }
            this.sweepInterval = interval;
            return this;
        }

        /**
         * Sets how often the filter removes the files of expired sessions, on the caller's
         * executor instead of a thread of the filter's own: as
         * {@link #sweepInterval(Duration)}, except that the executor stays the caller's. The
         * filter schedules one task on it in {@code init()} and cancels that task in
         * {@code destroy()}; it never shuts the executor down.
         *
         * @param interval the delay between sweeps: positive, at most {@link #MAX_SWEEP_INTERVAL}
         * @param executor runs the sweeps
         * @return this builder
         * @throws IllegalArgumentException if the interval is not positive or is over one day
         * @throws IllegalStateException if set already
         * @throws NullPointerException if interval or executor is null
         */
        public Builder sweepInterval(Duration interval, ScheduledExecutorService executor) {
            Objects.requireNonNull(interval, "interval");
            Objects.requireNonNull(executor, "executor");
            if (interval.isZero()) {
                throw new IllegalArgumentException("sweep interval must be positive with an"
                        + " executor; use sweepInterval(Duration.ZERO) for no sweep");
            }
            sweepInterval(interval);
            this.sweepExecutor = executor;
            return this;
        }

        /**
         * Registers a session listener; may be called several times. Listeners get the events of
         * this process only (see {@code docs/servlet.md}).
         *
         * @param listener an {@link HttpSessionListener}, {@link HttpSessionAttributeListener}
         *     and/or {@link HttpSessionIdListener}
         * @return this builder
         * @throws IllegalArgumentException if the listener implements none of these
         */
        public Builder listener(EventListener listener) {
            Objects.requireNonNull(listener, "listener");
            if (!(listener instanceof HttpSessionListener
                    || listener instanceof HttpSessionAttributeListener
                    || listener instanceof HttpSessionIdListener)) {
                throw new IllegalArgumentException(listener.getClass().getName() + " implements"
                        + " none of HttpSessionListener, HttpSessionAttributeListener,"
                        + " HttpSessionIdListener");
            }
            listeners.add(listener);
            return this;
        }

        /**
         * Builds the filter. The directory is opened when the container calls
         * {@link LatchkeyFilter#init(FilterConfig)}.
         *
         * <p>A cookie name with a prefix browsers enforce must meet its rules: {@code __Secure-}
         * needs {@code cookieSecure(true)}; {@code __Host-} needs {@code cookieSecure(true)}, no
         * {@code cookieDomain}, and a {@code cookiePath} of {@code /} (the default for such a name,
         * whatever the context path). {@code auto} Secure is refused for them: a cookie sent
         * without {@code Secure} on a plain-HTTP request would be dropped by the browser.
         *
         * @return a new filter
         * @throws IllegalArgumentException if the cookie name's prefix rules are not met; the
         *     message says which setting to change
         */
        public LatchkeyFilter build() {
            return new LatchkeyFilter(settings());
        }

        private Settings settings() {
            String name = cookieName != null ? cookieName : "LATCHKEY";
            String lower = name.toLowerCase(Locale.ROOT);
            boolean host = lower.startsWith("__host-");
            if (host || lower.startsWith("__secure-")) {
                String prefix = name.substring(0, host ? 7 : 9);
                List<String> fix = new ArrayList<>();
                if (cookieSecure != CookieSecure.ALWAYS) {
                    fix.add("set latchkey.cookieSecure to true (Builder.cookieSecure(true))");
                }
                if (host && cookiePath != null && !cookiePath.equals("/")) {
                    fix.add("set latchkey.cookiePath to / or leave it out (Builder.cookiePath)");
                }
                if (host && cookieDomain != null) {
                    fix.add("remove latchkey.cookieDomain (Builder.cookieDomain)");
                }
                if (!fix.isEmpty()) {
                    throw new IllegalArgumentException("browsers reject a cookie named '" + name
                            + "' unless it is Secure" + (host ? ", has Path=/ and no Domain" : "")
                            + " (the " + prefix + " prefix): " + String.join("; ", fix)
                            + ", or choose a name without the prefix");
                }
            }
            return new Settings(directory,
                    maxInactiveInterval != null ? maxInactiveInterval
                            : StoreConfig.DEFAULT_MAX_INACTIVE_INTERVAL,
                    name,
                    host ? "/" : cookiePath, cookieDomain,
                    cookieSecure != null ? cookieSecure : CookieSecure.AUTO,
                    cookieSameSite != null ? cookieSameSite : "Lax",
                    concurrency != null ? concurrency : Concurrency.MERGE,
                    saveMode != null ? saveMode : SaveMode.ON_SET_ATTRIBUTE,
                    lockTimeout != null ? lockTimeout : StoreConfig.DEFAULT_LOCK_TIMEOUT,
                    lockTimeoutStatus != null ? lockTimeoutStatus : 503,
                    allowedTypes != null ? List.copyOf(allowedTypes) : List.of(),
                    clock != null ? clock : Clock.systemUTC(),
                    List.copyOf(listeners), macKeyFile,
                    previousMacKeyFiles != null ? previousMacKeyFiles : List.of(),
                    sweepInterval != null ? sweepInterval : DEFAULT_SWEEP_INTERVAL,
                    sweepExecutor);
        }

        private static void requireUnset(Object current, String setting) {
            if (current != null) {
                throw new IllegalStateException(setting + " was already set");
            }
        }
    }
}
