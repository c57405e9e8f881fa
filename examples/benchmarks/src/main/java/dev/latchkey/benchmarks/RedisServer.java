package dev.latchkey.benchmarks;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * A {@code redis-server} this harness starts for itself when none is given: on a free loopback
 * port, persistence off, its working directory under the run's directory. {@link #close()} stops
 * it, a shutdown hook kills it if the harness is interrupted, and a shell around it stops it when
 * the harness's JVM is gone however it went (its standard input, a pipe from the JVM, closes).
 */
final class RedisServer implements AutoCloseable {
    /**
     * Runs the server ($0 with the arguments), stops it when standard input ends, and ends with
     * it: {@code sh -c GUARD redis-server args...}.
     */
    private static final String GUARD = "exec 3<&0; \"$0\" \"$@\" </dev/null 3<&- & r=$!; "
            + "{ read -r x <&3; kill \"$r\" 2>/dev/null; } & exec 3<&-; wait \"$r\"";

    private final Process process;
    private final int port;
    private final Thread hook;

    private RedisServer(Process process, int port) {
        this.process = process;
        this.port = port;
        this.hook = new Thread(() -> {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
        }, "redis-server-cleanup");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** The {@code redis-server} executable on the PATH, if there is one. */
    static Optional<Path> executable() {
        String path = System.getenv("PATH");
        if (path == null) {
            return Optional.empty();
        }
        for (String dir : path.split(File.pathSeparator)) {
            Path candidate = Path.of(dir.isEmpty() ? "." : dir, "redis-server");
            if (Files.isExecutable(candidate)) {
                return Optional.of(candidate);
            }
        }
        return Optional.empty();
    }

    /** Starts a server and waits until it answers PING (at most 20 s). */
    static RedisServer start(Path executable, Path workDir) throws IOException {
        Files.createDirectories(workDir);
        IOException last = null;
        for (int attempt = 0; attempt < 5; attempt++) {
            int port = freePort();
            // under a shell that stops the server when its standard input (a pipe from this JVM)
            // closes: at close(), and when this JVM dies however it died (kill -9 too)
            Process p = new ProcessBuilder("sh", "-c", GUARD, executable.toString(),
                    "--port", Integer.toString(port),
                    "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                    "--dir", workDir.toAbsolutePath().toString(), "--daemonize", "no",
                    "--loglevel", "warning")
                    .redirectErrorStream(true)
                    .redirectOutput(workDir.resolve("redis-" + port + ".log").toFile())
                    .start();
            RedisServer server = new RedisServer(p, port);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (System.nanoTime() < deadline && p.isAlive()) {
                if (server.ping()) {
                    return server;
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    server.close();
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while starting redis-server", e);
                }
            }
            server.close();
            last = new IOException("redis-server did not answer on port " + port
                    + " (see " + workDir.resolve("redis-" + port + ".log") + ")");
        }
        throw last;
    }

    /** {@code 127.0.0.1:port}. */
    String address() {
        return "127.0.0.1:" + port;
    }

    /**
     * Checks that the Redis at {@code host:port} answers PING within 2 s (connect and reply), so
     * that a wrong --redis stops the run at once rather than after a minute's hang.
     * @throws IllegalStateException saying what failed and what to do
     */
    static void check(String hostPort) {
        int colon = hostPort.lastIndexOf(':');
        String host = hostPort.substring(0, colon);
        int port = Integer.parseInt(hostPort.substring(colon + 1));
        String what = "--redis=" + hostPort + ": ";
        String fix = " (start Redis there, pass another --redis=HOST:PORT, or --redis=none)";
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 2000);
            s.setSoTimeout(2000);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            byte[] reply = new byte[64];
            int n = s.getInputStream().read(reply);
            String got = n <= 0 ? "" : new String(reply, 0, n, StandardCharsets.US_ASCII).trim();
            if (!got.startsWith("+PONG")) {
                throw new IllegalStateException(what + "PING was answered '" + got
                        + "', not +PONG" + fix);
            }
        } catch (java.net.SocketTimeoutException e) {
            throw new IllegalStateException(what + "no answer to PING within 2 s" + fix, e);
        } catch (IOException e) {
            throw new IllegalStateException(what + "cannot PING it: " + e + fix, e);
        }
    }

    private boolean ping() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 500);
            s.setSoTimeout(1000);
            OutputStream out = s.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] reply = new byte[7];
            int n = in.read(reply);
            return n > 0 && new String(reply, 0, n, StandardCharsets.US_ASCII).startsWith("+PONG");
        } catch (IOException e) {
            return false;
        }
    }

    @Override
    public void close() {
        try {
            process.getOutputStream().close(); // the guard stops the server
        } catch (IOException e) {
            process.descendants().forEach(ProcessHandle::destroy);
        }
        try {
            if (!process.waitFor(5, TimeUnit.SECONDS)) {
                process.descendants().forEach(ProcessHandle::destroyForcibly);
                process.destroyForcibly();
                process.waitFor(5, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            process.descendants().forEach(ProcessHandle::destroyForcibly);
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        try {
            Runtime.getRuntime().removeShutdownHook(hook);
        } catch (IllegalStateException e) {
            // shutting down already: the hook runs anyway
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }
}
