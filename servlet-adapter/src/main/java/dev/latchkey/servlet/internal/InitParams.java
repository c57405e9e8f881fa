package dev.latchkey.servlet.internal;

import dev.latchkey.servlet.Concurrency;
import dev.latchkey.servlet.CookieSecure;
import dev.latchkey.servlet.LatchkeyFilter;
import dev.latchkey.servlet.SaveMode;
import jakarta.servlet.FilterConfig;
import jakarta.servlet.ServletException;
import java.lang.reflect.InvocationTargetException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EventListener;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Turns a filter's init-params into a {@link LatchkeyFilter.Builder}, failing with a
 * {@link ServletException} that names the parameter and what it allows.
 *
 * <p>Stateless; thread-safe.
 */
public final class InitParams {

    /** Prefix of every parameter this filter reads. */
    public static final String PREFIX = "latchkey.";

    private static final Pattern ASCII_NUMBER = Pattern.compile("[+-]?[0-9]+");

    /** Parameter names and what each allows, as printed in error messages. */
    private static final Map<String, String> ALLOWED = new TreeMap<>(Map.ofEntries(
            Map.entry("latchkey.directory", "an absolute path to a writable directory (required)"),
            Map.entry("latchkey.maxInactiveInterval",
                    "a whole number of seconds, at most 315360000000 (10,000 years); 0 or negative"
                            + " means never expire (default 1800)"),
            Map.entry("latchkey.cookieName",
                    "an RFC 6265 token other than JSESSIONID (default LATCHKEY)"),
            Map.entry("latchkey.cookiePath", "a path starting with '/' (default: context path)"),
            Map.entry("latchkey.cookieDomain", "a domain name (default: none, host-only)"),
            Map.entry("latchkey.cookieSecure", "auto, true or false (default auto)"),
            Map.entry("latchkey.cookieSameSite", "Lax, Strict or None (default Lax)"),
            Map.entry("latchkey.concurrency", "merge or exclusive (default merge)"),
            Map.entry("latchkey.saveMode",
                    "on_set_attribute, on_get_attribute or always (default on_set_attribute)"),
            Map.entry("latchkey.allowedTypes",
                    "comma-separated fully qualified names of concrete classes (default none)"),
            Map.entry("latchkey.lockTimeout",
                    "a positive whole number of milliseconds, at most 86400000 (one day;"
                            + " default 10000)"),
            Map.entry("latchkey.sweepInterval", "a whole number of seconds, 0 to 86400 (one"
                    + " day), between sweeps of expired sessions; 0: this process does not sweep"
                    + " (default 60)"),
            Map.entry("latchkey.lockTimeoutStatus", "an HTTP status 400 to 599 (default 503)"),
            Map.entry("latchkey.macKeyFile", "the path of an existing file of 32 to 1024 secret"
                    + " bytes, mode 0600, outside the session directory (default: DIRECTORY.key"
                    + " beside it, created on first use)"),
            Map.entry("latchkey.previousMacKeyFiles", "comma-separated paths of key files that"
                    + " verify but never sign, during a key rotation (default none)"),
            Map.entry("latchkey.listeners", "comma-separated fully qualified names of classes"
                    + " with a public no-argument constructor implementing HttpSessionListener,"
                    + " HttpSessionAttributeListener or HttpSessionIdListener (default none)")));

    private InitParams() {
    }

    /**
     * Returns the names of all known parameters.
     *
     * @return the names, sorted
     */
    public static List<String> names() {
        return List.copyOf(ALLOWED.keySet());
    }

    /**
     * Reads and validates the init-params.
     *
     * @param config the filter configuration
     * @return a builder holding every given setting
     * @throws ServletException if a parameter is missing, malformed or unknown
     */
    public static LatchkeyFilter.Builder parse(FilterConfig config) throws ServletException {
        for (String name : Collections.list(config.getInitParameterNames())) {
            if (name.regionMatches(true, 0, PREFIX, 0, PREFIX.length())
                    && !ALLOWED.containsKey(name)) {
                throw unknown(config, name);
            }
        }
        String dir = value(config, "latchkey.directory");
        if (dir == null) {
            throw fail(config, "latchkey.directory", null, "it is missing", null);
        }
        LatchkeyFilter.Builder b;
        try {
            b = LatchkeyFilter.builder(Path.of(dir));
        } catch (InvalidPathException e) {
            throw fail(config, "latchkey.directory", dir, "not a path", e);
        } catch (IllegalArgumentException e) {
            throw fail(config, "latchkey.directory", dir, e.getMessage(), e);
        }
        apply(config, "latchkey.maxInactiveInterval",
                v -> b.maxInactiveInterval(Duration.ofSeconds(number(v))));
        apply(config, "latchkey.cookieName", b::cookieName);
        apply(config, "latchkey.cookiePath", b::cookiePath);
        apply(config, "latchkey.cookieDomain", b::cookieDomain);
        apply(config, "latchkey.cookieSecure", v -> b.cookieSecure(
                switch (v.toLowerCase(Locale.ROOT)) {
                    case "auto" -> CookieSecure.AUTO;
                    case "true" -> CookieSecure.ALWAYS;
                    case "false" -> CookieSecure.NEVER;
                    default -> throw new IllegalArgumentException("not auto, true or false");
                }));
        apply(config, "latchkey.cookieSameSite", b::cookieSameSite);
        apply(config, "latchkey.concurrency", v -> b.concurrency(constant(Concurrency.class, v)));
        apply(config, "latchkey.saveMode", v -> b.saveMode(
                constant(SaveMode.class, v.replace('-', '_'))));
        apply(config, "latchkey.lockTimeout",
                v -> b.lockTimeout(Duration.ofMillis(number(v))));
        apply(config, "latchkey.sweepInterval",
                v -> b.sweepInterval(Duration.ofSeconds(number(v))));
        apply(config, "latchkey.lockTimeoutStatus",
                v -> b.lockTimeoutStatus(Math.toIntExact(number(v))));
        apply(config, "latchkey.macKeyFile", v -> b.macKeyFile(path(v)));
        apply(config, "latchkey.previousMacKeyFiles", v -> b.previousMacKeyFiles(
                split(v).stream().map(InitParams::path).toArray(Path[]::new)));
        apply(config, "latchkey.allowedTypes", v -> {
            List<Class<?>> types = new ArrayList<>();
            for (String name : split(v)) {
                types.add(load(name));
            }
            b.allowTypes(types.toArray(new Class<?>[0]));
        });
        apply(config, "latchkey.listeners", v -> {
            for (String name : split(v)) {
                Object listener;
                try {
                    listener = load(name).getConstructor().newInstance();
                } catch (NoSuchMethodException | InstantiationException | IllegalAccessException e) {
                    throw new IllegalArgumentException(name + " has no public no-argument"
                            + " constructor", e);
                } catch (InvocationTargetException e) {
                    throw new IllegalArgumentException("constructor of " + name + " failed: "
                            + e.getCause(), e.getCause());
                }
                if (!(listener instanceof EventListener l)) {
                    throw new IllegalArgumentException(name + " is not a session listener");
                }
                b.listener(l);
            }
        });
        return b;
    }

