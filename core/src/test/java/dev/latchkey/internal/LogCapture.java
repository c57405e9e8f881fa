package dev.latchkey.internal;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Collects what the logger prints while open: slf4j-simple (the test provider, configured to
 * {@code System.err}) looks {@code System.err} up at each log call, so replacing it captures the
 * lines of every thread, container threads included. Output still reaches the real stream.
 * Surefire runs the test classes of a module one at a time, so no other test's lines mix in
 * except from threads still running after their test.
 *
 * <p>A shared test fixture: core's test-jar carries it to the other modules' tests (see the
 * {@code test-fixtures} execution in core's pom). Thread-safety: the lines of every thread are
 * collected; open and close it on one thread, and do not nest captures.
 */
public final class LogCapture implements AutoCloseable {
    private final PrintStream original = System.err;
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

    /** Starts capturing {@code System.err}. */
    public LogCapture() {
        OutputStream tee = new OutputStream() {
            @Override
            public void write(int b) {
                bytes.write(b);
                original.write(b);
            }

            @Override
            public void write(byte[] b, int off, int len) {
                bytes.write(b, off, len);
                original.write(b, off, len);
            }

            @Override
            public void flush() {
                original.flush();
            }
        };
        System.setErr(new PrintStream(tee, true, StandardCharsets.UTF_8));
    }

    /**
     * The WARN lines printed so far that contain every one of the given fragments.
     *
     * @param fragments what each line must contain
     * @return the lines, in the order printed
     */
    public List<String> warnings(String... fragments) {
        return lines(" WARN ", fragments);
    }

    /**
     * The ERROR lines printed so far that contain every one of the given fragments.
     *
     * @param fragments what each line must contain
     * @return the lines, in the order printed
     */
    public List<String> errors(String... fragments) {
        return lines(" ERROR ", fragments);
    }

    private List<String> lines(String level, String... fragments) {
        return bytes.toString(StandardCharsets.UTF_8).lines()
                .filter(l -> l.contains(level))
                .filter(l -> {
                    for (String f : fragments) {
                        if (!l.contains(f)) {
                            return false;
                        }
                    }
                    return true;
                })
                .toList();
    }

    /** Stops capturing: {@code System.err} is the stream it was before. */
    @Override
    public void close() {
        System.setErr(original);
    }
}
