package dev.latchkey.testtypes;

/** A mutable bean for the value tests, with a subclass that is not allowed by its allowance. */
public class Point {
    /** Horizontal. */
    public int x;
    /** Vertical. */
    public int y;

    /** For Jackson. */
    public Point() {
    }

    /**
     * Creates a point.
     *
     * @param x horizontal
     * @param y vertical
     */
    public Point(int x, int y) {
        this.x = x;
        this.y = y;
    }

    @Override
    public boolean equals(Object o) {
        return o != null && o.getClass() == getClass() && ((Point) o).x == x && ((Point) o).y == y;
    }

    @Override
    public int hashCode() {
        return 31 * x + y;
    }
}
