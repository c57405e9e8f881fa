/**
 * A drop-in {@link jakarta.servlet.http.HttpSession} for Jakarta Servlet 6 containers, backed by a
 * Latchkey session directory: declare {@link dev.latchkey.servlet.LatchkeyFilter} first in the
 * filter chain and {@code request.getSession()} returns sessions that every process sharing the
 * directory sees.
 *
 * <p>The public API is this package; {@code dev.latchkey.servlet.internal} is an implementation
 * detail that may change in any release.
 */
package dev.latchkey.servlet;
