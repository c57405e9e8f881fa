package dev.latchkey.benchmarks;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.springframework.data.redis.connection.RedisConnection;
import org.springframework.data.redis.connection.RedisStandaloneConfiguration;
import org.springframework.data.redis.connection.lettuce.LettuceConnectionFactory;
import org.springframework.data.redis.core.Cursor;
import org.springframework.data.redis.core.ScanOptions;
import org.springframework.data.redis.core.RedisTemplate;
import org.springframework.data.redis.serializer.RedisSerializer;
import org.springframework.session.Session;
import org.springframework.session.SessionRepository;
import org.springframework.session.data.redis.RedisSessionRepository;

/**
 * Spring Session Data Redis: {@code RedisSessionRepository} over Lettuce, set up without a Spring
 * application context, the way its auto-configuration sets it up (string keys, JDK-serialized
 * attribute values in one hash per session, the default save mode {@code ON_SET_ATTRIBUTE}: a save
 * writes only the attributes the request set, plus the access time). A request is
 * {@code findById} (one HGETALL), change, {@code save} (HMSET of the delta, then EXPIRE).
 */
final class RedisContender implements Contender {
    private final LettuceConnectionFactory connections;
    private final RedisSessionRepository repository;
    private final String namespace;

    RedisContender(String host, int port, String namespace) {
        this.namespace = namespace;
        connections = new LettuceConnectionFactory(new RedisStandaloneConfiguration(host, port));
        connections.afterPropertiesSet();
        connections.start();
        RedisTemplate<String, Object> template = new RedisTemplate<>();
        template.setConnectionFactory(connections);
        template.setKeySerializer(RedisSerializer.string());
        template.setHashKeySerializer(RedisSerializer.string());
        template.afterPropertiesSet();
        repository = new RedisSessionRepository(template);
        repository.setRedisKeyNamespace(namespace);
        repository.setDefaultMaxInactiveInterval(Duration.ofMinutes(30));
    }

    @Override
    public String create(Map<String, Object> attributes) {
        return create(repository, attributes);
    }

    @Override
    public Map<String, Object> read(String id) {
        return read(repository, id);
    }

    @Override
    public Object request(String id, String name, Object value) {
        return request(repository, id, name, value);
    }

    @Override
    public boolean increment(String id, String name) {
        return increment(repository, id, name);
    }

    // RedisSessionRepository's session class is not public: these go through Session

    private static <S extends Session> String create(SessionRepository<S> repository,
            Map<String, Object> attributes) {
        S session = repository.createSession();
        attributes.forEach(session::setAttribute);
        repository.save(session);
        return session.getId();
    }

    private static <S extends Session> Map<String, Object> read(SessionRepository<S> repository,
            String id) {
        S session = repository.findById(id);
        if (session == null) {
            return null;
        }
        Map<String, Object> attributes = new LinkedHashMap<>();
        for (String name : session.getAttributeNames()) {
            attributes.put(name, session.getAttribute(name));
        }
        return attributes;
    }

    private static <S extends Session> Object request(SessionRepository<S> repository, String id,
            String name, Object value) {
        S session = repository.findById(id);
        if (session == null) {
            throw new IllegalStateException("no session " + id);
        }
        Object read = session.getAttribute(SampleSession.READ_ATTRIBUTE);
        session.setLastAccessedTime(Instant.now());
        session.setAttribute(name, value);
        repository.save(session);
        return read;
    }

    private static <S extends Session> boolean increment(SessionRepository<S> repository,
            String id, String name) {
        S session = repository.findById(id);
        if (session == null) {
            return false;
        }
        Object current = session.getAttribute(name);
        session.setAttribute(name, Contender.count(current) + 1);
        repository.save(session);
        return true;
    }

    /**
     * Removes this run's keys, those under its namespace (SCAN MATCH namespace:*, then DEL), and
     * nothing else: the server may hold other data.
     */
    void flush() {
        ScanOptions options = ScanOptions.scanOptions().match(glob(namespace) + ":*").count(1000)
                .build();
        try (RedisConnection connection = connections.getConnection()) {
            List<byte[]> batch = new ArrayList<>();
            try (Cursor<byte[]> keys = connection.keyCommands().scan(options)) {
                while (keys.hasNext()) {
                    batch.add(keys.next());
                    if (batch.size() == 1000) {
                        connection.keyCommands().del(batch.toArray(new byte[0][]));
                        batch.clear();
                    }
                }
            }
            if (!batch.isEmpty()) {
                connection.keyCommands().del(batch.toArray(new byte[0][]));
            }
        }
    }

    /** The namespace as a literal glob pattern (Redis MATCH syntax). */
    private static String glob(String literal) {
        StringBuilder b = new StringBuilder();
        for (char c : literal.toCharArray()) {
            if (c == '*' || c == '?' || c == '[' || c == ']' || c == '\\') {
                b.append('\\');
            }
            b.append(c);
        }
        return b.toString();
    }

    /** A server configuration value as {@code CONFIG GET} reports it, or null. */
    String config(String parameter) {
        try (RedisConnection connection = connections.getConnection()) {
            Properties p = connection.serverCommands().getConfig(parameter);
            return p == null ? null : p.getProperty(parameter);
        }
    }

    /** Sets a server configuration value ({@code CONFIG SET}). */
    void configure(String parameter, String value) {
        try (RedisConnection connection = connections.getConnection()) {
            connection.serverCommands().setConfig(parameter, value);
        }
    }

    /** Reads the server's {@code INFO} field of the given section, or null. */
    String info(String section, String field) {
        try (RedisConnection connection = connections.getConnection()) {
            var properties = connection.serverCommands().info(section);
            return properties == null ? null : properties.getProperty(field);
        }
    }

    @Override
    public void close() {
        connections.destroy();
    }
}
