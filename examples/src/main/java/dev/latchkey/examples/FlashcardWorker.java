package dev.latchkey.examples;

import dev.latchkey.servlet.Concurrency;
import dev.latchkey.servlet.LatchkeyFilter;
import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Locale;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/**
 * One worker process of {@link FlashcardDemo}: the flashcard app in embedded Jetty 12, listening on
 * a port that all workers share with {@code SO_REUSEPORT}, so the kernel spreads connections over
 * the workers as a pre-fork server does.
 *
 * <p>Arguments: {@code latchkey|naive PORT SESSION_DIR DATABASE_DIR WORKER_NUMBER merge|exclusive
 * TOKEN}. Every answer carries the run's {@code TOKEN} in the {@value WorkerProcesses#TOKEN_HEADER}
 * header, so that the demo can tell its own workers' answers from another listener's on the port.
 * Prints {@code READY} once it listens; stops (and exits) when its standard input closes, so a
 * worker never outlives the demo that started it.
 */
public final class FlashcardWorker {
    private FlashcardWorker() {
    }

    /**
     * Runs one worker until standard input closes.
     *
     * @param args see the class comment
     * @throws Exception if the server cannot start
     */
    public static void main(String[] args) throws Exception {
        String store = args[0];
        int port = Integer.parseInt(args[1]);
        Path sessions = Path.of(args[2]);
        UserDatabases databases = new UserDatabases(Path.of(args[3]));
        int worker = Integer.parseInt(args[4]);
        Concurrency mode = Concurrency.valueOf(args[5].toUpperCase(Locale.ROOT));
        String token = args[6];

        Filter sessionFilter = store.equals("latchkey")
                ? LatchkeyFilter.builder(sessions).concurrency(mode).build()
                : new NaiveSessionFilter(sessions);

        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(port);
        connector.setReusePort(true); // every worker binds the same port
        // on every response of this connector, error pages included
        connector.getConnectionFactory(HttpConnectionFactory.class).getHttpConfiguration()
                .addCustomizer((request, responseHeaders) -> {
                    responseHeaders.put(WorkerProcesses.TOKEN_HEADER, token);
                    return request;
                });
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/");
        FilterHolder filter = new FilterHolder(sessionFilter);
        filter.setAsyncSupported(true);
        context.addFilter(filter, "/*", EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC,
                DispatcherType.ERROR));
        context.addServlet(new ServletHolder(new FlashcardServlet(databases, worker)), "/*");
        server.setHandler(context);
        server.setStopTimeout(2000);
        server.start();
        System.out.println("READY " + connector.getLocalPort());
        System.out.flush();

        InputStream in = System.in;
        try {
            while (in.read() != -1) {
                // wait for the demo to close our standard input (or to die)
            }
        } catch (IOException ignored) {
            // the parent is gone: stop as well
        }
        server.stop();
        System.exit(0);
    }
}
