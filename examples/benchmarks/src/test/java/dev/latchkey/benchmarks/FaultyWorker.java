package dev.latchkey.benchmarks;

import java.util.Map;

/**
 * A workload-3 worker whose store fails on purpose, for the harness's own tests: {@code main}
 * takes the worker's index and a fault. {@code error}: Latchkey's update throws an
 * AssertionError; {@code unacked}: every plain increment is committed but reported as not done;
 * {@code open}: the store cannot be opened.
 */
public final class FaultyWorker {
    private FaultyWorker() {
    }

    /**
     * Runs a worker with the fault {@code args[1]}.
     * @param args the worker's index and the fault
     * @throws Exception if standard input or output fails
     */
    public static void main(String[] args) throws Exception {
        String fault = args[1];
        ContentionWorker.serve(new String[] {args[0]}, (name, dir, synced, redis, namespace) -> {
            if (fault.equals("open")) {
                throw new IllegalStateException("injected: cannot open " + name);
            }
            return new Faulty(Contenders.open(name, dir, synced, redis, namespace), fault);
        });
    }

    /** A contender that delegates, except for its fault. */
    static final class Faulty implements Contender {
        private final Contender delegate;
        private final String fault;

        Faulty(Contender delegate, String fault) {
            this.delegate = delegate;
            this.fault = fault;
        }

        @Override
        public String create(Map<String, Object> attributes) throws Exception {
            return delegate.create(attributes);
        }

        @Override
        public Map<String, Object> read(String id) throws Exception {
            return delegate.read(id);
        }

        @Override
        public Object request(String id, String name, Object value) throws Exception {
            if (fault.equals("nocommit")) {
                return delegate.read(id).get(SampleSession.READ_ATTRIBUTE);
            }
            return delegate.request(id, name, value);
        }

        @Override
        public boolean increment(String id, String name) throws Exception {
            boolean done = delegate.increment(id, name);
            return fault.equals("unacked") ? false : done;
        }

        @Override
        public boolean atomicIncrement(String id, String name) throws Exception {
            if (fault.equals("error")) {
                throw new AssertionError("injected");
            }
            return delegate.atomicIncrement(id, name);
        }

        @Override
        public void close() {
            delegate.close();
        }
    }
}
