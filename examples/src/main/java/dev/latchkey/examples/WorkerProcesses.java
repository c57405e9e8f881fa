package dev.latchkey.examples;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * The W worker JVMs of one run, all on one port. {@link #close()} stops them all (close their
 * standard input, wait, then kill), and a shutdown hook kills any still running if the demo itself
 * is interrupted, so no process and no port outlives the demo. A worker also stops by itself when
 * its standard input closes, which covers a demo killed with SIGKILL.
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

    private final List<Process> processes = new ArrayList<>();
    private final int port;

    private WorkerProcesses(int port) {
        this.port = port;
    }

    /**
     * Starts the workers and waits until each listens.
     *
     * @param port the shared port, or 0 for a free one
     */
    static WorkerProcesses start(int workers, int port, String store, Path sessions,
            Path databases, String mode) throws IOException {
        int chosen = port != 0 ? port : freePort();
        WorkerProcesses all = new WorkerProcesses(chosen);
        try {
            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            for (int w = 0; w < workers; w++) {
                Process p = new ProcessBuilder(java, "-Xmx256m", "-XX:+UseSerialGC",
                        "-XX:TieredStopAtLevel=1",
                        "-Djava.io.tmpdir=" + System.getProperty("java.io.tmpdir"),
                        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                        "-cp", System.getProperty("java.class.path"),
                        FlashcardWorker.class.getName(), store, Integer.toString(chosen),
                        sessions.toString(), databases.toString(), Integer.toString(w), mode)
                        .redirectError(ProcessBuilder.Redirect.INHERIT).start();
                LIVE.add(p);
                all.processes.add(p);
            }
            for (Process p : all.processes) {
                String line = new BufferedReader(new InputStreamReader(p.getInputStream(),
                        StandardCharsets.UTF_8)).readLine();
                if (line == null || !line.startsWith("READY")) {
                    throw new IOException("a worker did not start (port " + chosen + " taken?): "
                            + line);
                }
            }
            return all;
        } catch (IOException | RuntimeException e) {
            all.close();
            throw e;
        }
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
