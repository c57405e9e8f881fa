package dev.latchkey.benchmarks;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordingFile;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * {@code --profile}: workload 1's Latchkey request under JFR (method profiling in Java code and in
 * native calls), summarised as the share of samples in which each kind of work is on the stack.
 */
final class Profile {
    /** Kinds of work, by a frame somewhere on the stack (first match from the top wins). */
    private static final Map<String, Pattern> KINDS = new LinkedHashMap<>();

    static {
        KINDS.put("rename (2 per commit)", Pattern.compile("sun\\.nio\\.fs\\.UnixNativeDispatcher\\.rename"));
        KINDS.put("unlink", Pattern.compile("sun\\.nio\\.fs\\.UnixNativeDispatcher\\.unlink"));
        KINDS.put("open/create file", Pattern.compile("sun\\.nio\\.fs\\.UnixNativeDispatcher\\.open"
                + "|sun\\.nio\\.fs\\.UnixChannelFactory"));
        KINDS.put("stat/exists", Pattern.compile("sun\\.nio\\.fs\\.UnixNativeDispatcher\\.(stat|lstat|access)"));
        KINDS.put("fcntl lock/unlock", Pattern.compile("FileDispatcherImpl\\.(lock|release)"
                + "|AsynchronousFileChannel.*[Ll]ock|FileLockImpl\\.release"));
        KINDS.put("write", Pattern.compile("FileDispatcherImpl\\.(write|pwrite)|IOUtil\\.write"));
        KINDS.put("read", Pattern.compile("FileDispatcherImpl\\.(read|pread)|IOUtil\\.read"));
        KINDS.put("close", Pattern.compile("FileDispatcherImpl\\.close|closeIntFD|FileChannelImpl\\.implCloseChannel"));
        KINDS.put("checksum", Pattern.compile("java\\.util\\.zip\\.CRC32C|java\\.util\\.zip\\.Adler|javax\\.crypto"));
        KINDS.put("JSON encode/decode", Pattern.compile("com\\.fasterxml\\.jackson"));
        KINDS.put("id/path handling", Pattern.compile("sun\\.nio\\.fs\\.UnixPath|java\\.nio\\.file\\.Path"));
    }

    private Profile() {
    }

    static void latchkeyRequest(Path root, int millis, PrintStream out) throws Exception {
        Path recording = root.resolve("latchkey-request.jfr");
        out.println("profile: latchkey request cost under JFR ...");
        new Runner(new OptionsBuilder()
                .include(Pattern.quote(RequestBenchmark.class.getName()) + "\\.request$")
                .param("store", Contenders.LATCHKEY)
                .param("directory", root.resolve("jmh").toString())
                .forks(1)
                .jvmArgsAppend("-XX:StartFlightRecording=filename=" + recording
                        + ",settings=profile")
                .warmupIterations(2).warmupTime(TimeValue.milliseconds(millis))
                .measurementIterations(1).measurementTime(TimeValue.milliseconds(millis))
                .output(root.resolve("jmh-profile.log").toString())
                .build()).run();
        summarise(recording, out);
    }

    static void summarise(Path recording, PrintStream out) throws Exception {
        Map<String, Integer> byKind = new LinkedHashMap<>();
        Map<String, Integer> latchkeyFrames = new TreeMap<>();
        Map<String, Integer> byPlace = new TreeMap<>();
        int total = 0;
        for (RecordedEvent e : RecordingFile.readAllEvents(recording)) {
            String type = e.getEventType().getName();
            if (!(type.equals("jdk.ExecutionSample") || type.equals("jdk.NativeMethodSample"))
                    || e.getStackTrace() == null) {
                continue;
            }
            List<RecordedFrame> frames = e.getStackTrace().getFrames();
            if (frames.stream().noneMatch(f -> name(f).contains("RequestBenchmark.request"))) {
                continue;
            }
            total++;
            String kind = "other (Latchkey and JDK code)";
            outer:
            for (RecordedFrame f : frames) {
                String n = name(f);
                for (Map.Entry<String, Pattern> k : KINDS.entrySet()) {
                    if (k.getValue().matcher(n).find()) {
                        kind = k.getKey();
                        break outer;
                    }
                }
            }
            byKind.merge(kind, 1, Integer::sum);
            String place = frames.stream().map(Profile::name)
                    .filter(n -> n.startsWith("dev.latchkey.internal") && !n.contains("$$Lambda")
                            && !n.contains(".lambda$"))
                    .findFirst().orElse("(outside Latchkey)")
                    .replace("dev.latchkey.internal.", "");
            byPlace.merge(place + ": " + kind, 1, Integer::sum);
            frames.stream().map(Profile::name).filter(n -> n.startsWith("dev.latchkey.internal"))
                    .distinct().forEach(n -> latchkeyFrames.merge(n, 1, Integer::sum));
        }
        out.printf(Locale.ROOT, "profile of the latchkey request: %,d samples (%s)%n", total,
                Files.exists(recording) ? recording : "no recording");
        int all = Math.max(1, total);
        byKind.entrySet().stream().sorted(Map.Entry.comparingByValue((a, b) -> b - a))
                .forEach(k -> out.printf(Locale.ROOT, "  %5.1f%%  %s%n", 100.0 * k.getValue() / all,
                        k.getKey()));
        out.println("  by the innermost Latchkey method on the stack, and the work under it:");
        byPlace.entrySet().stream().sorted(Map.Entry.comparingByValue((a, b) -> b - a))
                .limit(15).forEach(k -> out.printf(Locale.ROOT, "  %5.1f%%  %s%n",
                        100.0 * k.getValue() / all, k.getKey()));
        out.println("  Latchkey methods on the stack (inclusive):");
        latchkeyFrames.entrySet().stream().filter(k -> !k.getKey().contains("$$Lambda")
                        && !k.getKey().contains(".lambda$"))
                .sorted(Map.Entry.comparingByValue((a, b) -> b - a))
                .limit(10).forEach(k -> out.printf(Locale.ROOT, "  %5.1f%%  %s%n",
                        100.0 * k.getValue() / all, k.getKey()));
    }

    private static String name(RecordedFrame f) {
        return f.getMethod().getType().getName() + "." + f.getMethod().getName();
    }
}
