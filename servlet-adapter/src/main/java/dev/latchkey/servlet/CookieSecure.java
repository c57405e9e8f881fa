package dev.latchkey.servlet;

/**
 * Whether the session cookie carries the {@code Secure} attribute (browsers then send it over
 * HTTPS only).
 *
 * <p>Init-param values of {@code latchkey.cookieSecure}: {@code auto}, {@code true}
 * ({@link #ALWAYS}), {@code false} ({@link #NEVER}), case-insensitive.
 */
public enum CookieSecure {

    /**
     * {@code Secure} exactly when {@code request.isSecure()}: right when the container sees TLS
     * itself, or trusts the proxy that ends it. Behind a proxy the container does not trust, every
     * request looks plain and the cookie is never {@code Secure}: use {@link #ALWAYS} there. The
     * default.
     */
    AUTO,

    /**
     * Always {@code Secure}. Required by the {@code __Secure-} and {@code __Host-} cookie name
     * prefixes and by {@code SameSite=None}; a site also served over plain HTTP then has no
     * session there.
     */
    ALWAYS,

    /** Never {@code Secure}: for plain-HTTP development setups only. */
    NEVER
}
