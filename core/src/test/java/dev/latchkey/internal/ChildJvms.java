package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * The shared fixture of the multi-process tests: starts {@link ChildWorker} JVMs on the test
 * classpath, holds them at a READY/GO barrier, collects their output and kills whatever is left.
 *
 * <p>Use it in try-with-resources: {@link #close()} kills every child still alive, so no process
 * outlives a failing test. Children also exit on their own when their stdin closes, so a crashed
 * test JVM leaves no orphans behind either.
 *
 * <p>Protocol of a child (see {@link ChildWorker}): it prints {@code READY} when it has opened the
 * store and warmed up, waits for a {@code GO} line on stdin, works, prints {@code RESULT name value}
 * lines and exits 0. JVM start-up skew (most of a second) is longer than the contended work, so
 * without the barrier the children would simply run one after another.
 *
 * <p>Not thread-safe: one test thread drives it.
 */
final class ChildJvms implements AutoCloseable {
    /** How long a child may take to start (several JVMs on a loaded 2-core machine). */
    static final Duration START_TIMEOUT = Duration.ofSeconds(60);
    /** How long a child may take to finish its work after GO. */
    static final Duration WORK_TIMEOUT = Duration.ofSeconds(60);

    private static final String JAVA = System.getProperty("java.home") + "/bin/java";
    private final List<Child> children = new ArrayList<>();

    /**
     * Starts a child JVM running {@code ChildWorker mode args...}.
     *
     * @param name a label for messages
     * @param mode the worker mode
     * @param args the mode's arguments
     * @return the running child
     */
    Child start(String name, String mode, Object... args) {
        List<String> command = new ArrayList<>(List.of(JAVA,
                "-cp", System.getProperty("java.class.path"),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx64m",
                "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
                ChildWorker.class.getName(), mode));
        for (Object arg : args) {
            command.add(String.valueOf(arg));
        }
        try {
            Process process = new ProcessBuilder(command).start();
            Child child = new Child(name, process);
            children.add(child);
            return child;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start " + command, e);
        }
    }

    /** Waits until every child started so far has printed READY. */
    void awaitAllReady() {
        for (Child child : children) {
            child.awaitLine(ChildWorker.READY, START_TIMEOUT);
        }
    }

    /** Releases every child that waits at the barrier, all at (nearly) the same instant. */
    void goAll() {
        for (Child child : children) {
            child.go();
        }
    }

    /** Waits until every child started so far has exited 0, and returns their results. */
    List<Map<String, String>> awaitAllSucceeded() {
        List<Map<String, String>> results = new ArrayList<>();
        for (Child child : children) {
            results.add(child.awaitSuccess(WORK_TIMEOUT));
        }
        return results;
    }

    /** Kills every child still alive and waits for it to be gone. */
    @Override
    public void close() {
        for (Child child : children) {
            child.process.destroyForcibly();
        }
        for (Child child : children) {
            try {
                if (!child.process.waitFor(10, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("child " + child.name + " survived kill -9");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
    }

    /** One child JVM and what it printed. */
    static final class Child {
        private static final String EOF = "\u0000EOF";

        final String name;
        final Process process;
        private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        private final List<String> stdout = Collections.synchronizedList(new ArrayList<>());
        private final StringBuffer stderr = new StringBuffer();
        private final Thread outReader;
        private final Thread errReader;

        private Child(String name, Process process) {
            this.name = name;
            this.process = process;
            this.outReader = drain(process.getInputStream(), line -> {
                stdout.add(line);
                lines.add(line);
            }, () -> lines.add(EOF));
            this.errReader = drain(process.getErrorStream(),
                    line -> stderr.append(line).append('\n'), () -> { });
        }

        private Thread drain(InputStream in, java.util.function.Consumer<String> sink,
                Runnable atEnd) {
            Thread thread = new Thread(() -> {
                try (BufferedReader reader = new BufferedReader(
                        new InputStreamReader(in, StandardCharsets.UTF_8))) {
                    for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                        sink.accept(line);
                    }
                } catch (IOException e) {
                    // the process died: what we have is what it said
                } finally {
                    atEnd.run();
                }
            }, "child-" + name + "-drain");
            thread.setDaemon(true);
            thread.start();
            return thread;
        }

        /** Waits for a line equal to {@code expected}; fails with the child's output otherwise. */
        void awaitLine(String expected, Duration timeout) {
            long deadline = System.nanoTime() + timeout.toNanos();
            try {
                while (true) {
                    long left = deadline - System.nanoTime();
                    String line = lines.poll(Math.max(left, 0), TimeUnit.NANOSECONDS);
                    if (line == null) {
                        fail("child " + name + " did not print " + expected + " within " + timeout
                                + describe());
                    }
                    if (line.equals(EOF)) {
                        lines.add(EOF);
                        fail("child " + name + " ended before printing " + expected + describe());
                    }
                    if (line.equals(expected)) {
                        return;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }

        /** Sends GO: the child starts its contended work. */
        void go() {
            send(ChildWorker.GO);
        }

        /** Sends one line to the child's stdin. */
        void send(String line) {
            try {
                OutputStream in = process.getOutputStream();
                in.write((line + "\n").getBytes(StandardCharsets.UTF_8));
                in.flush();
            } catch (IOException e) {
                fail("cannot talk to child " + name + ": " + e + describe());
            }
        }

        /**
         * Sends SIGKILL, without waiting. Through the {@link ProcessHandle}, not
         * {@link Process#destroyForcibly()}: that one also closes our end of the child's stdout,
         * which throws away whatever the child wrote and we had not read yet (the last
         * acknowledgements before a kill, exactly the lines a crash test needs).
         */
        void signalKill() {
            process.toHandle().destroyForcibly();
        }

        /** Kills the child with SIGKILL and waits until it is gone; its output stays readable. */
        void killHard() {
            signalKill();
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    fail("child " + name + " survived kill -9");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
        }

        /** Fails, with the child's output, if it has exited (on its own: it was not killed). */
        void assertAlive() {
            if (!process.isAlive()) {
                fail("child " + name + " exited by itself with code " + process.exitValue()
                        + describe());
            }
        }

        /**
         * Returns every line the child printed on stdout, once it has exited (killed or not) and
         * its output is read to the end.
         */
        List<String> stdoutAfterExit(Duration timeout) {
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    fail("child " + name + " did not exit within " + timeout + describe());
                }
                outReader.join(timeout.toMillis());
                if (outReader.isAlive()) {
                    fail("the stdout of child " + name + " did not end within " + timeout);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            synchronized (stdout) {
                return new ArrayList<>(stdout);
            }
        }

        /**
         * Waits for the child to exit 0 and returns its {@code RESULT name value} lines as a map.
         */
        Map<String, String> awaitSuccess(Duration timeout) {
            try {
                if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    fail("child " + name + " did not finish within " + timeout + describe());
                }
                outReader.join(TimeUnit.SECONDS.toMillis(10));
                errReader.join(TimeUnit.SECONDS.toMillis(10));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            }
            assertEquals(0, process.exitValue(), () -> "exit code of child " + name + describe());
            Map<String, String> results = new HashMap<>();
            synchronized (stdout) {
                for (String line : stdout) {
                    if (line.startsWith(ChildWorker.RESULT)) {
                        String[] parts = line.split(" ", 3);
                        results.put(parts[1], parts.length > 2 ? parts[2] : "");
                    }
                }
            }
            return results;
        }

        private String describe() {
            synchronized (stdout) {
                return "\n--- stdout of " + name + ":\n" + String.join("\n", stdout)
                        + "\n--- stderr of " + name + ":\n" + stderr;
            }
        }
    }
}
