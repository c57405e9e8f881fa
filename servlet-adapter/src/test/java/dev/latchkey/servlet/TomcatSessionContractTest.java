package dev.latchkey.servlet;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The session contract on embedded Tomcat 11, plus what needs its Servlet 6.1 API. */
final class TomcatSessionContractTest extends AbstractSessionContractTest {
    @Override
    Container newContainer() {
        return new TomcatContainer();
    }

    /**
     * Servlet 6.1's {@code sendRedirect(String, int)}, {@code (String, boolean)} and
     * {@code (String, int, boolean)}: the 6.1 {@code HttpServletResponseWrapper} forwards them
     * straight to the wrapped response, so the filter's wrapper must declare them too.
     */
    @Test
    void sendRedirectServlet61Overloads_commitBeforeTheRedirectLeaves() throws Exception {
        start(b -> b);
        get("info");
        for (String how : List.of("status", "clear", "statusClear")) {
            app.events.clear();
            HttpResponse<String> r = send("redirect61?n=" + how + "&v=there&how=" + how);
            assertEquals("value=there", r.body().strip(), how);
            awaitEvents(1);
            assertEquals(List.of(how + "=there"), List.copyOf(app.events),
                    "committed before the redirect left");
        }
    }
}
