package dev.latchkey.servlet;

import jakarta.servlet.Filter;
import jakarta.servlet.Servlet;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.catalina.Context;
import org.apache.catalina.Wrapper;
import org.apache.catalina.core.StandardContext;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.ErrorPage;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;

/** Embedded Tomcat 11; statuses 500 and 503 have the error page /errorpage. */
final class TomcatContainer implements Container {
    private Tomcat tomcat;

    @Override
    public URI start(Path work, Filter filter, Map<String, String> initParams, Servlet servlet)
            throws Exception {
        tomcat = new Tomcat();
        Path base = Files.createDirectories(work.resolve("tomcat"));
        tomcat.setBaseDir(base.toString());
        tomcat.setPort(0);
        tomcat.getConnector();
        Context context = tomcat.addContext("/app",
                Files.createDirectories(base.resolve("docs")).toString());
        if (context instanceof StandardContext sc) {
            sc.setClearReferencesThreadLocals(false);
            sc.setClearReferencesRmiTargets(false);
        }
        Wrapper wrapper = Tomcat.addServlet(context, "app", servlet);
        wrapper.setAsyncSupported(true);
        wrapper.addMapping("/*");
        FilterDef def = new FilterDef();
        def.setFilterName("latchkey");
        if (filter != null) {
            def.setFilter(filter);
        }
        def.setFilterClass(LatchkeyFilter.class.getName());
        def.setAsyncSupported("true");
        initParams.forEach(def::addInitParameter);
        context.addFilterDef(def);
        FilterMap map = new FilterMap();
        map.setFilterName("latchkey");
        map.addURLPattern("/*");
        map.setDispatcher("REQUEST");
        map.setDispatcher("ASYNC");
        map.setDispatcher("ERROR");
        context.addFilterMap(map);
        for (int status : new int[] {500, 503}) {
            ErrorPage page = new ErrorPage();
            page.setErrorCode(status);
            page.setLocation("/errorpage");
            context.addErrorPage(page);
        }
        tomcat.start();
        return URI.create("http://127.0.0.1:" + tomcat.getConnector().getLocalPort() + "/app/");
    }

    @Override
    public void close() throws Exception {
        if (tomcat != null) {
            tomcat.stop();
            tomcat.destroy();
        }
    }
}
