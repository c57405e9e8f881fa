package dev.latchkey.testtypes;

import java.math.BigDecimal;

/**
 * An allowed test type with a decimal field, whose digits must survive a round trip.
 *
 * @param amount the amount
 * @param rate a double field beside it
 */
public record Price(BigDecimal amount, double rate) {
}
