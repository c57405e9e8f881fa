package dev.latchkey.benchmarks;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openjdk.jmh.infra.Blackhole;

/** Workloads 1, 2 and 4 check at the end of a trial that every request did its work. */
final class RequestCheckTest {
    private static final Blackhole BLACKHOLE = new Blackhole("Today's password is swordfish. I "
            + "understand instantiating Blackholes directly is dangerous.");

    private static RequestBenchmark trial(Path dir, String store, int sessions) throws Exception {
        RequestBenchmark b = new RequestBenchmark();
        b.store = store;
        b.sessions = sessions;
        b.directory = dir.toString();
        b.setUp();
        return b;
    }

    @Test
    void requestsThatDidTheirWorkPass(@TempDir Path tmp) throws Exception {
        for (String store : new String[] {Contenders.LATCHKEY, Contenders.FLOOR,
                Contenders.FLOOR_READ, Contenders.TOMCAT}) {
            RequestBenchmark b = trial(tmp, store, 5);
            for (int i = 0; i < 23; i++) {
                b.request(BLACKHOLE);
            }
            assertDoesNotThrow(b::tearDown, store);
        }
    }

    @Test
    void aRequestThatDoesNotCommitFailsTheTrial(@TempDir Path tmp) throws Exception {
        RequestBenchmark b = trial(tmp, Contenders.LATCHKEY, 3);
        b.contender = new FaultyWorker.Faulty(b.contender, "nocommit");
        for (int i = 0; i < 10; i++) {
            b.request(BLACKHOLE);
        }
        IllegalStateException e = assertThrows(IllegalStateException.class, b::tearDown);
        assertTrue(e.getMessage().startsWith(RequestBenchmark.CHECK_FAILED + "latchkey: session "),
                e.getMessage());
    }

    @Test
    void aFloorFileNotFlippedOncePerRequestFailsTheTrial(@TempDir Path tmp) throws Exception {
        RequestBenchmark b = trial(tmp, Contenders.FLOOR, 1);
        b.request(BLACKHOLE);
        b.request(BLACKHOLE);
        // one more flip that no request of the trial made: an odd number of flips in all
        b.contender.request(b.ids[0], SampleSession.WRITE_ATTRIBUTE, "/");
        IllegalStateException e = assertThrows(IllegalStateException.class, b::tearDown);
        assertTrue(e.getMessage().contains("flipped 2 times"), e.getMessage());
    }

    @Test
    void order_spreadsOverNearlyEverySession() {
        int[] order = RequestBenchmark.order(100_000);
        assertTrue(Integer.bitCount(order.length) == 1 && order.length >= 400_000,
                "" + order.length);
        long distinct = Arrays.stream(order).distinct().count();
        assertTrue(distinct > 97_000, distinct + " of 100,000 sessions");
        assertTrue(RequestBenchmark.order(1).length == 1 << 16);
    }
}
