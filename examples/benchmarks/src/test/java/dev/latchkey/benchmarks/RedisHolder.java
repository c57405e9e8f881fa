package dev.latchkey.benchmarks;

import java.nio.file.Path;

/**
 * A JVM that starts a {@link RedisServer} in {@code args[0]}, prints {@code READY} and the pids of
 * every process under it, and waits to be killed: for {@link RedisServerTest}.
 */
public final class RedisHolder {
    private RedisHolder() {
    }

    /**
     * Starts the server and waits.
     * @param args the server's working directory
     * @throws Exception if the server does not start
     */
    public static void main(String[] args) throws Exception {
        RedisServer server = RedisServer.start(RedisServer.executable().orElseThrow(),
                Path.of(args[0]));
        StringBuilder pids = new StringBuilder();
        ProcessHandle.current().descendants().forEach(p -> pids.append(' ').append(p.pid()));
        System.out.println("READY " + server.address() + pids);
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}
