package dev.latchkey.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.sqlite.SQLiteConfig;

/**
 * One SQLite database per user, {@code DIR/user_<id>.db}, as in the scenario: the app picks the
 * file from the user id it reads from the session, so a wrong id in a session writes into another
 * user's database. SQLite itself is safe for many processes; the danger is only the wrong file.
 *
 * <p>Each process keeps one open connection per user database (a tiny pool), used by one request at
 * a time; SQLite's file locks coordinate the processes. Thread-safe.
 */
final class UserDatabases implements AutoCloseable {
    /** A stored card. */
    record Card(long id, String deck, String front, String requestId) {
    }

    private final Path directory;
    private final Map<Integer, Connection> connections = new ConcurrentHashMap<>();

    UserDatabases(Path directory) {
        this.directory = directory;
    }

    Path file(int userId) {
        return directory.resolve("user_" + userId + ".db");
    }

    /** Creates the database of each user (sign-up), before any worker starts. */
    void create(int users) throws SQLException {
        try {
            Files.createDirectories(directory);
        } catch (java.io.IOException e) {
            throw new SQLException("cannot create " + directory, e);
        }
        for (int u = 1; u <= users; u++) {
            try (Connection c = connect(u); Statement s = c.createStatement()) {
                s.execute("PRAGMA journal_mode=WAL");
                s.execute("CREATE TABLE IF NOT EXISTS cards (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                        + " deck TEXT NOT NULL, front TEXT NOT NULL, request_id TEXT NOT NULL)");
            }
        }
    }

    /** Inserts a card into the database of {@code userId}; returns its id. */
    long add(int userId, String deck, String front, String requestId) throws SQLException {
        Connection c = open(userId);
        synchronized (c) {
            try (PreparedStatement s = c.prepareStatement(
                "INSERT INTO cards (deck, front, request_id) VALUES (?, ?, ?)",
                Statement.RETURN_GENERATED_KEYS)) {
                s.setString(1, deck);
                s.setString(2, front);
                s.setString(3, requestId);
                s.executeUpdate();
                try (ResultSet keys = s.getGeneratedKeys()) {
                    keys.next();
                    return keys.getLong(1);
                }
            }
        }
    }

    /** All cards in the database of {@code userId}, oldest first. */
    List<Card> list(int userId) throws SQLException {
        List<Card> cards = new ArrayList<>();
        Connection c = open(userId);
        synchronized (c) {
            try (Statement s = c.createStatement();
                    ResultSet r = s.executeQuery("SELECT id, deck, front, request_id FROM cards"
                            + " ORDER BY id")) {
                while (r.next()) {
                    cards.add(new Card(r.getLong(1), r.getString(2), r.getString(3),
                            r.getString(4)));
                }
            }
        }
        return cards;
    }

    /** Closes this process's connections. */
    @Override
    public void close() throws SQLException {
        SQLException failure = null;
        for (Connection c : connections.values()) {
            try {
                c.close();
            } catch (SQLException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        connections.clear();
        if (failure != null) {
            throw failure;
        }
    }

    private Connection open(int userId) throws SQLException {
        Connection c = connections.get(userId);
        if (c == null) {
            synchronized (connections) {
                c = connections.get(userId);
                if (c == null) {
                    c = connect(userId);
                    connections.put(userId, c);
                }
            }
        }
        return c;
    }

    private Connection connect(int userId) throws SQLException {
        SQLiteConfig config = new SQLiteConfig();
        config.setBusyTimeout(10_000);
        config.setSynchronous(SQLiteConfig.SynchronousMode.NORMAL);
        return config.createConnection("jdbc:sqlite:" + file(userId));
    }
}
