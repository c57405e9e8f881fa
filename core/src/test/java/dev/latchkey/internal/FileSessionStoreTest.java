package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertFalse;

import dev.latchkey.SessionStore;
import dev.latchkey.SessionStoreContract;
import dev.latchkey.StoreConfig;
import java.nio.file.Files;
import java.nio.file.LinkOption;

/** The contract, run against the file store; "nothing stored" is also checked on disk. */
final class FileSessionStoreTest extends SessionStoreContract {

    @Override
    protected SessionStore open(StoreConfig config) {
        return FileSessionStore.open(config);
    }

    @Override
    protected void assertNothingStored(String id) {
        super.assertNothingStored(id);
        Layout layout = new Layout(directory());
        for (var path : java.util.List.of(layout.current(id), layout.old(id), layout.temp(id))) {
            assertFalse(Files.exists(path, LinkOption.NOFOLLOW_LINKS), path + " exists");
        }
    }
}
