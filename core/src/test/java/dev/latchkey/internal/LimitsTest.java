package dev.latchkey.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.latchkey.MutableClock;
import dev.latchkey.Session;
import dev.latchkey.SessionStore;
import dev.latchkey.StoreConfig;
import dev.latchkey.testtypes.NoCreator;
import dev.latchkey.testtypes.Price;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The edges of what a session may hold: size, intervals, decimal digits of allowed types. */
final class LimitsTest {
    @TempDir
    Path temp;
    private MutableClock clock;
    private SessionStore store;

    @BeforeEach
    void open() {
        clock = MutableClock.atFixedStart();
        store = SessionStore.open(StoreConfig.builder(temp.resolve("store")).clock(clock)
                .allowTypes(Price.class, NoCreator.class).build());
    }

    @AfterEach
    void close() {
        store.close();
    }

    @Test
    void commit_sessionOverSizeLimit_isRefusedAndSessionKept() {
        Session session = store.create(store.change().set("keep", "me").build());
        String big = "x".repeat((int) SessionFiles.MAX_FILE_BYTES);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.commit(session.id(), store.change().set("big", big).build()));
        assertTrue(e.getMessage().contains("limit"), e.getMessage());
        Session after = store.find(session.id()).orElseThrow();
        assertEquals("me", after.attribute("keep"));
        assertFalse(after.attributeNames().contains("big"));
        assertEquals(session.revision(), after.revision());
    }

    @Test
    void create_sessionOverSizeLimit_isRefused() {
        String big = "x".repeat((int) SessionFiles.MAX_FILE_BYTES);
        assertThrows(IllegalArgumentException.class,
                () -> store.create(store.change().set("big", big).build()));
    }

    @Test
    void maxInactiveInterval_belowOneMillisecond_stillExpires() {
        Session session = store.create(store.change()
                .maxInactiveInterval(Duration.ofNanos(1)).build());
        assertEquals(Duration.ofMillis(1), session.maxInactiveInterval());
        clock.advance(Duration.ofMillis(1));
        assertTrue(store.find(session.id()).isEmpty(), "a positive interval must not mean never");
    }

    @Test
    void maxInactiveInterval_huge_isRefusedAndTheLimitExpiresWithoutOverflow() {
        for (Duration huge : new Duration[] {ChronoUnit.FOREVER.getDuration(),
                Duration.ofMillis(Long.MAX_VALUE), Duration.ofDays(365L * 20_000)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> store.change().maxInactiveInterval(huge));
            assertTrue(e.getMessage().contains("at most 315360000000 s"), e.getMessage());
        }
        Session session = store.create(store.change()
                .maxInactiveInterval(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT).build());
        Instant expiry = session.expiryTime().orElseThrow();
        assertEquals(clock.instant().plus(StoreConfig.MAX_INACTIVE_INTERVAL_LIMIT), expiry);
        clock.advance(Duration.ofDays(365L * 1000));
        assertTrue(store.find(session.id()).isPresent());
    }

    @Test
    void maxInactiveInterval_hugeNegative_neverExpires() {
        Session session = store.create(store.change()
                .maxInactiveInterval(ChronoUnit.FOREVER.getDuration().negated()).build());
        assertTrue(session.expiryTime().isEmpty());
        clock.advance(Duration.ofDays(365L * 100));
        assertTrue(store.find(session.id()).isPresent());
    }

    @Test
    void allowedType_bigDecimalField_keepsEveryDigit() {
        Price price = new Price(new BigDecimal("12345678901234567890.12345678901234567890"), 0.1);
        Session session = store.create(store.change().set("price", price).build());
        assertEquals(price, store.find(session.id()).orElseThrow().attribute("price"));
        assertEquals(price, session.attribute("price"));
    }

    @Test
    void set_allowedValueJacksonCannotReadBack_isRefusedAtOnce() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> store.change().set("user", new NoCreator("alice")));
        assertTrue(e.getMessage().contains("'user'") && e.getMessage().contains("read back"),
                e.getMessage());
    }

    @Test
    void lockTimeout_overADay_isRefused() {
        Session session = store.create();
        assertThrows(IllegalArgumentException.class,
                () -> store.lock(session.id(), Duration.ofDays(365_000)));
        assertThrows(IllegalArgumentException.class, () -> StoreConfig.builder(temp)
                .lockTimeout(Duration.ofMillis(Long.MAX_VALUE)));
        try (var lock = store.lock(session.id(), StoreConfig.MAX_LOCK_TIMEOUT)) {
            assertTrue(lock.session().isPresent());
        }
    }
}
