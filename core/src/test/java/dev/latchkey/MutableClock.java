package dev.latchkey;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/**
 * A {@link Clock} for tests: it stands still until a test moves it. Thread-safe; clocks made by
 * {@link #withZone} share this one's time.
 *
 * <p>A shared test fixture: core's test-jar carries it to the other modules' tests (see the
 * {@code test-fixtures} execution in core's pom).
 */
public final class MutableClock extends Clock {
    private final AtomicReference<Instant> now;
    private final ZoneId zone;

    /**
     * Creates a clock standing at {@code start}, in UTC.
     *
     * @param start the initial time
     */
    public MutableClock(Instant start) {
        this(new AtomicReference<>(start), ZoneOffset.UTC);
    }

    private MutableClock(AtomicReference<Instant> now, ZoneId zone) {
        this.now = now;
        this.zone = zone;
    }

    /** A clock at a fixed, millisecond-aligned instant (2030-01-01T00:00:00Z). */
    public static MutableClock atFixedStart() {
        return new MutableClock(Instant.parse("2030-01-01T00:00:00Z"));
    }

    /**
     * Moves the clock; a negative amount moves it back.
     *
     * @param amount how far
     * @return the new time
     */
    public Instant advance(Duration amount) {
        return now.updateAndGet(t -> t.plus(amount));
    }

    /**
     * Sets the clock.
     *
     * @param instant the new time
     */
    public void set(Instant instant) {
        now.set(instant);
    }

    @Override
    public Instant instant() {
        return now.get();
    }

    @Override
    public ZoneId getZone() {
        return zone;
    }

    @Override
    public Clock withZone(ZoneId newZone) {
        return new MutableClock(now, newZone);
    }

    @Override
    public String toString() {
        return "MutableClock[" + now.get() + ", " + zone + "]";
    }
}
