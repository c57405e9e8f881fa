package dev.latchkey;

/**
 * What one {@link SessionStore#sweep(int)} did.
 *
 * <p>Thread-safety: immutable.
 *
 * @param examined index entries the sweep looked at, including skipped ones
 * @param removed expired sessions whose files it removed
 * @param skipped entries it left in place: the session's lock was held at that instant (it is
 *     in use), its file is refused and left for a store that can read it (a MAC key this store
 *     lacks, a newer format), or its file could not be read (logged at WARN)
 * @param more true if it stopped at its limit with another due entry after the last one it
 *     visited: call it again to go on with the same pass (the next call resumes after that
 *     entry, by name, so entries left in place are not visited again). False if it reached the
 *     end of the due entries: the pass is complete (see {@link SessionStore#sweep(int)}), and the
 *     next call begins a new one
 */
public record SweepResult(int examined, int removed, int skipped, boolean more) {

    /**
     * Checks the counts.
     *
     * @throws IllegalArgumentException if a count is negative, or removed and skipped together
     *     exceed examined
     */
    public SweepResult {
        if (examined < 0 || removed < 0 || skipped < 0 || removed + (long) skipped > examined) {
            throw new IllegalArgumentException("inconsistent sweep counts: examined " + examined
                    + ", removed " + removed + ", skipped " + skipped);
        }
    }
}
