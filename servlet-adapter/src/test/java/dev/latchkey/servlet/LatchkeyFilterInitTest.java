package dev.latchkey.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.internal.LogCapture;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletContext;
import jakarta.servlet.ServletException;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Collections;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/** init() with bad configurations: each fails naming the parameter and what it allows. */
final class LatchkeyFilterInitTest {

    @TempDir
    Path tmp;

    /** A FilterConfig over a map; its ServletContext answers null to everything. */
    private static FilterConfig config(Map<String, String> params) {
        ServletContext context = (ServletContext) Proxy.newProxyInstance(
                LatchkeyFilterInitTest.class.getClassLoader(), new Class<?>[] {ServletContext.class},
                (proxy, method, args) -> method.getReturnType() == boolean.class ? false : null);
        return new FilterConfig() {
            @Override
            public String getFilterName() {
                return "latchkey";
            }

            @Override
            public ServletContext getServletContext() {
                return context;
            }

            @Override
            public String getInitParameter(String name) {
                return params.get(name);
            }

            @Override
            public Enumeration<String> getInitParameterNames() {
                return Collections.enumeration(params.keySet());
            }
        };
    }

    static Stream<Arguments> badParams() {
        return Stream.of(
                Arguments.of("latchkey.maxInactiveInterval", "thirty", "whole number of seconds"),
                Arguments.of("latchkey.maxInactiveInterval", "1.5", "whole number of seconds"),
                Arguments.of("latchkey.maxInactiveInterval", "99999999999999999999",
                        "whole number of seconds"),
                Arguments.of("latchkey.maxInactiveInterval", "99999999999999",
                        "at most 315360000000 (10,000 years)"),
                Arguments.of("latchkey.maxInactiveInterval", "315360000001",
                        "at most 315360000000 (10,000 years)"),
                Arguments.of("latchkey.lockTimeout", "0", "positive whole number of milliseconds"),
                Arguments.of("latchkey.lockTimeout", "-5", "positive whole number of milliseconds"),
                Arguments.of("latchkey.lockTimeout", "10s", "positive whole number of milliseconds"),
                Arguments.of("latchkey.lockTimeout", "172800000", "at most 86400000"),
                Arguments.of("latchkey.lockTimeout", "86400001", "at most 86400000"),
                Arguments.of("latchkey.sweepInterval", "-1", "0 to 86400"),
                Arguments.of("latchkey.sweepInterval", "86401", "0 to 86400"),
                Arguments.of("latchkey.sweepInterval", "1m", "whole number of seconds"),
                Arguments.of("latchkey.sweepInterval", "99999999999999999999",
                        "whole number of seconds"),
                Arguments.of("latchkey.sweepInterval", " ", "blank"),
                // Long.parseLong takes any Unicode digit: Arabic-Indic 1000, full-width 60, 503
                Arguments.of("latchkey.lockTimeout", "\u0661\u0660\u0660\u0660",
                        "positive whole number of milliseconds"),
                Arguments.of("latchkey.maxInactiveInterval", "\uff16\uff10",
                        "whole number of seconds"),
                Arguments.of("latchkey.lockTimeoutStatus", "\uff15\uff10\uff13", "400 to 599"),
                Arguments.of("latchkey.lockTimeout", "1_000", "positive whole number"),
                Arguments.of("latchkey.sweepInterval", "\uff16\uff10", "whole number of seconds"),
                Arguments.of("latchkey.directory", "relative/sessions", "absolute path"),
                Arguments.of("latchkey.macKeyFile", "keys/session.key", "absolute path"),
                Arguments.of("latchkey.previousMacKeyFiles", "old.key", "absolute path"),
                Arguments.of("latchkey.concurrency", "  ", "blank"),
                Arguments.of("latchkey.cookieName", "", "blank"),
                Arguments.of("latchkey.cookiePath", " ", "blank"),
                Arguments.of("latchkey.allowedTypes", "\t", "blank"),
                Arguments.of("latchkey.allowedTypes", Tracked.class.getName() + ",",
                        "empty name"),
                Arguments.of("latchkey.listeners", ",", "empty name"),
                Arguments.of("latchkey.cookieName", "__Host-SID", "latchkey.cookieSecure to true"),
                Arguments.of("latchkey.cookieName", "__secure-SID",
                        "latchkey.cookieSecure to true"),
                Arguments.of("latchkey.lockTimeoutStatus", "200", "400 to 599"),
                Arguments.of("latchkey.lockTimeoutStatus", "busy", "400 to 599"),
                Arguments.of("latchkey.concurrency", "serial", "not one of merge, exclusive"),
                Arguments.of("latchkey.concurrency", "serial", "merge or exclusive"),
                Arguments.of("latchkey.saveMode", "sometimes",
                        "not one of on_set_attribute, on_get_attribute, always"),
                Arguments.of("latchkey.saveMode", "sometimes",
                        "on_set_attribute, on_get_attribute or always"),
                Arguments.of("latchkey.cookieSecure", "maybe", "auto, true or false"),
                Arguments.of("latchkey.cookieSameSite", "lenient", "Lax, Strict or None"),
                Arguments.of("latchkey.cookieName", "JSESSIONID", "other than JSESSIONID"),
                Arguments.of("latchkey.cookieName", "two words", "RFC 6265 token"),
                Arguments.of("latchkey.cookiePath", "app", "starting with '/'"),
                Arguments.of("latchkey.cookieDomain", "bad domain!", "a domain name"),
                Arguments.of("latchkey.allowedTypes", "com.example.Missing",
                        "fully qualified names of concrete classes"),
                Arguments.of("latchkey.allowedTypes", "java.lang.Runnable",
                        "fully qualified names of concrete classes"),
                Arguments.of("latchkey.listeners", "java.lang.String", "HttpSessionListener"),
                Arguments.of("latchkey.listeners", "java.lang.Integer", "no-argument constructor"));
    }

