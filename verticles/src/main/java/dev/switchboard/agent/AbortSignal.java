package dev.switchboard.agent;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a running turn to stop (user abort, interrupt, deadline). Listeners run once, on the thread
 * that aborts; turns run on one event-loop context, so no locking is needed beyond that.
 */
public final class AbortSignal {
  private static final Logger LOG = LoggerFactory.getLogger(AbortSignal.class);
  private String reason;
  private final List<Runnable> listeners = new ArrayList<>();

  public boolean aborted() {
    return reason != null;
  }

  /** {@code user}, {@code interrupt}, {@code timeout} or {@code shutdown}; null while not aborted. */
  public String reason() {
    return reason;
  }

  public void abort(String why) {
    if (reason != null) {
      return;
    }
    reason = why;
    List<Runnable> copy = new ArrayList<>(listeners);
    listeners.clear();
    for (Runnable r : copy) {
      try {
        r.run();
      } catch (RuntimeException e) {
        // one listener's failure must not keep the others (or the caller's reply) from running
        LOG.error("abort listener failed", e);
      }
    }
  }

  /** Runs {@code r} on abort (at once if already aborted). */
  public void onAbort(Runnable r) {
    if (reason != null) {
      r.run();
    } else {
      listeners.add(r);
    }
  }

  /** The failure a provider completes with when it stops because of this signal. */
  public static final class Aborted extends RuntimeException {
    public Aborted(String reason) {
      super("aborted: " + reason, null, false, false);
    }
  }
}
