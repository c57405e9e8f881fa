package dev.latchkey.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * The W worker JVMs of one run, all on one port. {@link #close()} stops them all (close their
 * standard input, wait, then kill), and a shutdown hook kills any still running if the demo itself
 * is interrupted, so no process and no port outlives the demo. A worker also stops by itself when
 * its standard input closes, which covers a demo killed with SIGKILL.
 *
 * <p>Each run has a random token that every worker sends back in the {@value #TOKEN_HEADER}
 * header of every answer, so that the load driver can tell this run's workers from any other
 * listener that shares the port with {@code SO_REUSEPORT}.
 */
final class WorkerProcesses implements AutoCloseable {
    private static final Set<Process> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            for (Process p : LIVE) {
                p.destroyForcibly();
            }
        }, "latchkey-demo-workers-cleanup"));
    }

    /**
     * Kills every worker still running, of any run, and waits up to {@code timeout} for them to be
     * gone (for a shutdown hook that then deletes the directory they used).
     */
    static void killAllAndWait(Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Process p : LIVE) {
            p.destroyForcibly();
        }
        for (Process p : LIVE) {
            try {
                p.waitFor(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** How long {@link #start} waits for each worker's {@code READY} line by default. */
    static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** The response header in which every worker of a run echoes the run's token. */
    static final String TOKEN_HEADER = "X-Latchkey-Demo-Run";
    private static final int STDERR_LINES_KEPT = 8;
    private static final Pattern STACK_FRAME = Pattern.compile("\\s+(at |\\.\\.\\. \\d+ more)");

    private final List<Process> processes = new ArrayList<>();
    private final List<Thread> stderrPumps = new ArrayList<>();
    private final List<Deque<String>> stderrTails = new ArrayList<>();
    private final int port;
    private final String token;

    private WorkerProcesses(int port, String token) {
        this.port = port;
        this.token = token;
    }

    /**
     * Starts the workers and waits until each listens, at most {@link #READY_TIMEOUT} each.
     *
     * @param port the shared port, or 0 for a free one
     * @throws IOException if {@code port} is taken, or a worker did not start (with its error)
     */
    static WorkerProcesses start(int workers, int port, String store, Path sessions,
            Path databases, String mode) throws IOException {
        return start(workers, port, store, sessions, databases, mode, READY_TIMEOUT,
                FlashcardWorker.class.getName());
    }

    /**
     * Starts the workers ({@code mainClass} with {@link FlashcardWorker}'s arguments) and waits
     * up to {@code readyTimeout} for each one's {@code READY} line.
     */
    static WorkerProcesses start(int workers, int port, String store, Path sessions,
            Path databases, String mode, Duration readyTimeout, String mainClass)
            throws IOException {
        if (port != 0) {
            requireFree(port);
        }
        int chosen = port != 0 ? port : freePort();
        WorkerProcesses all = new WorkerProcesses(chosen, newToken());
        try {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            for (int w = 0; w < workers; w++) {
                Process p = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC",
                        "-XX:TieredStopAtLevel=1",
                        "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        "-cp", System.getProperty("java.class.path"),
                        mainClass, store, Integer.toString(chosen),
                        sessions.toString(), databases.toString(), Integer.toString(w), mode,
                        all.token).start();
                LIVE.add(p);
                all.processes.add(p);
                all.pumpStderr(w, p);
            }
            for (int w = 0; w < all.processes.size(); w++) {
                all.awaitReady(w, readyTimeout);
            }
            return all;
        } catch (IOException | RuntimeException e) {
            all.close();
            throw e;
        }
    }

    /**
     * Fails if something listens on {@code port} already: a plain bind, without
     * {@code SO_REUSEPORT}, fails even when the other listener set it (another demo on the same
     * port, any server with {@code SO_REUSEPORT}), where the workers' own binds would succeed
     * and the kernel would hand some connections to that other listener.
     */
    static void requireFree(int port) throws IOException {
        try (ServerSocket probe = new ServerSocket()) {
            probe.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
        } catch (IOException e) {
            throw new IOException("port " + port + " is taken (" + e.getMessage() + "): another"
                    + " process listens on it, maybe a second demo run with the same --port;"
                    + " choose another --port or leave it out for a free one", e);
        }
    }

    private static String newToken() {
        byte[] bytes = new byte[16];
        new SecureRandom().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    /** Copies a worker's standard error to ours, keeping its last lines for error messages. */
    private void pumpStderr(int worker, Process p) {
        Deque<String> tail = new ArrayDeque<>();
        stderrTails.add(tail);
        Thread pump = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(p.getErrorStream(),
                    StandardCharsets.UTF_8))) {
                for (String line; (line = in.readLine()) != null; ) {
                    System.err.println(line);
                    if (STACK_FRAME.matcher(line).lookingAt()) {
                        continue; // keep the messages (exception, causes), not the frames
                    }
                    synchronized (tail) {
                        tail.addLast(line);
                        if (tail.size() > STDERR_LINES_KEPT) {
                            tail.removeFirst();
                        }
                    }
                }
            } catch (IOException ignored) {
                // the worker is gone
            }
        }, "latchkey-demo-worker-" + worker + "-stderr");
        pump.setDaemon(true);
        stderrPumps.add(pump);
        pump.start();
    }

    /** Waits for worker {@code w}'s {@code READY} line; on failure says why, with its stderr. */
    private void awaitReady(int w, Duration timeout) throws IOException {
        Process p = processes.get(w);
        CompletableFuture<String> first = new CompletableFuture<>();
        Thread reader = new Thread(() -> {
            try {
                first.complete(new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8)).readLine());
            } catch (IOException e) {
                first.completeExceptionally(e);
            }
        }, "latchkey-demo-worker-" + w + "-ready");
        reader.setDaemon(true);
        reader.start();
        String line;
        try {
            line = first.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IOException("worker " + w + " (pid " + p.pid() + ") did not start: no READY"
                    + " within " + timeout.toSeconds() + " s" + stderrTail(w, false));
        } catch (ExecutionException e) {
            throw new IOException("worker " + w + " (pid " + p.pid() + ") did not start: "
                    + e.getCause() + stderrTail(w, true), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while waiting for worker " + w + " to start", e);
        }
        if (line == null || !line.startsWith("READY")) {
            throw new IOException("worker " + w + " (pid " + p.pid() + ") did not start on port "
                    + port + (line == null ? "" : ", it printed " + line) + stderrTail(w, true));
        }
    }

    /**
     * The last lines worker {@code w} wrote on its standard error, for a message; if it is
     * ending, waits (briefly) for it to exit and for those lines to be read.
     */
    private String stderrTail(int w, boolean ending) {
        Process p = processes.get(w);
        String exit = "";
        try {
            if (ending && p.waitFor(10, TimeUnit.SECONDS)) {
                stderrPumps.get(w).join(TimeUnit.SECONDS.toMillis(5));
                exit = " (exit status " + p.exitValue() + ")";
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        List<String> lines;
        Deque<String> tail = stderrTails.get(w);
        synchronized (tail) {
            lines = List.copyOf(tail);
        }
        return exit + (lines.isEmpty() ? "; it wrote nothing on standard error"
                : "; its last messages on standard error (stack frames left out): " + String.join(" | ", lines));
    }

    /** The run's token, which every worker sends in the {@link #TOKEN_HEADER} of each answer. */
    String token() {
        return token;
    }

    int port() {
        return port;
    }

    List<ProcessHandle> handles() {
        return processes.stream().map(Process::toHandle).toList();
    }

    /**
     * Checks that every worker still runs.
     *
     * @throws IOException naming the first worker that exited, and its exit status
     */
    void requireAllAlive() throws IOException {
        for (int w = 0; w < processes.size(); w++) {
            Process p = processes.get(w);
            if (!p.isAlive()) {
                throw new IOException("worker " + w + " (pid " + p.pid() + ") died during the run"
                        + " (exit status " + p.exitValue() + "): the results are not meaningful");
            }
        }
    }

    /** Stops every worker: closes standard input, waits up to 5 s, then kills. */
    @Override
    public void close() {
        for (Process p : processes) {
            try {
                p.getOutputStream().close();
            } catch (IOException ignored) {
                // already gone
            }
        }
        for (Process p : processes) {
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    p.waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            } finally {
                if (!p.isAlive()) {
                    LIVE.remove(p);
                }
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return probe.getLocalPort();
        }
    }
}
