package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Runs the whole harness in smoke mode (a few iterations, every workload, real worker JVMs) so it
 * cannot rot: every table has every row, Latchkey loses nothing where it guarantees it, the
 * unsafe stores really were contended. Redis rows only where redis-server is on the PATH.
 */
final class BenchSmokeTest {
    private static final List<String> FILE_STORES = List.of("floor", "latchkey", "tomcat", "jetty");
    private static Bench.Report report;
    private static String output;

    @BeforeAll
    @Timeout(value = 240, unit = TimeUnit.SECONDS)
    static void runSmoke() throws Exception {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8)) {
            report = Bench.run(Bench.Options.parse("--smoke"), out);
        }
        output = bytes.toString(StandardCharsets.UTF_8);
        System.out.println(output);
    }

    @Test
    void smoke_printsEveryTableWithEveryRow() {
        int redis = report.redisMeasured() ? 1 : 0;
        Table w1 = report.tables().get(1);
        assertEquals(6 + redis, w1.size(), output);
        assertTrue(w1.column("store").containsAll(List.of("floor", "latchkey", "tomcat", "jetty",
                "naive")), output);
        Table w2 = report.tables().get(2);
        assertEquals(2 + redis + 3, w2.size(), output);
        Table w3 = report.tables().get(3);
        // 2 session counts x (distinct: 4 stores + counter: 5 rows), plus 2 x 2 Redis rows
        assertEquals(2 * (4 + 5) + 4 * redis, w3.size(), output);
        Table w4 = report.tables().get(4);
        assertEquals(2 * (FILE_STORES.size() + redis), w4.size(), output);
        assertTrue(output.contains("Workload 1") && output.contains("Workload 4"), output);
        Table sweep = report.tables().get(5);
        assertEquals(List.of("100", "1,000"), sweep.column("live"), output);
        assertEquals(sweep.column("expired"), sweep.column("removed"), output);
        assertEquals(List.of("2", "2"), sweep.column("runs"), output);
        for (int r = 0; r < sweep.size(); r++) {
            double min = Double.parseDouble(sweep.cell(r, "min ms").replace(",", ""));
            double median = Double.parseDouble(sweep.cell(r, "sweep ms").replace(",", ""));
            double max = Double.parseDouble(sweep.cell(r, "max ms").replace(",", ""));
            assertTrue(0 < min && min <= median && median <= max, "sweep row " + r + "\n" + output);
        }
        for (Table t : List.of(w1, w2, w4)) {
            for (String cell : t.column("p50 us")) {
                assertTrue(cell.equals("no fsync option") || Double.parseDouble(
                        cell.replace(",", "")) > 0, t.title() + ": " + cell);
            }
        }
    }

    @Test
    void smoke_everyMeasuredRowShowsItsSampleCount() {
        for (Table t : List.of(report.tables().get(1), report.tables().get(2),
                report.tables().get(4))) {
            for (int r = 0; r < t.size(); r++) {
                if (!t.cell(r, "p50 us").equals("no fsync option")) {
                    assertTrue(Long.parseLong(t.cell(r, "samples").replace(",", "")) > 0,
                            t.title() + " row " + r + "\n" + output);
                }
            }
        }
        Table w3 = report.tables().get(3);
        for (int r = 0; r < w3.size(); r++) {
            long ops = Long.parseLong(w3.cell(r, "ops"));
            assertTrue(ops <= Long.parseLong(w3.cell(r, "acked")), output);
        }
    }

    @Test
    void smoke_judgesNoTarget() {
        List<String> targets = report.tables().get(1).notes().stream()
                .filter(n -> n.startsWith("target:")).toList();
        assertEquals(2 + (report.redisMeasured() ? 1 : 0), targets.size(), output);
        for (String target : targets) {
            assertTrue(target.endsWith(": not judged (smoke run)"), target);
        }
        assertTrue(!output.contains(": met") && !output.contains("MISSED"), output);
    }

    @Test
    void smoke_latchkeyLosesNoUpdateItGuarantees() {
        assertEquals(List.of(), report.latchkeyFailures(), output);
        Table w3 = report.tables().get(3);
        int checked = 0;
        for (int r = 0; r < w3.size(); r++) {
            boolean guaranteed = w3.cell(r, "store").equals("latchkey")
                    && (w3.cell(r, "attributes").equals("own per thread")
                    || w3.cell(r, "op").equals("update"));
            if (guaranteed) {
                assertTrue(Long.parseLong(w3.cell(r, "acked")) > 0, output);
                assertEquals("0", w3.cell(r, "lost"), output);
                assertEquals("0", w3.cell(r, "extra"), output);
                assertEquals("0", w3.cell(r, "errors"), output);
                checked++;
            }
        }
        assertEquals(4, checked, output);
    }

    @Test
    void smoke_unsafeStoresWereContendedOnTheHotSession() {
        Table w3 = report.tables().get(3);
        long lostOrFailed = 0;
        for (int r = 0; r < w3.size(); r++) {
            if (w3.cell(r, "sessions").startsWith("1 ")
                    && List.of("tomcat", "jetty", "naive").contains(w3.cell(r, "store"))) {
                lostOrFailed += Long.parseLong(w3.cell(r, "lost"))
                        + Long.parseLong(w3.cell(r, "errors"));
            }
        }
        assertTrue(lostOrFailed > 0, "no lost update and no error at all: the workers did not "
                + "contend\n" + output);
    }

    @Test
    void smoke_lossCounterSeesThePlainReadModifyWritesOnTheHotCounter() {
        Table w3 = report.tables().get(3);
        int checked = 0;
        for (int r = 0; r < w3.size(); r++) {
            boolean hotCounter = w3.cell(r, "sessions").startsWith("1 ")
                    && w3.cell(r, "attributes").equals("one counter");
            boolean plain = w3.cell(r, "store").equals("latchkey")
                    && w3.cell(r, "op").equals("find+commit")
                    || w3.cell(r, "store").equals("naive");
            if (hotCounter && plain) {
                assertTrue(Long.parseLong(w3.cell(r, "lost")) > 0, "row " + r + " lost nothing:"
                        + " the loss counter or the contention does not work\n" + output);
                checked++;
            }
        }
        assertEquals(2, checked, output);
    }

    @Test
    void smoke_redisRowsWhenRedisServerIsOnThePath() {
        assumeTrue(report.redisMeasured(), "redis-server is not on the PATH: Redis rows skipped");
        for (int w : new int[] {1, 2, 3, 4}) {
            assertTrue(report.tables().get(w).column("store").contains("redis"), output);
        }
        Table w3 = report.tables().get(3);
        for (int r = 0; r < w3.size(); r++) {
            if (w3.cell(r, "store").equals("redis")) {
                assertTrue(Long.parseLong(w3.cell(r, "acked")) > 0, output);
            }
        }
    }
}
