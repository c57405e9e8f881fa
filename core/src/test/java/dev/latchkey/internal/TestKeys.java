package dev.latchkey.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.List;

/** Keys for tests that write session files by hand. */
final class TestKeys {
    private static final SecureRandom RANDOM = new SecureRandom();

    private TestKeys() {
    }

    /** The keys of a store opened on {@code dir} with the default key file, which must exist. */
    static MacKeys ofDefaultFile(Path dir) {
        try {
            return of(dir, Files.readAllBytes(MacKeys.defaultFile(dir)));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Keys that sign with {@code key}. */
    static MacKeys of(Path dir, byte[] key) {
        return MacKeys.load(new Layout(dir), key, null, List.of(), List.of());
    }

    /** 32 fresh random bytes. */
    static byte[] random() {
        byte[] key = new byte[MacKeys.MIN_KEY_BYTES];
        RANDOM.nextBytes(key);
        return key;
    }
}
