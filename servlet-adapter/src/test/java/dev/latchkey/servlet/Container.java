package dev.latchkey.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.Servlet;
import java.net.URI;
import java.nio.file.Path;
import java.util.Map;

/**
 * An embedded servlet container serving one app at context path /app on port 0, with the filter
 * mapped for REQUEST, ASYNC and ERROR dispatches and the app's /errorpage as the error page of
 * statuses 500 and 503.
 */
interface Container {

    /**
     * Starts the container.
     *
     * @param work a scratch directory for the container
     * @param filter a ready filter, or null to declare LatchkeyFilter by class with initParams
     * @param initParams init-params of the filter
     * @param servlet the app, mapped to /*
     * @return the base URI, ending in /app/
     */
    URI start(Path work, Filter filter, Map<String, String> initParams, Servlet servlet)
            throws Exception;

    /** Stops the container. */
    void close() throws Exception;
}
