package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * SIGTERM, SIGINT, SIGHUP and SIGKILL to {@code bench.sh} while workload 3 runs (the harness JVM,
 * three worker JVMs and, where redis-server is installed, the Redis the script started): the
 * script exits at once with 143, 130, 129 or 137, every process under it is gone (after SIGKILL:
 * stopped by the script's watchdog), and both temporary directories (the script's and the
 * harness's) are deleted. The script runs the harness from the test class path
 * ({@code LATCHKEY_BENCH_CLASSPATH}), so nothing is built.
 */
final class BenchShutdownTest {
    private static final Path SCRIPT = Path.of("bench.sh").toAbsolutePath();
    /**
     * The script starts under {@code env --default-signal}: a shell cannot trap a signal that was
     * ignored when it started, and a test run started in the background ({@code cmd &} ignores
     * SIGINT) or under {@code nohup} (SIGHUP) hands that down to every process it starts.
     */
    private static List<String> withDefaultSignals(String... command) {
        List<String> all = new ArrayList<>(List.of("env", "--default-signal=INT,HUP,TERM"));
        all.addAll(List.of(command));
        return all;
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void benchSh_sigterm_stopsEveryProcessAndDeletesTheTemporaryDirectories(@TempDir Path tmp)
            throws Exception {
        signalDuringContention(tmp, "TERM", 143);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void benchSh_sigint_stopsEveryProcessAndDeletesTheTemporaryDirectories(@TempDir Path tmp)
            throws Exception {
        signalDuringContention(tmp, "INT", 130);
    }

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void benchSh_sighup_stopsEveryProcessAndDeletesTheTemporaryDirectories(@TempDir Path tmp)
            throws Exception {
        signalDuringContention(tmp, "HUP", 129);
    }

    /** SIGKILL of the script: its watchdog stops the harness and Redis and deletes its directory. */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void benchSh_sigkill_leavesAWatchdogThatStopsEveryProcessAndDeletesTheDirectories(
            @TempDir Path tmp) throws Exception {
        signalDuringContention(tmp, "KILL", 137);
    }

    /**
     * SIGKILL of the harness JVM: nothing of it can clean up, but the script deletes its own
     * directory, the harness's temporary files included, and stops its Redis; the workers end
     * when their standard input closes.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void harnessSigkill_underBenchSh_leavesNothingInTmpdir(@TempDir Path tmp) throws Exception {
        signalDuringContention(tmp, "KILL-HARNESS", 137);
    }

    /**
     * SIGTERM while the script's output goes to a pipe whose reader has gone ({@code bench.sh
     * 2>&1 | head}): the script's own message would raise SIGPIPE; it still stops the harness
     * first and exits 143, not 141, leaving nothing behind.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void benchSh_sigtermWithOutputOnAClosedPipe_stopsEverythingAndExits143(@TempDir Path tmp,
            @TempDir Path side) throws Exception {
        Path status = side.resolve("status");
        // the reader reads until workload 3 starts, then goes: the pipe is closed from then on
        String shell = "{ bash \"$0\" --smoke --workloads=3; echo $? > \"$1\"; } 2>&1 | "
                + "while IFS= read -r line; do case \"$line\" in 'workload 3, contention'*) "
                + "break;; esac; done";
        ProcessBuilder pb = new ProcessBuilder(withDefaultSignals("bash", "-c", shell,
                SCRIPT.toString(), status.toString())).redirectErrorStream(true);
        pb.environment().put("LATCHKEY_BENCH_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("TMPDIR", tmp.toString());
        Process wrapper = pb.start();
        StringBuilder none = new StringBuilder();
        try {
            List<ProcessHandle> under = waitForWorkers(wrapper, none);
            ProcessHandle script = under.stream()
                    .filter(p -> command(p).startsWith("bash " + SCRIPT))
                    .findFirst().orElseThrow(() -> new AssertionError("no bench.sh: "
                            + describe(under)));
            new ProcessBuilder("kill", "-TERM", Long.toString(script.pid())).inheritIO()
                    .start().waitFor(10, TimeUnit.SECONDS);
            assertTrue(wrapper.waitFor(60, TimeUnit.SECONDS), "bench.sh did not end");
            assertEquals("143", Files.readString(status).strip(), "bench.sh's exit status");
            for (ProcessHandle p : under) {
                p.onExit().get(30, TimeUnit.SECONDS);
                assertFalse(p.isAlive(), "still running: " + p.pid() + " " + command(p));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && !isEmpty(tmp)) {
                Thread.sleep(50);
            }
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(List.of(), left.collect(Collectors.toList()), "left in TMPDIR");
            }
        } finally {
            wrapper.descendants().forEach(ProcessHandle::destroyForcibly);
            wrapper.destroyForcibly();
        }
    }

    private static void signalDuringContention(Path tmp, String signal, int status)
            throws Exception {
        ProcessBuilder pb = new ProcessBuilder(withDefaultSignals("bash", SCRIPT.toString(),
                "--smoke", "--workloads=3")).redirectErrorStream(true);
        pb.environment().put("LATCHKEY_BENCH_CLASSPATH", System.getProperty("java.class.path"));
        pb.environment().put("TMPDIR", tmp.toString());
        Process bench = pb.start();
        StringBuffer output = new StringBuffer();
        CountDownLatch contending = new CountDownLatch(1);
        Thread reader = new Thread(() -> {
            try (BufferedReader in = new BufferedReader(new InputStreamReader(
                    bench.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = in.readLine()) != null) {
                    output.append(line).append('\n');
                    if (line.startsWith("workload 3, contention")) {
                        contending.countDown();
                    }
                }
            } catch (IOException e) {
                output.append("(reading failed: ").append(e).append(")\n");
            }
        }, "bench-output");
        reader.setDaemon(true);
        reader.start();
        try {
            assertTrue(contending.await(90, TimeUnit.SECONDS), "workload 3 never started:\n"
                    + output);
            List<ProcessHandle> under = waitForWorkers(bench, output);
            boolean redis = RedisServer.executable().isPresent();
            if (redis) {
                assertTrue(under.stream().anyMatch(p -> command(p).contains("redis-server")),
                        "no redis-server under bench.sh: " + describe(under) + "\n" + output);
            }
            long target = bench.pid();
            String sent = signal;
            if (signal.equals("KILL-HARNESS")) {
                sent = "KILL";
                target = under.stream().filter(p -> command(p).contains(Bench.class.getName()
                        + " ")).findFirst().orElseThrow(() -> new AssertionError("no harness "
                        + "JVM: " + describe(under))).pid();
            }
            new ProcessBuilder("kill", "-" + sent, Long.toString(target)).inheritIO()
                    .start().waitFor(10, TimeUnit.SECONDS);
            // the script gives the harness 20 s before SIGKILL; it should need far less
            assertTrue(bench.waitFor(30, TimeUnit.SECONDS), "bench.sh still runs 30 s after SIG"
                    + signal + "\n" + output);
            assertEquals(status, bench.exitValue(), output.toString());
            for (ProcessHandle p : under) {
                // after SIGKILL the watchdog gives the harness SIGTERM: its hook needs a moment
                p.onExit().get(30, TimeUnit.SECONDS);
                assertFalse(p.isAlive(), "still running: " + p.pid() + " " + command(p));
            }
            reader.join(10_000);
            // the watchdog deletes the script's directory after Redis has ended
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline && !isEmpty(tmp)) {
                Thread.sleep(50);
            }
            try (Stream<Path> left = Files.list(tmp)) {
                assertEquals(List.of(), left.collect(Collectors.toList()), "left behind in "
                        + "TMPDIR\n" + output);
            }
        } finally {
            bench.descendants().forEach(ProcessHandle::destroyForcibly);
            bench.destroyForcibly();
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> left = Files.list(dir)) {
            return left.findAny().isEmpty();
        }
    }

    /** Every process under bench.sh, once the three worker JVMs of workload 3 are among them. */
    private static List<ProcessHandle> waitForWorkers(Process bench, CharSequence output)
            throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        List<ProcessHandle> under = List.of();
        while (System.nanoTime() < deadline) {
            under = bench.descendants().collect(Collectors.toList());
            long workers = under.stream()
                    .filter(p -> command(p).contains(ContentionWorker.class.getName())).count();
            if (workers == 3) {
                return new ArrayList<>(under);
            }
            Thread.sleep(50);
        }
        throw new AssertionError("the three worker JVMs did not start: " + describe(under) + "\n"
                + output);
    }

    /** The command line from /proc (ProcessHandle.Info leaves out long ones, as the JVMs' are). */
    private static String command(ProcessHandle p) {
        try {
            byte[] cmdline = Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()), "cmdline"));
            return new String(cmdline, StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return p.info().command().orElse("?");
        }
    }

    private static String describe(List<ProcessHandle> processes) {
        return processes.stream().map(p -> p.pid() + " " + command(p).replaceAll("-cp \\S+", "-cp …"))
                .collect(Collectors.joining("; "));
    }
}
