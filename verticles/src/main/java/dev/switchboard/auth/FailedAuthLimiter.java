package dev.switchboard.auth;

import io.vertx.core.Vertx;
import io.vertx.core.shareddata.LocalMap;
import io.vertx.core.shareddata.Shareable;
import java.util.ArrayDeque;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Limits failed authentication attempts per origin, loopback included: once {@code maxFailures}
 * failures happened within {@code windowMs}, the origin is refused for {@code lockMs}, even with the
 * right token. One limiter serves the whole process ({@link #shared}), because every workspace
 * accepts the same operator token: a guesser gets five tries in total, not five per workspace.
 * Thread-safe (each workspace's HTTP verticle runs on its own event loop); bounded in size.
 */
public final class FailedAuthLimiter implements Shareable {
  public static final int DEFAULT_MAX_FAILURES = 5;
  public static final long DEFAULT_WINDOW_MS = 60_000;
  public static final long DEFAULT_LOCK_MS = 60_000;
  private static final String MAP = "switchboard.auth";
  private static final int MAX_ORIGINS = 10_000;

  private final int maxFailures;
  private final long windowMs;
  private final long lockMs;
  private final Map<String, Entry> origins = new LinkedHashMap<>(16, 0.75f, true);

  private static final class Entry {
    final ArrayDeque<Long> failures = new ArrayDeque<>();
    long lockedUntil;
  }

  public FailedAuthLimiter(int maxFailures, long windowMs, long lockMs) {
    if (maxFailures < 1 || windowMs < 1 || lockMs < 1) {
      throw new IllegalArgumentException("limits must be positive");
    }
    this.maxFailures = maxFailures;
    this.windowMs = windowMs;
    this.lockMs = lockMs;
  }

  public static FailedAuthLimiter defaults() {
    return new FailedAuthLimiter(DEFAULT_MAX_FAILURES, DEFAULT_WINDOW_MS, DEFAULT_LOCK_MS);
  }

  /** The limiter every workspace of this Vert.x instance shares. */
  public static FailedAuthLimiter shared(Vertx vertx) {
    LocalMap<String, FailedAuthLimiter> map = vertx.sharedData().getLocalMap(MAP);
    FailedAuthLimiter fresh = defaults();
    FailedAuthLimiter existing = map.putIfAbsent("operator", fresh);
    return existing == null ? fresh : existing;
  }

  /** Milliseconds until {@code origin} may try again; 0 when it may try now. */
  public synchronized long retryAfterMs(String origin, long now) {
    Entry e = origins.get(origin);
    return e == null || e.lockedUntil <= now ? 0 : e.lockedUntil - now;
  }

  /**
   * Records a failure. Returns the lock now in force: 0 while the origin is under the limit, else
   * how long its next attempts will be refused.
   */
  public synchronized long fail(String origin, long now) {
    Entry e = origins.computeIfAbsent(origin, k -> new Entry());
    while (!e.failures.isEmpty() && e.failures.peekFirst() <= now - windowMs) {
      e.failures.pollFirst();
    }
    e.failures.addLast(now);
    if (e.failures.size() >= maxFailures) {
      e.lockedUntil = now + lockMs;
      e.failures.clear();
    }
    trim(now);
    return retryAfterMs(origin, now);
  }

  /** A success clears the origin's earlier failures (a lock, once in force, runs its course). */
  public synchronized void succeed(String origin, long now) {
    Entry e = origins.get(origin);
    if (e != null && e.lockedUntil <= now) {
      origins.remove(origin);
    }
  }

  private void trim(long now) {
    if (origins.size() <= MAX_ORIGINS) {
      return;
    }
    Iterator<Entry> it = origins.values().iterator();
    while (it.hasNext() && origins.size() > MAX_ORIGINS) {
      Entry e = it.next();
      if (e.lockedUntil <= now) {
        it.remove();
      }
    }
  }
}
