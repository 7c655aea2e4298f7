package dev.switchboard.lanes;

import dev.switchboard.agent.AbortSignal;
import dev.switchboard.agent.TurnListener;
import dev.switchboard.store.SessionEvent;
import io.vertx.core.Future;
import io.vertx.core.json.JsonObject;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * How a lane records what a running turn reports: each tool call, tool result and compaction becomes
 * a stored session event ({@code tool_call}, {@code tool_result}, {@code compaction}), published live
 * like every other event, before the loop goes on. Text goes to the lane's streaming. Once the lane
 * has given up on the turn (its guard fired), nothing more is stored and the loop is told to stop.
 */
final class AgentTurnEvents implements TurnListener {
  private final String runId;
  private final Consumer<String> text;
  private final Function<List<SessionEvent.New>, Future<Void>> store;
  private final BooleanSupplier givenUp;

  /**
   * @param store   appends events to the turn's session (keeping the history cache current) and publishes them
   * @param givenUp true once the lane no longer waits for the turn
   */
  AgentTurnEvents(String runId, Consumer<String> text, Function<List<SessionEvent.New>, Future<Void>> store,
      BooleanSupplier givenUp) {
    this.runId = runId;
    this.text = text;
    this.store = store;
    this.givenUp = givenUp;
  }

  @Override
  public void onText(String cumulative) {
    text.accept(cumulative);
  }

  @Override
  public Future<Void> onToolCall(ToolCallEvent call) {
    return record(new SessionEvent.New(SessionEvent.TOOL_CALL, runId, call.toJson()));
  }

  @Override
  public Future<Void> onToolResult(ToolResultEvent result) {
    return record(new SessionEvent.New(SessionEvent.TOOL_RESULT, runId, result.toJson()));
  }

  @Override
  public Future<Void> onCompacted(JsonObject compaction) {
    return record(new SessionEvent.New(SessionEvent.COMPACTION, runId, compaction));
  }

  private Future<Void> record(SessionEvent.New event) {
    if (givenUp.getAsBoolean()) {
      return Future.failedFuture(new AbortSignal.Aborted("timeout"));
    }
    return store.apply(List.of(event));
  }
}
