package dev.latchkey;

import java.util.List;

/**
 * What one {@link SessionStore#recover()} scan found and did. Counts are of this scan only.
 *
 * <p>Thread-safety: immutable.
 */
public final class RecoveryReport {
    private final long sessionsExamined;
    private final long republished;
    private final long leftoversRemoved;
    private final long quarantined;
    private final long sequencesRepaired;
    private final long markersAdded;
    private final List<LatchkeyException> errors;

    /**
     * Creates a report; the store does this, callers read them.
     *
     * @param sessionsExamined see {@link #sessionsExamined()}
     * @param republished see {@link #republished()}
     * @param leftoversRemoved see {@link #leftoversRemoved()}
     * @param quarantined see {@link #quarantined()}
     * @param sequencesRepaired see {@link #sequencesRepaired()}
     * @param markersAdded see {@link #markersAdded()}
     * @param errors see {@link #errors()}; copied
     * @throws NullPointerException if errors is or contains null
     */
    public RecoveryReport(long sessionsExamined, long republished, long leftoversRemoved,
            long quarantined, long sequencesRepaired, long markersAdded,
            List<? extends LatchkeyException> errors) {
        this.sessionsExamined = sessionsExamined;
        this.republished = republished;
        this.leftoversRemoved = leftoversRemoved;
        this.quarantined = quarantined;
        this.sequencesRepaired = sequencesRepaired;
        this.markersAdded = markersAdded;
        this.errors = List.copyOf(errors);
    }

    /**
     * Returns how many session ids had a leftover ({@code ID.old} or {@code ID.tmp}) when the scan
     * listed their directory, and were examined under their lock.
     *
     * @return the number of sessions examined
     */
    public long sessionsExamined() {
        return sessionsExamined;
    }

    /**
     * Returns how many sessions were found half-published (only {@code ID.old} left: a process died
     * between the two renames) and had that state published again as {@code ID}.
     *
     * @return the number of sessions republished
     */
    public long republished() {
        return republished;
    }

    /**
     * Returns how many stale {@code ID.old} files (beside an {@code ID}) and {@code ID.tmp} files
     * (unpublished states of commits that never returned) were removed.
     *
     * @return the number of files removed
     */
    public long leftoversRemoved() {
        return leftoversRemoved;
    }

    /**
     * Returns how many damaged files met on the way were moved to {@code quarantine/}.
     *
     * @return the number of files quarantined
     */
    public long quarantined() {
        return quarantined;
    }

    /**
     * Returns how many lock stripes had a publish sequence left odd by a process that died inside
     * a publish, and were made even (until then, lock-free reads of that stripe fall back to
     * waiting for the lock).
     *
     * @return the number of sequences repaired
     */
    public long sequencesRepaired() {
        return sequencesRepaired;
    }

    /**
     * Returns how many sessions that can expire had no entry in the expiry index (written by a
     * Latchkey from before the index, or their entry deleted by hand), so that no sweep would
     * ever have found them, and got the entry of their current expiry time. Sessions that
     * already had an entry are not read; an expired one that gets its entry here is removed by
     * the next sweep.
     *
     * @return the number of expiry index entries created
     */
    public long markersAdded() {
        return markersAdded;
    }

    /**
     * Returns the failures met during the scan, in the order they happened: a directory that could
     * not be listed, a file that could not be removed ({@link StoreException}, with the path and
     * the operating system's reason), a lock that stayed busy ({@link LockTimeoutException}). One
     * failure does not stop the scan: the rest of the directory is still examined.
     *
     * @return an immutable list, empty when the scan met no failure
     */
    public List<LatchkeyException> errors() {
        return errors;
    }

    /**
     * Tells whether the scan met no failure.
     *
     * @return true if {@link #errors()} is empty
     */
    public boolean isClean() {
        return errors.isEmpty();
    }

    @Override
    public String toString() {
        return "RecoveryReport[sessionsExamined=" + sessionsExamined + ", republished="
                + republished + ", leftoversRemoved=" + leftoversRemoved + ", quarantined="
                + quarantined + ", sequencesRepaired=" + sequencesRepaired + ", markersAdded="
                + markersAdded + ", errors="
                + errors.size() + "]";
    }
}
