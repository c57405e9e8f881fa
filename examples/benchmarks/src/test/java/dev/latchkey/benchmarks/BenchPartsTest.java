package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The harness's pure parts: target verdicts, table layout, workload 3's warm-ups, sweep checks. */
final class BenchPartsTest {

    @Test
    void verdict_judgesOnlyEnoughSamplesOutsideSmokeRuns() {
        assertEquals("met", Bench.verdict(Bench.Mode.FULL, true, Bench.MIN_SAMPLES));
        assertEquals("MISSED", Bench.verdict(Bench.Mode.FULL, false, 50_000));
        assertEquals("not judged (quick run)", Bench.verdict(Bench.Mode.QUICK, true, 50_000));
        assertEquals("not judged (quick run)", Bench.verdict(Bench.Mode.QUICK, false, 50_000));
        assertEquals("not judged (999 samples < 1,000)",
                Bench.verdict(Bench.Mode.FULL, true, 999));
        assertEquals("not judged (0 samples < 1,000)", Bench.verdict(Bench.Mode.LONG, false, 0));
        assertEquals("not judged (smoke run)", Bench.verdict(Bench.Mode.SMOKE, true, 1_000_000));
        assertEquals("not judged (smoke run)", Bench.verdict(Bench.Mode.SMOKE, false, 1_000_000));
    }

    @Test
    void table_alignsNumbersRightAndTextLeft() {
        Table t = new Table("Title", "store", "p50 us", "samples");
        t.add("latchkey", Table.number(89.74), "28,562");
        t.add("redis", Table.number(1234.4), "7");
        t.add("tomcat", "no fsync option", "-");
        t.note("a note");
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        t.print(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        assertEquals(String.join("\n", "", "Title",
                "store     p50 us           samples",
                "latchkey             89.7   28,562",
                "redis               1,234        7",
                "tomcat    no fsync option        -",
                "  a note", ""), bytes.toString(StandardCharsets.UTF_8));
        assertEquals(List.of("89.7", "1,234", "no fsync option"), t.column("p50 us"));
        assertEquals("-", Table.ratio(1, Double.NaN));
        assertEquals("2.00x", Table.ratio(4, 2));
        assertThrows(IllegalArgumentException.class, () -> t.add("too", "few"));
    }

    @Test
    void removeJmhLock_deletesTheLeftLockUnlessAnotherRunHoldsIt(@TempDir Path tmp)
            throws Exception {
        Path lock = Files.write(tmp.resolve("jmh.lock"), new byte[0]);
        Bench.removeJmhLock(lock, false);
        assertFalse(Files.exists(lock), "a lock file nobody holds is left");
        Files.write(lock, new byte[0]);
        try (FileChannel channel = FileChannel.open(lock, StandardOpenOption.WRITE);
                FileLock held = channel.lock()) {
            Bench.removeJmhLock(lock, false);
            assertTrue(Files.exists(lock), "a held lock file was deleted");
            assertTrue(held.isValid());
            Bench.removeJmhLock(lock, true);
            assertFalse(Files.exists(lock), "the shutdown hook left this run's lock file");
        }
        Bench.removeJmhLock(lock, false); // none: nothing to do
    }

    @Test
    void warmUps_coverEveryMeasuredOperation() {
        List<Contention.Config> configs = Bench.warmUps(List.of(Contenders.LATCHKEY,
                Contenders.TOMCAT, Contenders.REDIS));
        assertEquals(List.of("latchkey find+commit", "latchkey update", "tomcat load+save",
                "redis findById+save"), configs.stream().map(c -> c.store() + " " + c.op())
                .collect(Collectors.toList()));
    }

    @Test
    void sweepCheck_refusesAMissingLiveSessionALeftFileOrMarker(@TempDir Path tmp)
            throws Exception {
        Path dir = tmp.resolve("store");
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
            String live = create(store);
            String gone = create(store);
            assertTrue(store.invalidate(gone));
            Sweep.check(store, dir, Set.of(live), new String[] {gone});
            assertThrows(IllegalStateException.class, () -> Sweep.check(store, dir,
                    Set.of(live, gone), new String[0]));
            Path sessionFile = file(dir.resolve("sessions"), live);
            Files.write(sessionFile.resolveSibling(live + ".old"), new byte[] {1});
            assertThrows(IllegalStateException.class, () -> Sweep.check(store, dir, Set.of(live),
                    new String[0]));
            Files.delete(sessionFile.resolveSibling(live + ".old"));
            // an expired session whose marker is left
            Path marker = dir.resolve("expiry").resolve("0").resolve(gone);
            Files.createDirectories(marker.getParent());
            Files.write(marker, new byte[0]);
            assertThrows(IllegalStateException.class, () -> Sweep.check(store, dir, Set.of(live),
                    new String[] {gone}));
            Files.delete(marker);
            Sweep.check(store, dir, Set.of(live), new String[] {gone});
        }
    }

    @Test
    void sweepCheck_refusesALiveSessionEmptiedOrWithoutItsMarker(@TempDir Path tmp)
            throws Exception {
        Path dir = tmp.resolve("store");
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
            String emptied = create(store);
            Sweep.check(store, dir, Set.of(emptied), new String[0]);
            Files.write(file(dir.resolve("sessions"), emptied), new byte[0]);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Sweep.check(store, dir, Set.of(emptied), new String[0]));
            assertTrue(e.getMessage().contains(emptied), e.getMessage());
        }
        Path dir2 = tmp.resolve("store2");
        try (SessionStore store = SessionStore.open(StoreConfig.builder(dir2).build())) {
            String unmarked = create(store);
            Sweep.check(store, dir2, Set.of(unmarked), new String[0]);
            Files.delete(file(dir2.resolve("expiry"), unmarked));
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> Sweep.check(store, dir2, Set.of(unmarked), new String[0]));
            assertTrue(e.getMessage().contains("no expiry marker"), e.getMessage());
        }
    }

    private static String create(SessionStore store) {
        var change = store.change();
        SampleSession.attributes().forEach(change::set);
        return store.create(change.build()).id();
    }

    private static Path file(Path under, String name) throws Exception {
        try (var files = Files.walk(under)) {
            return files.filter(p -> p.getFileName().toString().equals(name)).findFirst()
                    .orElseThrow();
        }
    }
}
