/**
 * Latchkey: HTTP sessions kept in one directory, safe when many threads and many worker
 * processes use that directory at once.
 *
 * <p>Open a store with {@link dev.latchkey.SessionStore#open(StoreConfig)}. Every type in this
 * package is the public API; everything under {@code dev.latchkey.internal} is an implementation
 * detail that may change in any release.
 */
package dev.latchkey;
