package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * Workload 3 against stores that fail on purpose ({@link FaultyWorker}, one worker JVM each): the
 * harness must see every fault, and count it against Latchkey.
 */
final class BenchFaultTest {

    private static Contention.Outcome runWith(Path tmp, String fault, Contention.Config config)
            throws Exception {
        try (Contention c = Contention.start(tmp.resolve("contention"), "-", 1, 2, 0, 300,
                FaultyWorker.class.getName(), fault)) {
            return c.run(config, null);
        }
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void anErrorInTheStoreIsCountedAndFailsTheRow(@TempDir Path tmp) throws Exception {
        Contention.Outcome r = runWith(tmp, "error",
                new Contention.Config(Contenders.LATCHKEY, 1, false, true));
        assertEquals(0, r.acked());
        assertTrue(r.errors() > 0, "an AssertionError killed the threads uncounted: " + r);
        assertEquals(Map.of("AssertionError", r.errors()), r.errorKinds());
        assertNotNull(Bench.latchkeyFailure(r));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void incrementsAppliedButNeverAcknowledgedAreAllExtra(@TempDir Path tmp) throws Exception {
        // nothing is acknowledged: every increment applied is extra, on whichever session
        Contention.Outcome r = runWith(tmp, "unacked",
                new Contention.Config(Contenders.LATCHKEY, 50, true, false));
        assertEquals(0, r.acked());
        assertTrue(r.errors() > 0, r.toString());
        assertEquals(r.errors(), r.extra(), r.toString());
        assertNotNull(Bench.latchkeyFailure(r));
    }

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void aWorkerThatCannotOpenItsStoreIsNamedWithItsLog(@TempDir Path tmp) {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> runWith(tmp,
                "open", new Contention.Config(Contenders.LATCHKEY, 1, true, false)));
        assertTrue(e.getMessage().startsWith("worker 0 answered 'FAILED"), e.getMessage());
        assertTrue(e.getMessage().contains("injected: cannot open latchkey"), e.getMessage());
        assertTrue(e.getMessage().contains("last lines of its log"), e.getMessage());
    }

    @Test
    void latchkeyFailure_everyLatchkeyRowNeedsAcksAndNoErrorNorExtra() {
        Contention.Config counter = new Contention.Config(Contenders.LATCHKEY, 1, false, false);
        Contention.Config update = new Contention.Config(Contenders.LATCHKEY, 1, false, true);
        Contention.Config own = new Contention.Config(Contenders.LATCHKEY, 100, true, false);
        assertNull(Bench.latchkeyFailure(outcome(counter, 100, 40, 0, 0)));
        assertNotNull(Bench.latchkeyFailure(outcome(counter, 100, 40, 0, 3)));
        assertNotNull(Bench.latchkeyFailure(outcome(counter, 100, 0, 2, 0)));
        assertNotNull(Bench.latchkeyFailure(outcome(counter, 0, 0, 0, 0)));
        assertNull(Bench.latchkeyFailure(outcome(update, 100, 0, 0, 0)));
        assertNotNull(Bench.latchkeyFailure(outcome(update, 100, 1, 0, 0)));
        assertNotNull(Bench.latchkeyFailure(outcome(update, 0, 0, 0, 0)));
        assertNotNull(Bench.latchkeyFailure(outcome(own, 100, 0, 0, 1)));
        assertNotNull(Bench.latchkeyFailure(outcome(own, 100, 0, 1, 0)));
        assertNull(Bench.latchkeyFailure(outcome(
                new Contention.Config(Contenders.TOMCAT, 1, true, false), 0, 9, 9, 9)));
    }

    private static Contention.Outcome outcome(Contention.Config config, long acked, long lost,
            long extra, long errors) {
        return new Contention.Outcome(config, 1, acked, acked, lost, extra, errors,
                errors == 0 ? Map.of() : Map.of("X", errors));
    }

    @Test
    void runDirectory_isNewForEveryRunInTheSameSecond(@TempDir Path tmp) throws Exception {
        Path a = Bench.runDirectory(tmp);
        Path b = Bench.runDirectory(tmp);
        assertNotEquals(a, b);
        assertTrue(a.getFileName().toString().startsWith("run-"), a.toString());
    }
}
