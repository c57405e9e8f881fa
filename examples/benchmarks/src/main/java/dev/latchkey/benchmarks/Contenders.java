package dev.latchkey.benchmarks;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.stream.IntStream;

/** Opens a {@link Contender} by name, and the helpers every workload shares. */
final class Contenders {
    static final String FLOOR = "floor";
    static final String FLOOR_READ = "floor+read";
    static final String LATCHKEY = "latchkey";
    static final String TOMCAT = "tomcat";
    static final String JETTY = "jetty";
    static final String NAIVE = "naive";
    static final String REDIS = "redis";

    private Contenders() {
    }

    /**
     * Opens a store.
     * @param name one of the constants above
     * @param directory the store's own directory (unused by Redis)
     * @param synced fsync each commit (only the floor and Latchkey have a file-system option)
     * @param redis {@code host:port}, or "-" when there is no Redis
     * @param namespace the key prefix for Redis
     */
    static Contender open(String name, Path directory, boolean synced, String redis,
            String namespace) throws Exception {
        switch (name) {
            case FLOOR:
                return new FloorContender(directory, synced, false);
            case FLOOR_READ:
                return new FloorContender(directory, synced, true);
            case LATCHKEY:
                return new LatchkeyContender(directory, synced);
            case TOMCAT:
                return new TomcatContender(directory);
            case JETTY:
                return new JettyContender(directory);
            case NAIVE:
                return new NaiveContender(directory);
            case REDIS:
                if (redis == null || redis.equals("-")) {
                    throw new IllegalArgumentException("the redis store needs a server: --redis=host:port");
                }
                int colon = redis.lastIndexOf(':');
                return new RedisContender(redis.substring(0, colon),
                        Integer.parseInt(redis.substring(colon + 1)), namespace);
            default:
                throw new IllegalArgumentException("unknown store " + name);
        }
    }

    /** Creates n sample sessions with two threads, returning their ids. */
    static String[] populate(Contender contender, int n) {
        String[] ids = new String[n];
        Thread helper = null;
        int half = n / 2;
        if (n >= 1000) {
            helper = new Thread(() -> fill(contender, ids, half, n), "populate");
            helper.start();
            fill(contender, ids, 0, half);
        } else {
            fill(contender, ids, 0, n);
        }
        if (helper != null) {
            try {
                helper.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while creating sessions", e);
            }
            for (String id : ids) {
                if (id == null) {
                    throw new IllegalStateException("creating sessions failed (see the error above)");
                }
            }
        }
        return ids;
    }

    private static void fill(Contender contender, String[] ids, int from, int to) {
        IntStream.range(from, to).forEach(i -> {
            try {
                ids[i] = contender.create(SampleSession.attributes());
            } catch (Exception e) {
                throw new IllegalStateException("cannot create a session in " + contender, e);
            }
        });
    }

    /**
     * Writes back every dirty page of the machine (the {@code sync} command) so that the
     * write-back of the sessions just created does not compete with the measured requests. Does
     * nothing where there is no {@code sync}.
     */
    static void flushDirtyPages() {
        try {
            Process sync = new ProcessBuilder("sync").redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!sync.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
                sync.destroyForcibly();
            }
        } catch (IOException e) {
            // no sync command: measure without it
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The MAC key file Latchkey creates beside a session directory by default. */
    static Path macKeyFile(Path directory) {
        return directory.resolveSibling(directory.getFileName() + ".key");
    }

    /** Deletes a directory tree, if it exists. */
    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try {
            Files.walkFileTree(root, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs)
                        throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException e)
                        throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + root, e);
        }
    }
}
