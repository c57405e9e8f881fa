package dev.latchkey.internal;

import java.security.SecureRandom;
import java.util.Base64;

/** Generates session ids and checks ids that come from outside. Thread-safe. */
public final class SessionIds {
    /** Length of an id: 32 random bytes in unpadded URL-safe base64. */
    public static final int LENGTH = 43;

    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder ENCODER = Base64.getUrlEncoder().withoutPadding();

    private SessionIds() {
    }

    /**
     * Returns a fresh id carrying 256 bits from {@link SecureRandom}.
     *
     * @return 43 characters of [A-Za-z0-9_-]
     */
    public static String generate() {
        byte[] bytes = new byte[32];
        RANDOM.nextBytes(bytes);
        return ENCODER.encodeToString(bytes);
    }

    /**
     * Tells whether a string has the shape of an id: exactly 43 characters of the URL-safe base64
     * alphabet. Looks at no file. The last character of 32 bytes of base64 carries only 4 bits,
     * so only 16 of the 64 letters can stand there; others are refused too.
     *
     * @param id any string, possibly hostile
     * @return true if it may name a session
     */
    public static boolean isWellFormed(String id) {
        if (id == null || id.length() != LENGTH) {
            return false;
        }
        for (int i = 0; i < LENGTH; i++) {
            if (value(id.charAt(i)) < 0) {
                return false;
            }
        }
        return (value(id.charAt(LENGTH - 1)) & 0x3) == 0;
    }

    static int value(char c) {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        if (c == '-') {
            return 62;
        }
        if (c == '_') {
            return 63;
        }
        return -1;
    }

    /**
     * Returns the lock stripe of an id, in {@code [0, stripes)}.
     *
     * @param id a well-formed id
     * @param stripes a power of two
     * @return the stripe
     */
    static int stripe(String id, int stripes) {
        // the id is uniformly random: its first letters are as good a hash as any, and the same
        // in every process and JVM version (String.hashCode would do too, but this is explicit)
        int h = 0;
        for (int i = 0; i < 4; i++) {
            h = (h << 6) | value(id.charAt(LENGTH - 2 - i));
        }
        return h & (stripes - 1);
    }
}
