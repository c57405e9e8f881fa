package dev.latchkey.servlet;

import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Child JVM of {@link TwoJvmSessionTest}: serves the test app on embedded Jetty over the given
 * directory, prints "READY uri", and stops when its standard input closes.
 */
public final class ChildContainerMain {
    private ChildContainerMain() {
    }

    /**
     * Runs the child.
     *
     * @param args session directory, concurrency mode name, scratch directory
     * @throws Exception on any failure (the parent sees the exit status)
     */
    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Concurrency mode = Concurrency.valueOf(args[1]);
        Path work = Files.createDirectories(Path.of(args[2]));
        try (SessionStore probe = SessionStore.open(StoreConfig.builder(dir).build())) {
            JettyContainer container = new JettyContainer();
            URI base = container.start(work, LatchkeyFilter.builder(dir).concurrency(mode)
                    .build(), Map.of(), new AppServlet(probe));
            System.out.println("READY " + base);
            System.out.flush();
            while (System.in.read() != -1) {
                // wait for the parent to close our stdin
            }
            container.close();
        }
        System.exit(0);
    }
}
