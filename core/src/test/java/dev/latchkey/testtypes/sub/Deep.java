package dev.latchkey.testtypes.sub;

/**
 * A record in a subpackage: allowPackages of the parent does not cover it.
 *
 * @param text anything
 */
public record Deep(String text) {
}