    /**
     * A name that starts with the prefix in any case but is not a known parameter: a typo or a
     * wrong case, which would otherwise leave the setting at its default without a word.
     */
    private static ServletException unknown(FilterConfig config, String name) {
        String hint = "";
        for (String known : ALLOWED.keySet()) {
            if (known.equalsIgnoreCase(name)) {
                hint = "; names are case-sensitive: write '" + known + "'";
            }
        }
        if (hint.isEmpty() && !name.startsWith(PREFIX)) {
            hint = "; names start with '" + PREFIX + "' in lower case";
        }
        return new ServletException("unknown init-param '" + name + "' of filter '"
                + config.getFilterName() + "'" + hint + "; known parameters: " + ALLOWED.keySet());
    }

    /**
     * A whole number in ASCII digits with an optional sign: {@link Long#parseLong} also takes
     * other scripts' digits (Arabic-Indic, full-width), which no operator means to write.
     *
     * @throws NumberFormatException if v is not such a number or out of range
     */
    private static long number(String v) {
        if (!ASCII_NUMBER.matcher(v).matches()) {
            throw new NumberFormatException("not [+-]?[0-9]+");
        }
        return Long.parseLong(v);
    }

    /**
     * Builds the exception for a parameter that cannot be used.
     *
     * @param config the filter configuration
     * @param param the parameter name
     * @param value the value given, or null if missing
     * @param problem what is wrong
     * @param cause the underlying failure, or null
     * @return the exception
     */
    public static ServletException fail(FilterConfig config, String param, String value,
            String problem, Throwable cause) {
        String message = "init-param '" + param + "' of filter '" + config.getFilterName() + "'"
                + (value == null ? "" : " = '" + value + "'") + ": " + problem + "; allowed: "
                + ALLOWED.get(param);
        return cause == null ? new ServletException(message) : new ServletException(message, cause);
    }

    private interface Setter {
        void set(String value);
    }

    private static void apply(FilterConfig config, String param, Setter setter)
            throws ServletException {
        String v = value(config, param);
        if (v == null) {
            return;
        }
        try {
            setter.set(v);
        } catch (NumberFormatException | ArithmeticException e) {
            throw fail(config, param, v, "not a whole number in range", e);
        } catch (IllegalArgumentException e) {
            throw fail(config, param, v, String.valueOf(e.getMessage()), e);
        }
    }

    /**
     * The parameter's value, stripped; null if absent.
     *
     * @throws ServletException if it is given but blank: a value that was meant to be filled in
     *     (a template, an unset variable) must not silently become the default
     */
    private static String value(FilterConfig config, String param) throws ServletException {
        String v = config.getInitParameter(param);
        if (v == null) {
            return null;
        }
        if (v.isBlank()) {
            throw fail(config, param, v, "it is blank; give a value, or remove the parameter to get"
                    + " the default", null);
        }
        return v.strip();
    }

    /**
     * The constant of {@code type} named by {@code value} (case-insensitive).
     *
     * @throws IllegalArgumentException listing the constants in lower case, without Java's
     *     "No enum constant" wording
     */
    private static <E extends Enum<E>> E constant(Class<E> type, String value) {
        for (E e : type.getEnumConstants()) {
            if (e.name().equalsIgnoreCase(value)) {
                return e;
            }
        }
        List<String> names = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            names.add(e.name().toLowerCase(Locale.ROOT));
        }
        throw new IllegalArgumentException("not one of " + String.join(", ", names));
    }

    private static List<String> split(String v) {
        List<String> names = new ArrayList<>();
        for (String part : v.split(",", -1)) {
            if (part.isBlank()) {
                throw new IllegalArgumentException("an empty name in the comma-separated list");
            }
            names.add(part.strip());
        }
        return names;
    }

    private static Path path(String value) {
        try {
            return Path.of(value);
        } catch (InvalidPathException e) {
            throw new IllegalArgumentException("not a path: " + e.getMessage(), e);
        }
    }

    private static Class<?> load(String name) {
        ClassLoader loader = Thread.currentThread().getContextClassLoader();
        if (loader == null) {
            loader = InitParams.class.getClassLoader();
        }
        try {
            return Class.forName(name, false, loader);
        } catch (ClassNotFoundException | LinkageError e) {
            throw new IllegalArgumentException("class " + name + " not found", e);
        }
    }
}
