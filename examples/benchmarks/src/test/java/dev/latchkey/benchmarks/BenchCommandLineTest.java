package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The harness's and bench.sh's flags: parsing, --help, and exit status 2 for a bad flag. */
final class BenchCommandLineTest {
    private static final Path SCRIPT = Path.of("bench.sh").toAbsolutePath();

    @Test
    void parse_everyFlagOfTheUsage() {
        Bench.Options o = Bench.Options.parse("--quick", "--dir=/tmp/x", "--redis=localhost:6379",
                "--redis-owned", "--workloads=3,5", "--profile");
        assertEquals(Bench.Mode.QUICK, o.mode);
        assertEquals(Path.of("/tmp/x"), o.dir);
        assertEquals("localhost:6379", o.redis);
        assertTrue(o.redisOwned && o.profile && !o.help);
        assertEquals(List.of(3, 5), List.copyOf(o.workloads));
        assertEquals(Bench.Mode.LONG, Bench.Options.parse("--long").mode);
        assertEquals(Bench.Mode.SMOKE, Bench.Options.parse("--smoke").mode);
        assertEquals("none", Bench.Options.parse("--redis=none").redis);
        assertTrue(Bench.Options.parse("--help").help);
        assertTrue(Bench.Options.parse("-h").help);
        Bench.Options defaults = Bench.Options.parse();
        assertEquals(Bench.Mode.FULL, defaults.mode);
        assertEquals(List.of(1, 2, 3, 4), List.copyOf(defaults.workloads));
        assertEquals("auto", defaults.redis);
    }

    @Test
    void parse_badFlags_throwWithTheReason() {
        for (String[] bad : new String[][] {{"--fast"}, {"quick"}, {"--quick=1"}, {"--dir"},
            {"--dir="}, {"--workloads=0"}, {"--workloads=6"}, {"--workloads=1,x"},
            {"--redis=localhost"}, {"--help=yes"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Bench.Options.parse(bad), String.join(" ", bad));
            assertTrue(e.getMessage().contains(bad[0].split("=")[0]), e.getMessage());
        }
    }

    @Test
    void parse_twoDifferentModes_areRefused() {
        for (String[] both : new String[][] {{"--quick", "--long"}, {"--long", "--smoke"},
            {"--smoke", "--quick"}}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Bench.Options.parse(both), String.join(" ", both));
            assertEquals(both[0] + " and " + both[1] + " exclude each other", e.getMessage());
        }
        assertEquals(Bench.Mode.QUICK, Bench.Options.parse("--quick", "--quick").mode);
    }

    @Test
    void parse_quick_leavesOutWorkload4UnlessWorkloadsAreNamed() {
        assertEquals(List.of(1, 2, 3), List.copyOf(Bench.Options.parse("--quick").workloads));
        assertEquals(List.of(4), List.copyOf(Bench.Options.parse("--workloads=4", "--quick")
                .workloads));
        assertEquals(List.of(1, 2, 3, 4), List.copyOf(Bench.Options.parse("--smoke").workloads));
    }

