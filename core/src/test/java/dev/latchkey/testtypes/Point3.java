package dev.latchkey.testtypes;

/** A subclass of an allowed class, in the same package. */
public class Point3 extends Point {
    /** Depth. */
    public int z;
}
