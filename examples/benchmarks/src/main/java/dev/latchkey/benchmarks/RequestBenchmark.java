package dev.latchkey.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
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
    private static final String[] PAGES = {"/decks/1", "/decks/2/cards", "/decks/3/cards?page=2",
        "/decks/4", "/settings", "/decks/5/cards/1042", "/decks/6/review", "/"};
    private static final int ORDER = 1 << 16;

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
    private Contender contender;
    private String[] ids;
    private int[] order;
    private int next;

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
        SplittableRandom random = new SplittableRandom(42);
        order = new int[ORDER];
        for (int i = 0; i < ORDER; i++) {
            order[i] = random.nextInt(sessions);
        }
    }

    /**
     * One request; what it read goes to the blackhole, so that the read cannot be optimised away.
     * @param blackhole JMH's sink for results
     * @throws Exception if the store fails
     */
    @Benchmark
    public void request(Blackhole blackhole) throws Exception {
        int n = next++;
        blackhole.consume(contender.request(ids[order[n & (ORDER - 1)]],
                SampleSession.WRITE_ATTRIBUTE, PAGES[n & 7]));
    }

    /**
     * Closes the store and deletes its data.
     * @throws Exception if the store fails
     */
    @TearDown(Level.Trial)
    public void tearDown() throws Exception {
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
