package dev.latchkey.internal;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.StoreConfig;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;

/**
 * The setup that tests of the expiry index and the sweep share: a store on a fresh directory
 * with a fake clock standing at a minute boundary, and views of the session files and of the
 * index as they are on disk (read directly, not through the store). Closes every store it opened.
 *
 * <p>Not thread-safe: one per test.
 */
final class IndexFixture implements AutoCloseable {
    final Path dir;
    final Layout layout;
    final MutableClock clock = MutableClock.atFixedStart();
    /** The store opened on {@link #dir} with the configuration the test chose. */
    final FileSessionStore store;
    private final List<FileSessionStore> opened = new ArrayList<>();

    /**
     * Opens the store.
     *
     * @param temp the test's temporary directory; the store's directory is made inside it
     * @param configure adds the test's settings to a builder that has the directory and clock
     */
    IndexFixture(Path temp, UnaryOperator<StoreConfig.Builder> configure) {
        dir = temp.resolve("store");
        layout = new Layout(dir);
        store = open(configure.apply(config()).build());
    }

    /** A builder for another store on the same directory and clock. */
    StoreConfig.Builder config() {
        return StoreConfig.builder(dir).clock(clock);
    }

    /** Opens another store; {@link #close} closes it. */
    FileSessionStore open(StoreConfig config) {
        FileSessionStore s = FileSessionStore.open(config);
        opened.add(s);
        return s;
    }

    @Override
    public void close() {
        opened.forEach(FileSessionStore::close);
    }

    /** Creates a session with one attribute and this interval. */
    Session create(Duration interval) {
        return store.create(store.change().set("user", "alice").maxInactiveInterval(interval)
                .build());
    }

    /** Whether a file of the session is on disk ({@code ID} or {@code ID.old}). */
    boolean stored(String id) {
        return Files.exists(layout.current(id), LinkOption.NOFOLLOW_LINKS)
                || Files.exists(layout.old(id), LinkOption.NOFOLLOW_LINKS);
    }

    /** Every marker of the index: id to the buckets it is in. */
    Map<String, List<Long>> markers() {
        Map<String, List<Long>> all = new TreeMap<>();
        if (!Files.isDirectory(layout.expiry())) {
            return all;
        }
        try (Stream<Path> buckets = Files.list(layout.expiry())) {
            for (Path bucket : buckets.toList()) {
                try (Stream<Path> entries = Files.list(bucket)) {
                    for (Path entry : entries.toList()) {
                        all.computeIfAbsent(entry.getFileName().toString(), k -> new ArrayList<>())
                                .add(Long.parseLong(bucket.getFileName().toString()));
                    }
                }
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return all;
    }

    /** The bucket the store gives a session's current state (by the store's own granules). */
    static long dueOf(Session s) {
        long granule = ExpiryIndex.granularity(s.maxInactiveInterval().toMillis());
        long expiry = s.expiryTime().orElseThrow().toEpochMilli();
        return Math.floorDiv(expiry, granule) * granule + granule;
    }

    /** Plants an empty marker, as a crash between the steps of a marker move leaves one. */
    void plantMarker(String id, long due) {
        Path marker = layout.expiry().resolve(Long.toString(due)).resolve(id);
        try {
            Files.createDirectories(marker.getParent());
            Files.createFile(marker);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes every marker of a session, as by hand. */
    void deleteMarker(String id) {
        try {
            for (long due : markers().get(id)) {
                Files.delete(layout.expiry().resolve(Long.toString(due)).resolve(id));
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Deletes the whole index, as a directory from before the index looks. */
    void deleteIndex() {
        try (Stream<Path> all = Files.walk(layout.expiry())) {
            for (Path p : all.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
