package dev.latchkey;

/**
 * A snapshot of one store's counters, from {@link SessionStore#stats()}. Each counter counts what
 * this store (this {@link SessionStore} instance, not the directory or the JVM) did since it was
 * opened; they only grow. Other processes on the same directory keep their own counters: sum them
 * for the whole picture.
 *
 * <p>The counters are read one after another without a lock, so a snapshot taken while
 * operations run may be a few events apart between counters; each value is exact by itself.
 *
 * <p>Thread-safety: immutable.
 */
public final class StoreStats {
    private final long commits;
    private final long concurrentMerges;
    private final long lockWaits;
    private final long lockTimeouts;
    private final long quarantined;
    private final long swept;
    private final long repairs;
    private final long recoveries;

    /**
     * Creates a snapshot; the store does this, callers read them.
     *
     * @param commits see {@link #commits()}
     * @param concurrentMerges see {@link #concurrentMerges()}
     * @param lockWaits see {@link #lockWaits()}
     * @param lockTimeouts see {@link #lockTimeouts()}
     * @param quarantined see {@link #quarantined()}
     * @param swept see {@link #swept()}
     * @param repairs see {@link #repairs()}
     * @param recoveries see {@link #recoveries()}
     */
    public StoreStats(long commits, long concurrentMerges, long lockWaits, long lockTimeouts,
            long quarantined, long swept, long repairs, long recoveries) {
        this.commits = commits;
        this.concurrentMerges = concurrentMerges;
        this.lockWaits = lockWaits;
        this.lockTimeouts = lockTimeouts;
        this.quarantined = quarantined;
        this.swept = swept;
        this.repairs = repairs;
        this.recoveries = recoveries;
    }

    /**
     * Returns how many changes were published to existing sessions: commits and updates, through
     * the store or a {@link SessionLock}. Not counted: {@code create}, empty changes and changes
     * of missing or expired sessions (which write nothing).
     *
     * @return the number of published changes
     */
    public long commits() {
        return commits;
    }

    /**
     * Returns how many of the {@link #commits()} met a concurrent change: the change was built
     * {@linkplain SessionChange.Builder#basedOn based on} a state whose revision is older than the
     * one the commit re-read under the lock, so another request or process committed in between
     * and the delta was merged into its result. Changes built without {@code basedOn} are never
     * counted. A high share means many requests of one session run in parallel; it is not an
     * error (that is what delta commits are for).
     *
     * @return the number of merges with a concurrent change
     */
    public long concurrentMerges() {
        return concurrentMerges;
    }

    /**
     * Returns how many lock acquisitions had to wait: the session's lock (or a lock that shares
     * its stripe) was held by another thread or process at the first attempt. Timed-out
     * acquisitions are counted here too.
     *
     * @return the number of acquisitions that waited
     */
    public long lockWaits() {
        return lockWaits;
    }

    /**
     * Returns how many lock acquisitions gave up after the lock timeout (each one threw
     * {@link LockTimeoutException}, or was reported in a {@link RecoveryReport}).
     *
     * @return the number of lock timeouts
     */
    public long lockTimeouts() {
        return lockTimeouts;
    }

    /**
     * Returns how many damaged session files this store moved to {@code quarantine/} (or deleted,
     * when moving failed). Each one is logged at WARN with the file and the reason.
     *
     * @return the number of quarantined files
     */
    public long quarantined() {
        return quarantined;
    }

    /**
     * Returns how many expired sessions this store's expiry sweeps removed.
     *
     * @return the number of swept sessions
     */
    public long swept() {
        return swept;
    }

    /**
     * Returns how many leftovers of crashed publishes this store cleared, by the next lock holder
     * or by {@link SessionStore#recover()}: a publish completed from {@code ID.old}, a stale
     * {@code ID.old} or {@code ID.tmp} removed, a publish sequence left odd by a dead process made
     * even. Each is the trace of a process that died in the middle of a commit.
     *
     * @return the number of repairs
     */
    public long repairs() {
        return repairs;
    }

    /**
     * Returns how many {@link SessionStore#recover()} scans this store completed.
     *
     * @return the number of recoveries
     */
    public long recoveries() {
        return recoveries;
    }

    @Override
    public String toString() {
        return "StoreStats[commits=" + commits + ", concurrentMerges=" + concurrentMerges
                + ", lockWaits=" + lockWaits + ", lockTimeouts=" + lockTimeouts
                + ", quarantined=" + quarantined + ", swept=" + swept + ", repairs=" + repairs
                + ", recoveries=" + recoveries + "]";
    }
}
