package dev.latchkey.testtypes;

/** An allowed test type that Jackson can write but not read back: no usable constructor. */
public final class NoCreator {
    private final String name;

    /**
     * Creates one.
     *
     * @param name a name
     */
    public NoCreator(String name) {
        this.name = name;
    }

    /**
     * Returns the name.
     *
     * @return the name
     */
    public String getName() {
        return name;
    }
}
