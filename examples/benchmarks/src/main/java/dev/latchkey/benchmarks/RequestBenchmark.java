package dev.latchkey.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.infra.Blackhole;

/**
 * Workloads 1, 2 and 4: the cost of one request (load a session, read an attribute, change one,
 * commit), single thread, on one of {@code sessions} sessions chosen at random. {@link Bench}
 * runs it through JMH's API with the parameters of each workload; it is public only because JMH
 * requires it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
public class RequestBenchmark {
    /** The start of the message of a failed {@link #checkRequests}, followed by the store. */
    static final String CHECK_FAILED = "request check failed for store ";
    private static final String[] PAGES = {"/decks/1", "/decks/2/cards", "/decks/3/cards?page=2",
        "/decks/4", "/settings", "/decks/5/cards/1042", "/decks/6/review", "/"};
    /** The fewest draws in the table of sessions a trial requests, in order. */
    private static final int MIN_ORDER = 1 << 16;

    /** The store: see {@link Contenders}. */
    @Param(Contenders.LATCHKEY)
    public String store;

    /** Whether each commit is forced to disk. */
    @Param("false")
    public boolean synced;

    /** How many sessions exist while the requests run. */
    @Param("1")
    public int sessions;

    /** Where the stores' directories go (each trial makes its own). */
    @Param("-")
    public String directory;

    /** {@code host:port} of a Redis server, or "-". */
    @Param("-")
    public String redis;

    private Path root;
    /** The store of the trial (package-private: tests wrap it in faults). */
    Contender contender;
    /** The trial's sessions. */
    String[] ids;
    private int[] order;
    private int next;
    /** Per session: how many requests it got, and the number of the last one. */
    private int[] requests;
    private int[] last;

    /**
     * Opens the store and creates the sessions.
     * @throws Exception if the store fails
     */
    @Setup(Level.Trial)
    public void setUp() throws Exception {
        Path parent = directory.equals("-") ? Path.of(System.getProperty("java.io.tmpdir"))
                : Path.of(directory);
        root = Files.createTempDirectory(Files.createDirectories(parent), store + "-");
        contender = Contenders.open(store, root, synced, redis,
                "bench:" + root.getFileName());
        ids = Contenders.populate(contender, sessions);
        Contenders.flushDirtyPages();
        order = order(sessions);
        requests = new int[sessions];
        last = new int[sessions];
    }

    /**
     * The sessions requested, in order (a trial cycles through it): random draws, a power of two
     * of them, at least {@link #MIN_ORDER} and at least four per session, so that a trial on
     * many sessions spreads over nearly all of them rather than a repeating subset.
     */
    static int[] order(int sessions) {
        int size = Integer.highestOneBit(Math.max(MIN_ORDER, 4 * sessions) - 1) << 1;
        SplittableRandom random = new SplittableRandom(42);
        int[] order = new int[size];
        for (int i = 0; i < size; i++) {
            order[i] = random.nextInt(sessions);
        }
        return order;
    }

    /**
     * One request; what it read goes to the blackhole, so that the read cannot be optimised away.
     * @param blackhole JMH's sink for results
     * @throws Exception if the store fails
     */
    @Benchmark
    public void request(Blackhole blackhole) throws Exception {
        int n = next++;
        int session = order[n & (order.length - 1)];
        requests[session]++;
        last[session] = n;
        blackhole.consume(contender.request(ids[session], SampleSession.WRITE_ATTRIBUTE,
                PAGES[n & 7]));
    }

    /**
     * Checks that every request did its work: each session requested holds the value its last
     * request wrote (the floor: its file has the middle byte flipped once per request).
     * @throws IllegalStateException naming the store and the first session that does not
     */
    void checkRequests() throws Exception {
        long checked = 0;
        for (int s = 0; s < ids.length; s++) {
            if (requests[s] == 0) {
                continue;
            }
            String problem = null;
            if (contender instanceof FloorContender) {
                if (!((FloorContender) contender).holdsRequests(ids[s], requests[s])) {
                    problem = "its file is not the initial one flipped " + requests[s] + " times";
                }
            } else {
                Map<String, Object> read = contender.read(ids[s]);
                Object got = read == null ? null : read.get(SampleSession.WRITE_ATTRIBUTE);
                if (!PAGES[last[s] & 7].equals(got)) {
                    problem = "it holds " + SampleSession.WRITE_ATTRIBUTE + "=" + got
                            + (read == null ? " (no such session)" : "") + ", not "
                            + PAGES[last[s] & 7] + " of its last request";
                }
            }
            if (problem != null) {
                throw new IllegalStateException(CHECK_FAILED + store + ": session " + s + " of "
                        + ids.length + " got " + requests[s] + " requests, but " + problem
                        + " (" + checked + " checked before it)");
            }
            checked++;
        }
    }

    /**
     * Checks that every request did its work ({@link #checkRequests}), then closes the store and
     * deletes its data.
     * @throws Exception if the store fails
     */
    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
        try {
            checkRequests();
        } finally {
            close();
        }
    }

    private void close() throws Exception {
        try {
            if (contender instanceof RedisContender) {
                ((RedisContender) contender).flush();
            }
            contender.close();
        } finally {
            Contenders.deleteTree(root);
            Contenders.deleteTree(Contenders.macKeyFile(root));
        }
    }
}
