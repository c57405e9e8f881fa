package dev.latchkey.servlet.internal;

import dev.latchkey.servlet.Concurrency;
import dev.latchkey.servlet.CookieSecure;
import dev.latchkey.servlet.SaveMode;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.EventListener;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The validated, immutable configuration of one filter (built by
 * {@link dev.latchkey.servlet.LatchkeyFilter.Builder}).
 *
 * @param directory the session directory
 * @param maxInactiveInterval interval of new sessions; zero or negative: never expire
 * @param cookieName the cookie name
 * @param cookiePath the cookie path, or null for the context path
 * @param cookieDomain the cookie domain, or null for a host-only cookie
 * @param cookieSecure when the cookie is Secure
 * @param cookieSameSite Lax, Strict or None
 * @param concurrency the concurrency mode
 * @param saveMode the save mode
 * @param lockTimeout how long to wait for a session lock
 * @param lockTimeoutStatus the status answered on a lock timeout
 * @param allowedTypes extra attribute value classes
 * @param clock the store's clock
 * @param listeners session listeners
 * @param macKeyFile the MAC key file, or null for the store's default
 * @param previousMacKeyFiles files of keys that only verify
 * @param sweepInterval the delay between background sweeps; zero: this filter does not sweep
 * @param sweepExecutor the caller's executor for the sweep, or null for the filter's own thread
 */
public record Settings(Path directory, Duration maxInactiveInterval, String cookieName,
        String cookiePath, String cookieDomain, CookieSecure cookieSecure, String cookieSameSite,
        Concurrency concurrency, SaveMode saveMode, Duration lockTimeout, int lockTimeoutStatus,
        List<Class<?>> allowedTypes, Clock clock, List<EventListener> listeners,
        Path macKeyFile, List<Path> previousMacKeyFiles, Duration sweepInterval,
        ScheduledExecutorService sweepExecutor) {

    /** Copies the lists. */
    public Settings {
        allowedTypes = List.copyOf(allowedTypes);
        listeners = List.copyOf(listeners);
        previousMacKeyFiles = List.copyOf(previousMacKeyFiles);
    }
}
