package dev.switchboard.lanes;

import static org.assertj.core.api.Assertions.assertThat;

import dev.switchboard.delivery.ReplyTarget;
import io.vertx.core.json.JsonObject;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The run registry's retention, on a clock the test moves. */
@Timeout(30)
class RunRegistryTest {
  final AtomicLong now = new AtomicLong(1_000_000);
  final RunRegistry runs = new RunRegistry(now::get);

  static TurnRequest turn(String runId) {
    return new TurnRequest(runId, null, "agent:main:main", "s1", "main", "hi", "hi", new JsonObject(),
        new ReplyTarget("webchat", "default", "direct", "u", null, null), "followup", true, false, null, 0, null, null,
        false, false);
  }

  RunRegistry.Run finished(String runId) {
    RunRegistry.Run r = runs.register(turn(runId));
    runs.finish(r, "ok", null, "stop");
    return r;
  }

  @Test
  @DisplayName("a finished run is kept 30 minutes, then dropped; a run in flight is never dropped")
  void keepsThirtyMinutes() {
    finished("old");
    RunRegistry.Run inFlight = runs.register(turn("in-flight"));
    now.addAndGet(RunRegistry.KEEP_FINISHED_MS);
    runs.register(turn("probe-1"));
    assertThat(runs.get("old")).as("exactly 30 minutes after it ended").isNotNull();
    now.addAndGet(1);
    runs.register(turn("probe-2"));
    assertThat(runs.get("old")).isNull();
    assertThat(runs.get("in-flight")).isSameAs(inFlight);
    assertThat(runs.get("probe-1")).isNotNull();
    // once it ends, its 30 minutes start
    runs.finish(inFlight, "ok", null, "stop");
    now.addAndGet(RunRegistry.KEEP_FINISHED_MS + 1);
    runs.register(turn("probe-3"));
    assertThat(runs.get("in-flight")).isNull();
    assertThat(runs.get("probe-3")).isNotNull();
  }

  @Test
  @DisplayName("at most 10,000 finished runs are kept: the oldest go first, however recent")
  void boundedCount() {
    int extra = 500;
    for (int i = 0; i < RunRegistry.MAX_FINISHED + extra; i++) {
      finished("r" + i);
    }
    assertThat(runs.size()).isEqualTo(RunRegistry.MAX_FINISHED);
    assertThat(runs.get("r0")).isNull();
    assertThat(runs.get("r" + (extra - 1))).isNull();
    assertThat(runs.get("r" + extra)).isNotNull();
    assertThat(runs.get("r" + (RunRegistry.MAX_FINISHED + extra - 1))).isNotNull();
  }

  @Test
  @DisplayName("a waiter hears the run's outcome when it ends")
  void waiters() {
    RunRegistry.Run r = runs.register(turn("w"));
    var outcome = io.vertx.core.Promise.<JsonObject>promise();
    r.waiters.add(outcome);
    now.addAndGet(42);
    runs.finish(r, "error", "boom", null);
    assertThat(outcome.future().result().getString("status")).isEqualTo("error");
    assertThat(outcome.future().result().getLong("endedAt")).isEqualTo(now.get());
    assertThat(r.finished()).isTrue();
  }
}
