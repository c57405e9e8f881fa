package dev.latchkey;

/**
 * What a commit has made sure of by the time it returns. Every mode publishes atomically, so a
 * process that crashes (even by {@code kill -9}) at any instant leaves the previous or the new
 * state, never a torn one; the modes differ in what survives a power loss or a kernel crash.
 */
public enum Durability {
    /**
     * The default. A commit hands its file to the operating system and returns: no {@code fsync}.
     * Survives any crash of any process. After a power loss or a kernel crash, the commits of the
     * last seconds may be lost, and a session file may be left empty or torn; the checksum tells,
     * the file is moved aside, and that session is gone (its user logs in again).
     */
    BUFFERED,

    /**
     * A commit forces the new file to disk before publishing it, and the directory after, before
     * it returns ({@code fsync} twice, about a millisecond on our ext4 machines). A commit that has
     * returned survives a power loss, on storage that honours flushes.
     */
    SYNCED
}
