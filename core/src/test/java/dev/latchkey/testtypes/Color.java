package dev.latchkey.testtypes;

/** An enum for the value tests; one constant has a body (its class is an anonymous subclass). */
public enum Color {
    RED,
    GREEN,
    SPECIAL {
        @Override
        public String toString() {
            return "special";
        }
    }
}
