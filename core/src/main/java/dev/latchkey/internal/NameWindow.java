package dev.latchkey.internal;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.PriorityQueue;

/**
 * The smallest names after a cursor among the entries of one directory listing, returned in
 * name order. A directory lists its entries in an order of its own (hash order on ext4), which
 * moves as entries come and go, so a sweep that resumes a bucket cannot count positions; names
 * stay put. Only the {@code capacity} smallest names are kept (a heap that drops its largest),
 * so memory follows what the caller can visit, not the size of the directory.
 *
 * <p>Names are compared as {@link Path}s, which on Unix compares their bytes: a total order that
 * tells apart any two names the directory can hold.
 *
 * <p>Not thread-safe: one per listing.
 */
final class NameWindow {
    private static final Comparator<Path> BY_NAME = Comparator.comparing(Path::getFileName);

    private final Path after;
    private final int capacity;
    private final PriorityQueue<Path> largestFirst;
    private int before;

    /**
     * @param after the cursor: names up to it are only counted; null takes every name
     * @param capacity how many of the smallest names after it to keep, at least 1
     */
    NameWindow(Path after, int capacity) {
        if (capacity < 1) {
            throw new IllegalArgumentException("capacity must be at least 1, was " + capacity);
        }
        this.after = after;
        this.capacity = capacity;
        this.largestFirst = new PriorityQueue<>(Math.min(capacity, 64), BY_NAME.reversed());
    }

    /** Takes one entry of the listing (its file name is compared). */
    void offer(Path entry) {
        if (after != null && entry.getFileName().compareTo(after) <= 0) {
            before++;
        } else if (largestFirst.size() < capacity) {
            largestFirst.add(entry);
        } else if (BY_NAME.compare(entry, largestFirst.peek()) < 0) {
            largestFirst.poll();
            largestFirst.add(entry);
        }
    }

    /** Entries offered whose names are up to the cursor. */
    int before() {
        return before;
    }

    /** Names kept: at most the capacity. */
    int size() {
        return largestFirst.size();
    }

    /** The kept entries, smallest name first. */
    List<Path> sorted() {
        List<Path> sorted = new ArrayList<>(largestFirst);
        sorted.sort(BY_NAME);
        return sorted;
    }
}