    @ParameterizedTest(name = "{0}={1}")
    @MethodSource("badParams")
    void init_badValue_failsNamingParameterAndAllowedValues(String param, String value,
            String allowed) {
        Map<String, String> params = new HashMap<>();
        params.put("latchkey.directory", tmp.resolve("sessions").toString());
        params.put(param, value);
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(params)));
        assertTrue(e.getMessage().contains("'" + param + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("'" + value + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(allowed), e.getMessage());
        assertFalse(e.getMessage().contains("No enum constant")
                || e.getMessage().contains("For input string"),
                "no Java exception text: " + e.getMessage());
    }

    static Stream<Arguments> misspelledNames() {
        return Stream.of(
                Arguments.of("Latchkey.concurrency", "latchkey.concurrency"),
                Arguments.of("LATCHKEY.lockTimeout", "latchkey.lockTimeout"),
                Arguments.of("latchkey.Concurrency", "latchkey.concurrency"),
                Arguments.of("latchKey.cookiename", "latchkey.cookieName"),
                Arguments.of("Latchkey.concurency", "latchkey."));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("misspelledNames")
    void init_nameMatchingOnlyCaseInsensitively_failsNamingTheRightSpelling(String name,
            String right) {
        Map<String, String> params = new HashMap<>();
        params.put("latchkey.directory", tmp.resolve("sessions").toString());
        params.put(name, "exclusive");
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(params)));
        assertTrue(e.getMessage().contains("'" + name + "'"), e.getMessage());
        assertTrue(e.getMessage().contains("'" + right), e.getMessage());
    }

    @Test
    void init_signedAsciiNumbers_areAccepted() throws Exception {
        LatchkeyFilter f = new LatchkeyFilter();
        f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                "latchkey.lockTimeout", "+1000", "latchkey.maxInactiveInterval", "-1")));
        try {
            assertTrue(f.toString().contains("lockTimeout=PT1S"), f.toString());
        } finally {
            f.destroy();
        }
    }

    @Test
    void init_maxInactiveIntervalAtTheLimit_starts() throws Exception {
        LatchkeyFilter f = new LatchkeyFilter();
        f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                "latchkey.maxInactiveInterval", "315360000000")));
        try {
            assertTrue(f.toString().contains("maxInactiveInterval=PT87600000H"), f.toString());
        } finally {
            f.destroy();
        }
    }

    static Stream<Arguments> prefixedCookies() {
        return Stream.of(
                Arguments.of(Map.of("latchkey.cookieName", "__Host-SID",
                        "latchkey.cookieSecure", "true", "latchkey.cookiePath", "/app"),
                        "latchkey.cookiePath to /"),
                Arguments.of(Map.of("latchkey.cookieName", "__Host-SID",
                        "latchkey.cookieSecure", "true", "latchkey.cookieDomain", "example.com"),
                        "remove latchkey.cookieDomain"),
                Arguments.of(Map.of("latchkey.cookieName", "__Host-SID",
                        "latchkey.cookieSecure", "auto"), "latchkey.cookieSecure to true"),
                Arguments.of(Map.of("latchkey.cookieName", "__Secure-SID",
                        "latchkey.cookieSecure", "false"), "latchkey.cookieSecure to true"));
    }

    @ParameterizedTest
    @MethodSource("prefixedCookies")
    void init_prefixedCookieNameBreakingItsRules_failsSayingWhatToChange(
            Map<String, String> cookie, String fix) {
        Map<String, String> params = new HashMap<>(cookie);
        params.put("latchkey.directory", tmp.resolve("sessions").toString());
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(params)));
        assertTrue(e.getMessage().contains("'latchkey.cookieName'"), e.getMessage());
        assertTrue(e.getMessage().contains(fix), e.getMessage());
    }

    @Test
    void init_hostPrefixedCookieMeetingItsRules_startsWithPathSlash() throws Exception {
        LatchkeyFilter f = new LatchkeyFilter();
        f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                "latchkey.cookieName", "__Host-SID", "latchkey.cookieSecure", "true")));
        try {
            assertTrue(f.toString().contains("cookiePath=/,"), f.toString());
        } finally {
            f.destroy();
        }
    }

    @Test
    void init_missingDirectory_failsNamingIt() {
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(Map.of())));
        assertTrue(e.getMessage().contains("'latchkey.directory'"), e.getMessage());
        assertTrue(e.getMessage().contains("missing"), e.getMessage());
    }

    @Test
    void init_blankDirectory_failsNamingIt() {
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(Map.of("latchkey.directory", "  "))));
        assertTrue(e.getMessage().contains("'latchkey.directory'"), e.getMessage());
    }

    @Test
    void init_unusableDirectory_failsNamingIt() throws Exception {
        // below a regular file: cannot be created, whatever the user's privileges (tests run as
        // root here, so a mode-0500 directory would still be writable)
        Path file = Files.writeString(tmp.resolve("file"), "x");
        String dir = file.resolve("sessions").toString();
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(Map.of("latchkey.directory", dir))));
        assertTrue(e.getMessage().contains("'latchkey.directory'"), e.getMessage());
        assertTrue(e.getMessage().contains("cannot be used"), e.getMessage());
    }

    @Test
    void init_unknownLatchkeyParameter_failsNamingIt() {
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(Map.of(
                        "latchkey.directory", tmp.toString(), "latchkey.cookiename", "X"))));
        assertTrue(e.getMessage().contains("'latchkey.cookiename'"), e.getMessage());
        assertTrue(e.getMessage().contains("latchkey.cookieName"), e.getMessage());
    }

    @Test
    void init_validParameters_succeedsAndIgnoresForeignParameters() throws Exception {
        LatchkeyFilter f = new LatchkeyFilter();
        f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                "latchkey.concurrency", "EXCLUSIVE", "latchkey.saveMode", "on-get-attribute",
                "latchkey.cookieSecure", "auto", "latchkey.lockTimeout", "250",
                "latchkey.allowedTypes", Tracked.class.getName(), "other.param", "x")));
        String s = f.toString();
        assertTrue(s.contains("EXCLUSIVE") && s.contains("ON_GET_ATTRIBUTE")
                && s.contains("PT0.25S"), s);
        assertTrue(Files.isDirectory(tmp.resolve("s")));
        f.destroy();
    }

    @ParameterizedTest(name = "cookieSecure={0}")
    @ValueSource(strings = {"auto", "false", "true"})
    void init_sameSiteNone_warnsUnlessSecureIsForcedOn(String secure) throws Exception {
        LatchkeyFilter f = new LatchkeyFilter();
        try (LogCapture log = new LogCapture()) {
            f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                    "latchkey.cookieSameSite", "none", "latchkey.cookieSecure", secure)));
            List<String> warned = log.warnings("SameSite=None");
            assertEquals(secure.equals("true") ? 0 : 1, warned.size(), warned.toString());
            if (!warned.isEmpty()) {
                assertTrue(warned.get(0).contains("latchkey.cookieSecure"), warned.get(0));
            }
        } finally {
            f.destroy();
        }
    }

    @Test
    void build_sameSiteNoneWithSecureLeftAuto_warnsAtInit() throws Exception {
        LatchkeyFilter f = LatchkeyFilter.builder(tmp.resolve("s")).cookieSameSite("None").build();
        try (LogCapture log = new LogCapture()) {
            f.init(config(Map.of()));
            assertEquals(1, log.warnings("SameSite=None", "Builder.cookieSecure").size());
        } finally {
            f.destroy();
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(CookieSecure.class)
    void build_cookieSecureGivenExplicitly_warnsForSameSiteNoneUnlessAlways(CookieSecure mode)
            throws Exception {
        LatchkeyFilter f = LatchkeyFilter.builder(tmp.resolve("s")).cookieSameSite("None")
                .cookieSecure(mode).build();
        try (LogCapture log = new LogCapture()) {
            f.init(config(Map.of()));
            List<String> warned = log.warnings("SameSite=None");
            assertEquals(mode == CookieSecure.ALWAYS ? 0 : 1, warned.size(), warned.toString());
            if (!warned.isEmpty()) {
                assertTrue(warned.get(0).contains(mode == CookieSecure.AUTO ? "is auto"
                        : "is false"), warned.get(0));
            }
            assertTrue(f.toString().contains("cookieSecure=" + mode), f.toString());
        } finally {
            f.destroy();
        }
    }

    @Test
    void builder_cookieSecureAuto_isRefusedForPrefixedNamesAndCountsAsSet() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> LatchkeyFilter.builder(tmp).cookieName("__Secure-X")
                        .cookieSecure(CookieSecure.AUTO).build());
        assertTrue(e.getMessage().contains("Builder.cookieSecure(true)"), e.getMessage());
        LatchkeyFilter.Builder b = LatchkeyFilter.builder(tmp).cookieSecure(CookieSecure.AUTO);
        assertEquals("cookieSecure was already set",
                assertThrows(IllegalStateException.class, () -> b.cookieSecure(true))
                        .getMessage());
        LatchkeyFilter.builder(tmp).cookieName("__Secure-X").cookieSecure(CookieSecure.ALWAYS)
                .build();
    }

    @Test
    void builder_settingTwice_throwsIllegalState() {
        LatchkeyFilter.Builder b = LatchkeyFilter.builder(tmp).cookieName("A");
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> b.cookieName("B"));
        assertEquals("cookieName was already set", e.getMessage());
    }

    @Test
    void builder_badValues_throwIllegalArgument() {
        LatchkeyFilter.Builder b = LatchkeyFilter.builder(tmp);
        assertThrows(IllegalArgumentException.class, () -> b.lockTimeout(Duration.ZERO));
        assertThrows(IllegalArgumentException.class, () -> b.lockTimeoutStatus(302));
        assertThrows(IllegalArgumentException.class, () -> b.cookieSameSite("sometimes"));
        assertThrows(IllegalArgumentException.class, () -> b.listener(new java.util.EventListener() {
        }));
        assertThrows(IllegalArgumentException.class, () -> b.allowTypes(Runnable.class));
        IllegalArgumentException tooLong = assertThrows(IllegalArgumentException.class,
                () -> b.lockTimeout(Duration.ofDays(2)));
        assertTrue(tooLong.getMessage().contains("at most 86400000 ms"), tooLong.getMessage());
        b.lockTimeout(Duration.ofDays(1)); // the maximum itself is allowed
        IllegalArgumentException forever = assertThrows(IllegalArgumentException.class,
                () -> b.maxInactiveInterval(Duration.ofDays(5_000_000)));
        assertTrue(forever.getMessage().contains("at most 315360000000 s (10,000 years"),
                forever.getMessage());
        b.maxInactiveInterval(Duration.ofDays(3_650_000)); // 10,000 years itself is allowed
        IllegalArgumentException relative = assertThrows(IllegalArgumentException.class,
                () -> LatchkeyFilter.builder(Path.of("sessions")));
        assertTrue(relative.getMessage().contains("absolute path"), relative.getMessage());
        IllegalArgumentException host = assertThrows(IllegalArgumentException.class,
                () -> LatchkeyFilter.builder(tmp).cookieName("__Host-X").build());
        assertTrue(host.getMessage().contains("Builder.cookieSecure(true)"), host.getMessage());
        assertThrows(IllegalArgumentException.class, () -> LatchkeyFilter.builder(tmp)
                .cookieName("__Host-X").cookieSecure(true).cookiePath("/app").build());
        assertThrows(IllegalArgumentException.class, () -> LatchkeyFilter.builder(tmp)
                .cookieName("__Host-X").cookieSecure(true).cookieDomain("example.com").build());
        LatchkeyFilter.builder(tmp).cookieName("__Host-X").cookieSecure(true).build();
        LatchkeyFilter.builder(tmp).cookieName("__Secure-X").cookieSecure(true)
                .cookieDomain("example.com").cookiePath("/app").build();
    }

    /** A MAC key misconfiguration: what to put on disk, which parameter to set, what to say. */
    enum KeyMistake {
        INSIDE_DIRECTORY("latchkey.macKeyFile", "outside the session directory",
                t -> t.resolve("sessions").resolve("latchkey.key")),
        MISSING("latchkey.macKeyFile", "head -c 32 /dev/urandom", t -> t.resolve("none.key")),
        TOO_SHORT("latchkey.macKeyFile", "32 to 1024 bytes",
                t -> key(t.resolve("short.key"), 16, "rw-------")),
        READABLE_BY_OTHERS("latchkey.macKeyFile", "chmod 600",
                t -> key(t.resolve("open.key"), 32, "rw-r--r--")),
        DEFAULT_READABLE_BY_OTHERS("latchkey.macKeyFile", "chmod 600", t -> {
            key(t.resolve("sessions.key"), 32, "rw-r--r--");
            return null; // the default key file beside latchkey.directory
        }),
        PREVIOUS_MISSING("latchkey.previousMacKeyFiles", "head -c 32 /dev/urandom",
                t -> t.resolve("gone.key"));

        final String param;
        final String says;
        final Setup setup;

        KeyMistake(String param, String says, Setup setup) {
            this.param = param;
            this.says = says;
            this.setup = setup;
        }

        interface Setup {
            Path apply(Path tmp) throws Exception;
        }

        static Path key(Path file, int bytes, String mode) throws Exception {
            byte[] key = new byte[bytes];
            new java.security.SecureRandom().nextBytes(key);
            Files.write(file, key);
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString(mode));
            return file;
        }
    }

    @ParameterizedTest(name = "{0}")
    @EnumSource(KeyMistake.class)
    void init_macKeyMisconfigured_failsNamingTheParameterAndWhatToDo(KeyMistake mistake)
            throws Exception {
        Assumptions.assumeTrue(tmp.getFileSystem().supportedFileAttributeViews()
                .contains("posix"), "needs POSIX permissions");
        Path file = mistake.setup.apply(tmp);
        Map<String, String> params = new HashMap<>();
        params.put("latchkey.directory", tmp.resolve("sessions").toString());
        if (file != null) {
            params.put(mistake.param, file.toString());
        }
        ServletException e = assertThrows(ServletException.class,
                () -> new LatchkeyFilter().init(config(params)));
        assertTrue(e.getMessage().contains("'" + mistake.param + "'"), e.getMessage());
        assertTrue(e.getMessage().contains(file != null ? file.toString()
                : tmp.resolve("sessions.key").toString()), e.getMessage());
        assertTrue(e.getMessage().contains(mistake.says), e.getMessage());
    }

    @Test
    void init_macKeyFiles_areUsed() throws Exception {
        Path current = KeyMistake.key(tmp.resolve("current.key"), 32, "rw-------");
        Path previous = KeyMistake.key(tmp.resolve("previous.key"), 32, "r--------");
        LatchkeyFilter f = new LatchkeyFilter();
        f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                "latchkey.macKeyFile", current.toString(),
                "latchkey.previousMacKeyFiles", previous + " , " + current)));
        f.destroy();
        assertFalse(Files.exists(tmp.resolve("s.key")), "the default key file was made anyway");
        LatchkeyFilter.Builder b = LatchkeyFilter.builder(tmp.resolve("s")).macKeyFile(current);
        assertThrows(IllegalStateException.class, () -> b.macKeyFile(current));
        assertThrows(IllegalArgumentException.class, () -> LatchkeyFilter.builder(tmp)
                .macKeyFile(tmp.resolve("k")));
        assertThrows(IllegalArgumentException.class, () -> LatchkeyFilter.builder(tmp)
                .previousMacKeyFiles(tmp.resolve("k")));
    }

    /** The filter's own sweep threads now alive, other than those in {@code before}. */
    static List<Thread> sweepThreads(java.util.Set<Thread> before) {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("latchkey-sweep") && t.isAlive()
                        && !before.contains(t))
                .toList();
    }

    static java.util.Set<Thread> sweepThreadsNow() {
        return java.util.Set.copyOf(sweepThreads(java.util.Set.of()));
    }

    @Test
    void init_sweepInterval_startsOneDaemonThreadThatDestroyEnds() throws Exception {
        java.util.Set<Thread> before = sweepThreadsNow();
        LatchkeyFilter f = new LatchkeyFilter();
        f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                "latchkey.sweepInterval", "5")));
        try {
            List<Thread> started = sweepThreads(before);
            assertEquals(1, started.size(), started.toString());
            assertTrue(started.get(0).isDaemon(), "must not keep a JVM from exiting");
        } finally {
            f.destroy();
        }
        assertEquals(List.of(), sweepThreads(before), "destroy() ended the thread");
    }

    @Test
    void init_sweepIntervalZero_startsNoThread() throws Exception {
        java.util.Set<Thread> before = sweepThreadsNow();
        LatchkeyFilter f = new LatchkeyFilter();
        f.init(config(Map.of("latchkey.directory", tmp.resolve("s").toString(),
                "latchkey.sweepInterval", "0")));
        try {
            assertEquals(List.of(), sweepThreads(before));
        } finally {
            f.destroy();
        }
    }

    @Test
    void init_failing_leavesNoSweepThread() throws Exception {
        java.util.Set<Thread> before = sweepThreadsNow();
        Path file = Files.writeString(tmp.resolve("file"), "x");
        assertThrows(ServletException.class, () -> new LatchkeyFilter().init(config(Map.of(
                "latchkey.directory", file.resolve("sessions").toString()))));
        assertEquals(List.of(), sweepThreads(before));
    }

    @Test
    void build_sweepIntervalWithCallersExecutor_cancelsItsTaskAndLeavesTheExecutorRunning()
            throws Exception {
        java.util.concurrent.ScheduledThreadPoolExecutor executor =
                new java.util.concurrent.ScheduledThreadPoolExecutor(1);
        executor.setRemoveOnCancelPolicy(true);
        try {
            LatchkeyFilter f = LatchkeyFilter.builder(tmp.resolve("s"))
                    .sweepInterval(Duration.ofMinutes(5), executor).build();
            java.util.Set<Thread> before = sweepThreadsNow();
            f.init(config(Map.of()));
            assertEquals(1, executor.getQueue().size(), "the sweep task is scheduled");
            assertEquals(List.of(), sweepThreads(before), "no thread of the filter's own");
            f.destroy();
            assertEquals(0, executor.getQueue().size(), "the task is cancelled");
            assertFalse(executor.isShutdown(), "the executor stays the caller's");
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void builder_sweepInterval_validates() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> LatchkeyFilter.builder(tmp)
                .sweepInterval(Duration.ofSeconds(-1))).getMessage().contains("0 (no sweep)"));
        assertThrows(IllegalArgumentException.class, () -> LatchkeyFilter.builder(tmp)
                .sweepInterval(Duration.ofDays(1).plusMillis(1)));
        java.util.concurrent.ScheduledExecutorService none =
                java.util.concurrent.Executors.newSingleThreadScheduledExecutor();
        try {
            assertThrows(IllegalArgumentException.class, () -> LatchkeyFilter.builder(tmp)
                    .sweepInterval(Duration.ZERO, none));
            LatchkeyFilter.Builder b = LatchkeyFilter.builder(tmp).sweepInterval(Duration.ZERO);
            assertEquals("sweepInterval was already set", assertThrows(
                    IllegalStateException.class, () -> b.sweepInterval(Duration.ofSeconds(1),
                            none)).getMessage());
        } finally {
            none.shutdownNow();
        }
        LatchkeyFilter.builder(tmp).sweepInterval(LatchkeyFilter.MAX_SWEEP_INTERVAL);
    }

    @Test
    void doFilter_beforeInit_throwsIllegalState() {
        assertThrows(IllegalStateException.class,
                () -> LatchkeyFilter.builder(tmp).build().doFilter(null, null, null));
    }
}
