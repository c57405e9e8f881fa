package dev.latchkey.servlet;

import jakarta.servlet.DispatcherType;
import jakarta.servlet.Filter;
import jakarta.servlet.Servlet;
import java.net.URI;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Map;
import org.eclipse.jetty.ee10.servlet.ErrorPageErrorHandler;
import org.eclipse.jetty.ee10.servlet.FilterHolder;
import org.eclipse.jetty.ee10.servlet.ServletContextHandler;
import org.eclipse.jetty.ee10.servlet.ServletHolder;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;

/** Embedded Jetty 12, ee10; statuses 500 and 503 have the error page /errorpage. */
final class JettyContainer implements Container {
    private Server server;

    @Override
    public URI start(Path work, Filter filter, Map<String, String> initParams, Servlet servlet)
            throws Exception {
        server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setPort(0);
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler();
        context.setContextPath("/app");
        FilterHolder fh = filter != null ? new FilterHolder(filter)
                : new FilterHolder(LatchkeyFilter.class);
        fh.setName("latchkey");
        fh.setInitParameters(initParams);
        fh.setAsyncSupported(true);
        context.addFilter(fh, "/*", EnumSet.of(DispatcherType.REQUEST, DispatcherType.ASYNC,
                DispatcherType.ERROR));
        ServletHolder sh = new ServletHolder(servlet);
        sh.setAsyncSupported(true);
        context.addServlet(sh, "/*");
        ErrorPageErrorHandler errors = new ErrorPageErrorHandler();
        errors.addErrorPage(500, "/errorpage");
        errors.addErrorPage(503, "/errorpage");
        context.setErrorHandler(errors);
        server.setHandler(context);
        server.start();
        return URI.create("http://127.0.0.1:" + connector.getLocalPort() + "/app/");
    }

    @Override
    public void close() throws Exception {
        if (server != null) {
            server.stop();
        }
    }
}
