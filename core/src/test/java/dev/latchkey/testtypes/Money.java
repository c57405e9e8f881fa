package dev.latchkey.testtypes;

/**
 * A record for the value tests.
 *
 * @param currency ISO code
 * @param cents amount
 */
public record Money(String currency, long cents) {
}
