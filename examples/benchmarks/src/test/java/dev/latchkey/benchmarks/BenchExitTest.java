package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The harness's exit status: 3 for its own trouble, never 1 (which says Latchkey failed). */
final class BenchExitTest {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int execute(String... args) {
        return Bench.execute(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    private String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    @Test
    void aFailedJmhTrial_isLatchkeysFailureOnlyWhenLatchkeysRequestCheckFailed(@TempDir Path tmp)
            throws Exception {
        Path log = tmp.resolve("jmh.log");
        Files.writeString(log, "# Benchmark: ...\n<failure>\n\njava.lang.IllegalStateException: "
                + RequestBenchmark.CHECK_FAILED + "latchkey: session 0 of 1 got 3 requests\n"
                + "\tat dev.latchkey.benchmarks.RequestBenchmark.checkRequests\n");
        RuntimeException e = Bench.jmhFailure("workload 1", log, new Exception("JMH"));
        assertTrue(e instanceof Bench.LatchkeyFailedException, e.toString());
        assertEquals("workload 1: " + RequestBenchmark.CHECK_FAILED + "latchkey: session 0 of 1 "
                + "got 3 requests", e.getMessage());
        Files.writeString(log, "java.lang.IllegalStateException: " + RequestBenchmark.CHECK_FAILED
                + "tomcat: session 0 of 1 got 3 requests\n");
        e = Bench.jmhFailure("workload 1", log, new Exception("JMH"));
        assertTrue(!(e instanceof Bench.LatchkeyFailedException), e.toString());
        assertTrue(e.getMessage().contains("last lines of " + log + ":\n    java.lang"),
                e.getMessage());
    }

    @Test
    void badFlag_is2() {
        assertEquals(2, execute("--workloads=9"));
        assertTrue(err().contains("--workloads takes numbers"), err());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aDirThatIsAFile_is3WithTheCause(@TempDir Path tmp) throws Exception {
        Path file = Files.write(tmp.resolve("file"), new byte[0]);
        assertEquals(3, execute("--smoke", "--workloads=5", "--redis=none", "--dir=" + file));
        assertTrue(err().startsWith("bench: HARNESS ERROR (exit status 3"), err());
        assertTrue(err().contains(file.toString()), err());
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aRedisWhereNothingListens_is3AtOnce() throws Exception {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        assertEquals(3, execute("--smoke", "--workloads=5", "--redis=127.0.0.1:" + port));
        assertTrue(err().contains("--redis=127.0.0.1:" + port + ": cannot PING it"), err());
        assertEquals("", out.toString(StandardCharsets.UTF_8));
    }

    @Test
    @Timeout(value = 30, unit = TimeUnit.SECONDS)
    void aRedisThatNeverAnswers_is3Within2Seconds() throws Exception {
        try (ServerSocket silent = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            long t0 = System.nanoTime();
            assertEquals(3, execute("--smoke", "--workloads=5",
                    "--redis=127.0.0.1:" + silent.getLocalPort()));
            assertTrue(err().contains("no answer to PING within 2 s"), err());
            assertTrue(System.nanoTime() - t0 < 15_000_000_000L, "took too long");
        }
    }
}
