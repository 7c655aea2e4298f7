package dev.switchboard.lanes;

import io.vertx.core.Future;
import io.vertx.core.Promise;
import io.vertx.core.Vertx;
import io.vertx.core.json.JsonObject;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

/**
 * Runs in flight and recently finished ones (30 minutes, at most {@value #MAX_FINISHED}), for
 * idempotency, {@code agent.wait} and status views. Used from the lane verticle's context only.
 */
public final class RunRegistry {
  static final long KEEP_FINISHED_MS = 30 * 60_000L;
  static final int MAX_FINISHED = 10_000;

  /** One run's state. Status: {@code queued | running | ok | error | aborted | timeout}. */
  public static final class Run {
    final String runId;
    final String sessionKey;
    String sessionId;
    final String agentId;
    final long queuedAt;
    String status = "queued";
    long startedAt;
    long endedAt;
    String text = "";
    String error;
    String stopReason;
    final List<Promise<JsonObject>> waiters = new ArrayList<>();

    Run(String runId, String sessionKey, String sessionId, String agentId, long queuedAt) {
      this.runId = runId;
      this.sessionKey = sessionKey;
      this.sessionId = sessionId;
      this.agentId = agentId;
      this.queuedAt = queuedAt;
    }

    public boolean finished() {
      return !status.equals("queued") && !status.equals("running");
    }

    public JsonObject toJson() {
      JsonObject j = new JsonObject().put("runId", runId).put("sessionKey", sessionKey).put("sessionId", sessionId)
          .put("agentId", agentId).put("status", status).put("queuedAt", queuedAt);
      if (startedAt > 0) {
        j.put("startedAt", startedAt);
      }
      if (endedAt > 0) {
        j.put("endedAt", endedAt);
      }
      if (error != null) {
        j.put("error", error);
      }
      if (stopReason != null) {
        j.put("stopReason", stopReason);
      }
      j.put("text", text);
      return j;
    }
  }

  private final Map<String, Run> runs = new LinkedHashMap<>();
  private final LongSupplier clock;

  public RunRegistry() {
    this(System::currentTimeMillis);
  }

  /** With the clock that times the runs (milliseconds), so retention can be tested without waiting. */
  RunRegistry(LongSupplier clock) {
    this.clock = clock;
  }

  public Run get(String runId) {
    return runs.get(runId);
  }

  Run register(TurnRequest t) {
    prune();
    Run r = new Run(t.runId(), t.sessionKey(), t.sessionId(), t.agentId(), clock.getAsLong());
    runs.put(t.runId(), r);
    return r;
  }

  /** Forgets a run (its id is about to be registered again for a different turn). */
  void forget(String runId) {
    runs.remove(runId);
  }

  void finish(Run r, String status, String error, String stopReason) {
    r.status = status;
    r.error = error;
    r.stopReason = stopReason;
    r.endedAt = clock.getAsLong();
    JsonObject outcome = r.toJson();
    r.waiters.forEach(p -> p.tryComplete(outcome));
    r.waiters.clear();
  }

  /** Completes with the run's outcome when it ends, or with {@code {status: timeout}} after {@code timeoutMs}. */
  Future<JsonObject> await(Vertx vertx, Run r, long timeoutMs) {
    if (r.finished()) {
      return Future.succeededFuture(r.toJson());
    }
    Promise<JsonObject> p = Promise.promise();
    r.waiters.add(p);
    long timer = vertx.setTimer(Math.max(1, timeoutMs), t -> {
      r.waiters.remove(p);
      JsonObject j = new JsonObject().put("runId", r.runId).put("status", "timeout");
      if (r.status.equals("queued")) {
        j.put("status", "pending").put("timeoutPhase", "queue").put("providerStarted", false);
      }
      p.tryComplete(j);
    });
    return p.future().onComplete(x -> vertx.cancelTimer(timer));
  }

  int size() {
    return runs.size();
  }

  /**
   * Drops finished runs that are too old, or the oldest finished ones when there are too many.
   * Runs are kept in arrival order, so the scan starts at the oldest and stops early: amortised
   * constant work per registration.
   */
  private void prune() {
    long cutoff = clock.getAsLong() - KEEP_FINISHED_MS;
    Iterator<Run> it = runs.values().iterator();
    int scanned = 0;
    while (it.hasNext() && scanned++ < 64) {
      Run r = it.next();
      if (!r.finished()) {
        continue;
      }
      if (r.endedAt < cutoff || runs.size() >= MAX_FINISHED) {
        it.remove();
      } else {
        return;
      }
    }
  }
}
