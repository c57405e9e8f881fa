package dev.latchkey.examples;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What the common file session stores do, kept here only to show what goes wrong: read the whole
 * session file, change it in memory, write the whole file back in place. No lock, no atomic
 * publish. Two requests of one session that overlap lose one's changes, and a reader can see a
 * half-written file. Never use this. Public only so that the benchmarks ({@code examples/benchmarks})
 * measure this very store.
 */
public final class NaiveFileStore {
    private static final TypeReference<LinkedHashMap<String, Object>> MAP = new TypeReference<>() {
    };
    private final Path directory;
    private final ObjectMapper mapper = new ObjectMapper();

    public NaiveFileStore(Path directory) {
        this.directory = directory;
    }

    /** Reads a whole session; throws if the file is missing or half-written. */
    public Map<String, Object> load(String id) throws IOException {
        return mapper.readValue(file(id).toFile(), MAP);
    }

    /** Writes a whole session in place (truncate, then write). */
    public void save(String id, Map<String, Object> session) throws IOException {
        Files.write(file(id), mapper.writeValueAsBytes(session));
    }

    /** Deletes a session's file, if any. */
    public void delete(String id) throws IOException {
        Files.deleteIfExists(file(id));
    }

    private Path file(String id) {
        return directory.resolve(id + ".json");
    }
}