    @Test
    void usage_namesEveryFlagTheParserTakes() {
        Set<String> flags = flags(Bench.USAGE);
        assertEquals(new TreeSet<>(List.of("--dir", "--help", "--long", "--profile", "--quick",
                "--redis", "--redis-owned", "--smoke", "--workloads")), flags);
        for (String flag : flags) {
            String arg = switch (flag) {
                case "--dir" -> "--dir=x";
                case "--redis" -> "--redis=none";
                case "--workloads" -> "--workloads=1";
                default -> flag;
            };
            Bench.Options.parse(arg); // throws for a flag the usage invents
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void main_unknownFlag_exits2WithTheUsage() throws Exception {
        Result r = run(List.of(java(), "-cp", System.getProperty("java.class.path"),
                Bench.class.getName(), "--fast"));
        assertEquals(2, r.status, r.output);
        assertTrue(r.output.contains("unknown flag: --fast") && r.output.contains(Bench.USAGE),
                r.output);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void main_help_printsTheUsageAndRunsNothing() throws Exception {
        Result r = run(List.of(java(), "-cp", System.getProperty("java.class.path"),
                Bench.class.getName(), "--help"));
        assertEquals(0, r.status, r.output);
        assertEquals(Bench.USAGE.strip(), r.output.strip());
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void benchSh_help_namesEveryFlagOfTheHarness() throws Exception {
        Result r = run(List.of("bash", SCRIPT.toString(), "--help"));
        assertEquals(0, r.status, r.output);
        assertTrue(r.output.startsWith("usage: examples/benchmarks/bench.sh"), r.output);
        assertEquals(flags(Bench.USAGE), flags(r.output), r.output);
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void benchSh_unknownFlag_exits2WithTheUsageBeforeBuilding() throws Exception {
        for (String bad : List.of("--fast", "--dir", "--redis=", "stray")) {
            Result r = run(List.of("bash", SCRIPT.toString(), "--quick", bad));
            assertEquals(2, r.status, r.output);
            assertTrue((r.output.contains("bench: unknown flag: " + bad)
                    || r.output.contains("bench: bad value: " + bad))
                    && r.output.contains("usage: examples/benchmarks/bench.sh"), r.output);
        }
    }

    /**
     * Bad values are refused (status 2) before anything is installed, built or started: the PATH
     * holds a fake root {@code id} and fake {@code apt-get}, {@code mvn}, {@code java} and
     * {@code redis-server} that leave a mark if run.
     */
    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void benchSh_badValues_exit2BeforeAnythingRuns(@TempDir Path tmp) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        Path marks = Files.createDirectories(tmp.resolve("marks"));
        for (String tool : List.of("dirname", "cat")) {
            Path real = Stream.of("/usr/bin", "/bin").map(d -> Path.of(d, tool))
                    .filter(Files::isExecutable).findFirst().orElseThrow();
            script(bin.resolve(tool), "exec " + real + " \"$@\"");
        }
        script(bin.resolve("id"), "echo 0");
        for (String tool : List.of("apt-get", "mvn", "java", "redis-server", "mktemp")) {
            script(bin.resolve(tool), "echo ran > " + marks.resolve(tool));
        }
        for (String bad : List.of("--workloads=9", "--workloads=1,x", "--workloads=,",
                "--redis=bogus", "--redis=localhost:99999", "--redis=localhost:0",
                "--quick --long", "--smoke --quick")) {
            List<String> command = new java.util.ArrayList<>(List.of("bash", SCRIPT.toString()));
            command.addAll(List.of(bad.split(" ")));
            ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true);
            pb.environment().put("PATH", bin.toString());
            Process p = pb.start();
            p.getOutputStream().close();
            String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(30, TimeUnit.SECONDS), output);
            assertEquals(2, p.exitValue(), bad + ": " + output);
            String named = bad.contains(" ") ? bad.split(" ")[1] : bad;
            assertTrue(output.contains(named) && output.contains("usage:"), output);
            try (Stream<Path> ran = Files.list(marks)) {
                assertEquals(List.of(), ran.collect(Collectors.toList()), bad + ": " + output);
            }
        }
        for (String bad : List.of("--redis=localhost:99999", "--redis=h:0", "--redis=bogus")) {
            assertThrows(IllegalArgumentException.class, () -> Bench.Options.parse(bad), bad);
        }
    }

    /**
     * bench.sh as root without redis-server, where apt-get fails: it prints apt's output, says it
     * goes on without the Redis rows, and the run does (workload 4's sweep only, in smoke mode).
     * The PATH holds only the tools the script needs, a fake {@code id} (root) and a fake
     * {@code apt-get} that fails: no redis-server, no redis-cli.
     */
    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void benchSh_aptFailure_printsWhyAndRunsWithoutRedis(@TempDir Path tmp) throws Exception {
        Path bin = Files.createDirectories(tmp.resolve("bin"));
        // wrappers, not links (JUnit warns about links out of a temporary directory)
        for (String tool : List.of("dirname", "mktemp", "mkdir", "cat", "rm", "sed", "tail", "sleep",
                "seq")) {
            Path real = Stream.of("/usr/bin", "/bin").map(d -> Path.of(d, tool))
                    .filter(Files::isExecutable).findFirst().orElseThrow();
            script(bin.resolve(tool), "exec " + real + " \"$@\"");
        }
        script(bin.resolve("java"), "exec " + java() + " \"$@\"");
        script(bin.resolve("id"), "echo 0");
        script(bin.resolve("apt-get"), "echo \"E: Unable to locate package redis-server ($*)\"",
                "exit 100");
        Path runTmp = Files.createDirectories(tmp.resolve("tmp"));
        ProcessBuilder pb = new ProcessBuilder("bash", SCRIPT.toString(),
                "--smoke", "--workloads=5").redirectErrorStream(true);
        pb.environment().put("PATH", bin.toString());
        pb.environment().put("TMPDIR", runTmp.toString());
        pb.environment().put("LATCHKEY_BENCH_CLASSPATH", System.getProperty("java.class.path"));
        Process p = pb.start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), output);
        assertEquals(0, p.exitValue(), output);
        assertTrue(output.contains("bench: apt-get update && apt-get install redis-server failed:\n"
                + "  apt: E: Unable to locate package redis-server (update -qq)"), output);
        assertTrue(output.contains("bench: continuing without the Redis rows"), output);
        assertTrue(output.contains("Redis: --redis=none: no Redis rows"), output);
        assertTrue(output.contains("Workload 4: sweep"), output);
        try (Stream<Path> left = Files.list(runTmp)) {
            assertEquals(List.of(), left.collect(Collectors.toList()), output);
        }
    }

    private static void script(Path file, String... lines) throws Exception {
        Files.writeString(file, "#!/bin/sh\n" + String.join("\n", lines) + "\n");
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    private static Set<String> flags(String usage) {
        Set<String> flags = new TreeSet<>();
        Matcher m = Pattern.compile("(?<![\\w-])--[a-z][a-z-]*").matcher(usage);
        while (m.find()) {
            flags.add(m.group());
        }
        return flags;
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private record Result(int status, String output) {
    }

    private static Result run(List<String> command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String output = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(30, TimeUnit.SECONDS), String.join(" ", command));
        return new Result(p.exitValue(), output);
    }
}
