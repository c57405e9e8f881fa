package dev.latchkey.examples;

import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * One worker process of {@link CoreDemo}: serves "requests" of the shared sessions, as a pre-forked
 * web worker would. Each request reads the session, counts a hit and records this worker's own
 * request count in an attribute of its own. Prints READY, waits for GO on standard input, prints
 * {@code DONE tornReads n0 n1 ...}, where each n is the number of requests of one session (in order) that
 * succeeded.
 */
public final class DemoWorker {
    private DemoWorker() {
    }

    /**
     * Runs one worker.
     *
     * @param args store kind, directory, worker number, request count, file of session ids
     * @throws IOException if the id file cannot be read
     */
    public static void main(String[] args) throws IOException {
        String kind = args[0];
        Path dir = Path.of(args[1]);
        int worker = Integer.parseInt(args[2]);
        int requests = Integer.parseInt(args[3]);
        List<String> ids = Files.readAllLines(Path.of(args[4]));
        System.out.println("READY");
        System.out.flush();
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        int[] mine = new int[ids.size()];
        int torn = 0;
        String own = "worker" + worker;
        if (kind.equals("latchkey")) {
            try (SessionStore store = SessionStore.open(StoreConfig.builder(dir).build())) {
                for (int r = 0; r < requests; r++) {
                    int s = (r + worker) % ids.size();
                    String id = ids.get(s);
                    store.find(id).orElseThrow(); // the request loads its session
                    store.update(id, "hits", v -> v == null ? 1L : (Long) v + 1);
                    store.commit(id, store.change().set(own, ++mine[s]).touch().build());
                }
            }
        } else {
            NaiveFileStore store = new NaiveFileStore(dir);
            for (int r = 0; r < requests; r++) {
                int s = (r + worker) % ids.size();
                String id = ids.get(s);
                Map<String, Object> session;
                try {
                    session = store.load(id);
                } catch (IOException e) {
                    torn++; // a half-written file: the request fails
                    continue;
                }
                Object hits = session.get("hits");
                session.put("hits", hits == null ? 1L : ((Number) hits).longValue() + 1);
                session.put(own, ++mine[s]);
                store.save(id, session);
            }
        }
        StringBuilder done = new StringBuilder("DONE ").append(torn);
        for (int n : mine) {
            done.append(' ').append(n);
        }
        System.out.println(done);
        System.out.flush();
    }
}
