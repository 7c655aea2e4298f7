package dev.switchboard.agent;

import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Tells a running turn to stop (user abort, interrupt, deadline). Listeners run once, on the thread
 * that aborts; turns run on one event-loop context, so no locking is needed beyond that. A turn makes
 * many model calls, delays and tool calls, each listening for the abort while it runs: each removes
 * its listener when it finishes ({@link Registration#remove()}), so a long turn does not pile them up.
 */
public final class AbortSignal {
  private static final Logger LOG = LoggerFactory.getLogger(AbortSignal.class);
  private String reason;
  private final List<Runnable> listeners = new ArrayList<>();

  /** A listener added with {@link #onAbort}; removing it is harmless when it ran or was removed already. */
  @FunctionalInterface
  public interface Registration {
    void remove();
  }

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

  /** Runs {@code r} on abort (at once if already aborted); the handle removes it when no longer needed. */
  public Registration onAbort(Runnable r) {
    if (reason != null) {
      r.run();
      return () -> { };
    }
    // the same Runnable registered twice is two entries; each handle removes one of them
    listeners.add(r);
    return () -> listeners.remove(r);
  }

  /** Listeners waiting for an abort now. */
  int listenerCount() {
    return listeners.size();
  }

  /** The failure a provider completes with when it stops because of this signal. */
  public static final class Aborted extends RuntimeException {
    private final String why;
    private final Usage usage;

    public Aborted(String reason) {
      this(reason, Usage.NONE);
    }

    private Aborted(String reason, Usage usage) {
      super("aborted: " + reason, null, false, false);
      this.why = reason;
      this.usage = usage;
    }

    /** Tokens the stopped call had used (a stream cut off mid-answer was paid for). */
    public Usage usage() {
      return usage;
    }

    public Aborted withUsage(Usage spent) {
      return new Aborted(why, spent);
    }
  }
}
