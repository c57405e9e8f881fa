package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The redis-server the harness starts itself never outlives the harness's JVM. */
final class RedisServerTest {

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void sigkillOfTheHarness_stopsItsRedisServer(@TempDir Path tmp) throws Exception {
        assumeTrue(RedisServer.executable().isPresent(), "redis-server is not on the PATH");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin",
                "java").toString(), "-cp", System.getProperty("java.class.path"),
                RedisHolder.class.getName(), tmp.resolve("redis").toString())
                .redirectError(ProcessBuilder.Redirect.INHERIT).start();
        List<ProcessHandle> under = new ArrayList<>();
        try {
            BufferedReader in = new BufferedReader(new InputStreamReader(holder.getInputStream(),
                    StandardCharsets.UTF_8));
            String ready = in.readLine();
            assertTrue(ready != null && ready.startsWith("READY "), "" + ready);
            String[] f = ready.split(" ");
            for (int i = 2; i < f.length; i++) {
                ProcessHandle.of(Long.parseLong(f[i])).ifPresent(under::add);
            }
            assertTrue(under.stream().anyMatch(p -> command(p).contains("redis-server")), ready);
            holder.destroyForcibly(); // SIGKILL: no hook, no finally
            assertTrue(holder.waitFor(10, TimeUnit.SECONDS));
            for (ProcessHandle p : under) {
                p.onExit().get(20, TimeUnit.SECONDS);
                assertFalse(p.isAlive(), "still running: " + p.pid());
            }
        } finally {
            under.forEach(ProcessHandle::destroyForcibly);
            holder.destroyForcibly();
        }
    }

    /** The command line from /proc (redis-server's executable is a link to redis-check-rdb). */
    private static String command(ProcessHandle p) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(p.pid()),
                    "cmdline")), StandardCharsets.UTF_8).replace('\0', ' ');
        } catch (IOException e) {
            return "?";
        }
    }
}
