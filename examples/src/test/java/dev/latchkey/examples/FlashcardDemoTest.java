package dev.latchkey.examples;

import static org.junit.jupiter.api.Assertions.assertAll;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A short version of the README's demo, with real worker JVMs sharing one port and one session
 * directory: Latchkey loses and mixes up nothing, the naive store does lose updates (so the
 * verdict can fail), and no worker process or port outlives a run.
 */
final class FlashcardDemoTest {

    @TempDir
    Path tmp;

    private static FlashcardDemo.Options options(String store, Path dir) {
        return new FlashcardDemo.Options(2, 10, 4, Duration.ofSeconds(3), List.of(store),
                "exclusive", dir, 0);
    }

    @Test
    void run_latchkeyExclusiveTwoWorkersTenUsers_losesNothingAndMixesNothingUp()
            throws Exception {
        FlashcardDemo.Run run = FlashcardDemo.run(options("latchkey", tmp), "latchkey",
                tmp.resolve("latchkey"));
        LoadDriver.Outcome o = run.outcome();
        assertAll(
                () -> assertTrue(o.requests() > 50, "requests: " + o.requests()),
                () -> assertTrue(o.perWorker()[0] > 0 && o.perWorker()[1] > 0,
                        "both workers served requests: " + o.perWorker()[0] + "/"
                                + o.perWorker()[1]),
                () -> assertEquals(0, o.lostCounterUpdates(), "lost session updates"),
                () -> assertEquals(0, o.missingCards(), "acknowledged cards missing"),
                () -> assertEquals(0, o.crossUserWrites(), "cards in another user's database"),
                () -> assertEquals(0, o.wrongUserResponses(), "responses for another user"),
                () -> assertEquals(0, o.errors(), "failed requests: " + o.errorSamples()),
                () -> assertTrue(run.clean()));
        assertNothingLeftBehind(run);
    }

    @Test
    void run_naiveStore_losesAcknowledgedSessionUpdates() throws Exception {
        FlashcardDemo.Run run = FlashcardDemo.run(options("naive", tmp), "naive",
                tmp.resolve("naive"));
        assertTrue(run.outcome().lostUpdates() > 0, "the naive store lost nothing this time");
        assertNothingLeftBehind(run);
    }

    private static void assertNothingLeftBehind(FlashcardDemo.Run run) throws Exception {
        for (ProcessHandle worker : run.workerProcesses()) {
            worker.onExit().get(10, TimeUnit.SECONDS);
            assertFalse(worker.isAlive(), "worker " + worker.pid() + " still runs");
        }
        try (ServerSocket again = new ServerSocket(run.port(), 1,
                InetAddress.getLoopbackAddress())) {
            assertEquals(run.port(), again.getLocalPort());
        }
    }

    @Test
    void parse_bothFlagForms_areRead() {
        FlashcardDemo.Options o = FlashcardDemo.parse(new String[] {"--store", "naive",
            "--workers=2 --users=7", "--mode=merge", "--dir", "/tmp/x"});
        assertEquals(List.of("naive"), o.stores());
        assertEquals(2, o.workers());
        assertEquals(7, o.users());
        assertEquals("merge", o.mode());
        assertEquals(Path.of("/tmp/x"), o.dir());
        assertEquals(List.of("naive", "latchkey"), FlashcardDemo.parse(new String[0]).stores());
    }

    @Test
    void parse_badFlags_areRefusedWithTheirName() {
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlashcardDemo.parse(new String[] {"--wrokers=2"})).getMessage()
                .contains("--wrokers"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlashcardDemo.parse(new String[] {"--store=redis"})).getMessage()
                .contains("redis"));
        assertTrue(assertThrows(IllegalArgumentException.class,
                () -> FlashcardDemo.parse(new String[] {"--users=0"})).getMessage()
                .contains("--users"));
    }
}
